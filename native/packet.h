// AF_PACKET ports: recvmmsg receive (packet-mmsg.cc) or a TPACKET_V3 rx
// ring (walked block by block), the stripped 802.1Q tag re-inserted either
// way; transmit is in transmit.cc.
#pragma once

#include <cstdint>
#include <string>

#include "port.h"
#include "tap.h"

namespace tapbridge {

// How frames are received: recvmmsg into the slots (packet-mmsg.cc), a
// TPACKET_V2 ring (packet-v2.cc), or a TPACKET_V3 ring (below; woken per
// retired block). The default is chosen in packet-v2.cc's measurements.
enum class PacketRxMode { kMmsg, kV2, kV3 };

struct PacketOptions {
  std::string ifname;
  std::string netnsPath;
  bool promisc = true;
  bool txVnet = true;  // pass virtio-net headers on transmit (receive always gets the kernel's)
  uint32_t blockSize = 1u << 20;
  uint32_t blockCount = 8;
  uint32_t retireTimeoutMs = 1;
  PacketRxMode rxMode = PacketRxMode::kV2;
  int rcvbuf = 8 << 20;
  int sndbuf = 4 << 20;
};

bool PacketOpen(const PacketOptions& o, Port* port, OpenedInfo* info, SysError* e);
// "v2", "v3", "mmsg" → the mode; false for any other name.
bool ParsePacketRxMode(const std::string& name, PacketRxMode* mode);
// Unmaps the ring or frees the receive scratch (the caller closes the fd).
void PacketUnmap(Port* port);
// Adds the ring's drop counter (PACKET_STATISTICS tp_drops, reset on read) to rxDropped.
void PacketReadDrops(Port* port, double* stats);
uint32_t PacketReceive(Port* port, const RxBatch& b, bool* more);

}  // namespace tapbridge
