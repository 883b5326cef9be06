// AF_PACKET ports: a TPACKET_V3 rx ring (walked block by block, with the
// stripped 802.1Q tag re-inserted); transmit is in transmit.cc.
#pragma once

#include <cstdint>
#include <string>

#include "port.h"
#include "tap.h"

namespace tapbridge {

struct PacketOptions {
  std::string ifname;
  std::string netnsPath;
  bool promisc = true;
  bool txVnet = true;  // pass virtio-net headers on transmit (receive always gets the kernel's)
  uint32_t blockSize = 1u << 20;
  uint32_t blockCount = 8;
  uint32_t retireTimeoutMs = 1;
  int rcvbuf = 8 << 20;
  int sndbuf = 4 << 20;
};

bool PacketOpen(const PacketOptions& o, Port* port, OpenedInfo* info, SysError* e);
// Unmaps the ring (the caller closes the fd).
void PacketUnmap(Port* port);
// Adds the ring's drop counter (PACKET_STATISTICS tp_drops, reset on read) to rxDropped.
void PacketReadDrops(Port* port, double* stats);
uint32_t PacketReceive(Port* port, const RxBatch& b, bool* more);

}  // namespace tapbridge
