// AF_PACKET receive with recvmmsg (`rxMode: "mmsg"`), and the single-frame
// receive the V2 ring uses for frames larger than its slots.
//
// A socket without a ring is readable as soon as one frame is queued, and
// recvmmsg takes a whole batch in one system call when frames wait: the
// latency of a per-frame wake-up when idle, batches under load. The frame
// is copied once, by the kernel, into its slot, GSO frames of 64 KiB land
// whole, and the 802.1Q tag the kernel stripped comes back in
// PACKET_AUXDATA. It lost to the V2 ring on CPU per frame (the kernel's
// per-message work runs in our thread): the measurements are in
// packet-v2.cc.
//
// Layout in a slot. The MACs are received 4 bytes before the usual frame
// start and the rest 4 bytes after them, leaving a 4-byte hole where a
// stripped tag goes back. An untagged frame then moves only its 12 MAC bytes
// forward over the hole and starts at the usual offset; a tagged one starts
// 4 bytes earlier (in the headroom). No frame body is ever moved.
#include "packet-mmsg.h"

#include "packet-tag.h"

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace tapbridge {

namespace {
constexpr size_t kAuxSpace = CMSG_SPACE(sizeof(struct tpacket_auxdata));
}  // namespace

struct MmsgRx {
  explicit MmsgRx(uint32_t n)
      : count(n), msgs(new struct mmsghdr[n]()), iovs(new struct iovec[3 * n]()), control(new uint8_t[kAuxSpace * n]()) {}
  uint32_t count;
  // The slab and slot size the iovecs point into (set up once per batch geometry).
  const uint8_t* slab = nullptr;
  uint32_t slotSize = 0;
  std::unique_ptr<struct mmsghdr[]> msgs;
  std::unique_ptr<struct iovec[]> iovs;
  std::unique_ptr<uint8_t[]> control;
};

bool MmsgPrepare(int fd, int* err) {
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0) {
    *err = errno;
    return false;
  }
  return true;
}

void MmsgFree(Port* port) {
  delete port->mmsg;
  port->mmsg = nullptr;
}

namespace {

// Points an iovec triple at a slot: [vnet header] [MACs, 4 bytes before the
// usual frame start] [the rest, after a 4-byte hole for a stripped tag].
void AimOne(uint8_t* slot, uint32_t slotSize, struct iovec* iov) {
  const uint32_t cap = slotSize - kVnetArea - kHeadroom;
  uint8_t* start = slot + kVnetArea + kHeadroom - 4;
  iov[0] = {slot, kVnetHdrLen};
  iov[1] = {start, 12};
  iov[2] = {start + 16, cap - 12};
}

// Points message i at slot i.
void Aim(MmsgRx* m, const RxBatch& b) {
  for (uint32_t i = 0; i < m->count; i++) {
    struct iovec* iov = m->iovs.get() + 3 * i;
    AimOne(b.slab + static_cast<size_t>(i) * b.slotSize, b.slotSize, iov);
    struct msghdr* h = &m->msgs[i].msg_hdr;
    h->msg_iov = iov;
    h->msg_iovlen = 3;
    h->msg_control = m->control.get() + kAuxSpace * i;
  }
  m->slab = b.slab;
  m->slotSize = b.slotSize;
}

const struct tpacket_auxdata* Aux(struct msghdr* h) {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c))
    if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA && c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata)))
      return reinterpret_cast<const struct tpacket_auxdata*>(CMSG_DATA(c));
  return nullptr;
}

}  // namespace

