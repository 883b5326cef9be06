// AF_PACKET ports: a TPACKET_V3 rx ring (walked block by block, with the
// stripped 802.1Q tag re-inserted) and batched transmit with one sendmmsg
// per port per transmit() call.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>

#include "port.h"
#include "tap.h"

namespace tapbridge {

struct PacketOptions {
  std::string ifname;
  std::string netnsPath;
  bool promisc = true;
  bool vnet = true;
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

// Preallocated sendmmsg batch, reused for every port.
struct TxQueue {
  struct mmsghdr* msgs = nullptr;
  struct iovec* iovs = nullptr;  // 2 per message
  uint32_t* lens = nullptr;      // Ethernet bytes per message
  uint32_t cap = 0;
  uint32_t count = 0;
};

inline void TxQueuePush(TxQueue* q, const uint8_t* vnet, const uint8_t* frame, uint32_t len) {
  struct iovec* iov = q->iovs + 2 * q->count;
  struct msghdr* h = &q->msgs[q->count].msg_hdr;
  if (vnet) {
    iov[0] = {const_cast<uint8_t*>(vnet), kVnetHdrLen};
    iov[1] = {const_cast<uint8_t*>(frame), len};
    h->msg_iov = iov;
    h->msg_iovlen = 2;
  } else {
    iov[0] = {const_cast<uint8_t*>(frame), len};
    h->msg_iov = iov;
    h->msg_iovlen = 1;
  }
  q->lens[q->count] = len;
  q->count++;
}

// Sends everything queued with sendmmsg and empties the queue. A full queue
// (EAGAIN/ENOBUFS) drops the rest for this port; other errors skip one frame.
void PacketFlush(Port* port, TxQueue* q, double* stats);

}  // namespace tapbridge
