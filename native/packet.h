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
#include "vlan.h"

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

// iovecs per queued message: a virtio-net header and up to three frame
// pieces (a VLAN tag spliced in, vlan.h).
constexpr uint32_t kTxIovsPerMsg = 4;

// Preallocated sendmmsg batch, reused for every port.
struct TxQueue {
  struct mmsghdr* msgs = nullptr;
  struct iovec* iovs = nullptr;  // kTxIovsPerMsg per message
  uint32_t* lens = nullptr;      // Ethernet bytes per message
  VlanScratch* vlan = nullptr;   // per message: header and tag of a re-tagged frame
  uint32_t cap = 0;
  uint32_t count = 0;
};

// The iovecs and VLAN scratch of the next message; fill them, then TxQueueCommit.
inline struct iovec* TxQueueIov(TxQueue* q) { return q->iovs + kTxIovsPerMsg * q->count; }
inline VlanScratch* TxQueueVlan(TxQueue* q) { return q->vlan + q->count; }

inline void TxQueueCommit(TxQueue* q, int iovCount, uint32_t len) {
  struct msghdr* h = &q->msgs[q->count].msg_hdr;
  h->msg_iov = TxQueueIov(q);
  h->msg_iovlen = static_cast<size_t>(iovCount);
  q->lens[q->count] = len;
  q->count++;
}

inline void TxQueuePush(TxQueue* q, const uint8_t* vnet, const uint8_t* frame, uint32_t len) {
  struct iovec* iov = TxQueueIov(q);
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