bool MmsgFinish(uint8_t* slot, uint32_t slotSize, uint32_t got, bool truncated, const struct msghdr* h, uint32_t* offset,
                uint32_t* length, double* stats) {
  if (truncated || got < kVnetHdrLen + 14) {
    stats[kRxDropped] += 1;
    return false;
  }
  const uint32_t cap = slotSize - kVnetArea - kHeadroom;
  const uint32_t len = got - kVnetHdrLen;  // the frame as received, without the stripped tag
  const struct tpacket_auxdata* aux = Aux(const_cast<struct msghdr*>(h));
  uint8_t* start = slot + kVnetArea + kHeadroom - 4;
  if (aux && (aux->tp_status & TP_STATUS_VLAN_VALID)) {
    if (len + 4 > cap) {
      stats[kRxDropped] += 1;
      return false;
    }
    const uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : 0x8100;
    const uint16_t tci = aux->tp_vlan_tci;
    WriteVlanTag(start + 12, tpid, tci);
    ShiftVnetHdrForTag(slot);
    *length = len + 4;
    *offset = kVnetArea + kHeadroom - 4;
  } else {
    memmove(start + 4, start, 12);
    *length = len;
    *offset = kVnetArea + kHeadroom;
  }
  return true;
}

bool MmsgReceiveOne(int fd, uint8_t* slot, uint32_t slotSize, uint32_t* offset, uint32_t* length, double* stats) {
  struct iovec iov[3];
  AimOne(slot, slotSize, iov);
  alignas(struct cmsghdr) uint8_t control[kAuxSpace];
  struct msghdr h;
  memset(&h, 0, sizeof(h));
  h.msg_iov = iov;
  h.msg_iovlen = 3;
  h.msg_control = control;
  h.msg_controllen = sizeof(control);
  ssize_t r;
  do {
    r = recvmsg(fd, &h, MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  stats[kRxSyscalls] += 1;
  if (r < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) stats[kRxErrors] += 1;
    else stats[kRxDropped] += 1;  // announced by the ring, gone from the queue
    return false;
  }
  return MmsgFinish(slot, slotSize, static_cast<uint32_t>(r), (h.msg_flags & MSG_TRUNC) != 0, &h, offset, length, stats);
}

uint32_t MmsgReceive(Port* port, const RxBatch& b, bool* more) {
  *more = false;
  if (!port->mmsg || port->mmsg->count < b.max) {
    MmsgFree(port);
    port->mmsg = new MmsgRx(b.max);
  }
  MmsgRx* m = port->mmsg;
  if (m->slab != b.slab || m->slotSize != b.slotSize) Aim(m, b);
  for (uint32_t i = 0; i < b.max; i++) {
    m->msgs[i].msg_hdr.msg_controllen = kAuxSpace;
    m->msgs[i].msg_hdr.msg_flags = 0;
  }
  int r;
  do {
    r = recvmmsg(port->fd, m->msgs.get(), b.max, MSG_DONTWAIT, nullptr);
  } while (r < 0 && errno == EINTR);
  b.stats[kRxSyscalls] += 1;
  if (r < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) b.stats[kRxErrors] += 1;
    return 0;
  }
  uint32_t n = 0;
  for (uint32_t i = 0; i < static_cast<uint32_t>(r); i++) {
    struct msghdr* h = &m->msgs[i].msg_hdr;
    uint8_t* from = b.slab + static_cast<size_t>(i) * b.slotSize;
    uint32_t offset, len;
    if (!MmsgFinish(from, b.slotSize, m->msgs[i].msg_len, (h->msg_flags & MSG_TRUNC) != 0, h, &offset, &len, b.stats)) continue;
    // Frames are compacted: message i may fill slot n < i after a drop.
    uint8_t* slot = b.slab + static_cast<size_t>(n) * b.slotSize;
    if (slot != from) {
      memcpy(slot, from, kVnetHdrLen);
      memcpy(slot + offset, from + offset, len);
    }
    b.rxPort[n] = static_cast<uint16_t>(port->index);
    b.frameOffset[n] = n * b.slotSize + offset;
    b.frameLength[n] = len;
    b.stats[kRxPackets] += 1;
    b.stats[kRxBytes] += len;
    n++;
  }
  *more = static_cast<uint32_t>(r) == b.max;
  return n;
}

}  // namespace tapbridge
