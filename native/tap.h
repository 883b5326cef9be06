// TAP devices: open (create or attach) with IFF_VNET_HDR and TSO offloads so
// the kernel hands over 64 KiB GSO frames; batched readv receive into slab
// slots (transmit is in transmit.cc).
#pragma once

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

}  // namespace tapbridge
