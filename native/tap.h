// TAP devices: open (create or attach) with IFF_VNET_HDR and TSO offloads so
// the kernel hands over 64 KiB GSO frames, batched readv receive into slab
// slots, writev transmit of [virtio_net_hdr][frame].
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string>

#include "port.h"

namespace tapbridge {

struct TapOptions {
  std::string name;
  std::string netnsPath;
  bool persist = false;
  int mtu = 0;  // 0: leave
  bool hasMac = false;
  uint8_t mac[6] = {0};
  bool up = true;
};

struct OpenedInfo {
  std::string ifname;
  int ifindex = 0;
  int mtu = 0;
  uint8_t mac[6] = {0};
  bool vnet = true;
  bool created = false;
};

// Opens the TAP; on success port->fd etc. are set. On failure nothing stays open.
bool TapOpen(const TapOptions& o, Port* port, OpenedInfo* info, SysError* e);
// Clears TUNSETPERSIST (before close, to remove a persistent device).
void TapClearPersist(Port* port);
// Reads frames until EAGAIN or the batch is full; *more: the port may still have frames.
uint32_t TapReceive(Port* port, const RxBatch& b, bool* more);
// Sends one frame; updates the port's stats row.
void TapSend(Port* port, const uint8_t* vnet, const uint8_t* frame, uint32_t len, double* stats);
// Sends one frame given as iovecs (header first); `len` counts its Ethernet bytes.
void TapSendIov(Port* port, const struct iovec* iov, int iovCount, uint32_t len, double* stats);

}  // namespace tapbridge
