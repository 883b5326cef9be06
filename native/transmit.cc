// Transmit; see transmit.h. Nothing here allocates after construction.
#include "transmit.h"

#include <netinet/udp.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tap-uring.h"
#include "vxlan.h"

namespace tapbridge {

namespace {

constexpr uint8_t kNeedsCsum = 1;
// An all-zero virtio-net header: nothing to offload.
const uint8_t kZeroVnet[kVnetHdrLen] = {0};

// The device is down or gone: every further frame would fail the same way.
inline bool DeviceDown(int err) {
  return err == ENETDOWN || err == ENXIO || err == ENODEV || err == EIO || err == EBADFD;
}

inline bool QueueFull(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS; }

}  // namespace

Transmitter::Transmitter(uint32_t slotSize) {
  const uint32_t slotFrame = slotSize > kVnetArea + kHeadroom ? slotSize - kVnetArea - kHeadroom : 0;
  frameCap_ = slotFrame < kMaxFrame ? slotFrame : kMaxFrame;
  scratchCap_ = static_cast<size_t>(frameCap_) + static_cast<size_t>(kQueueCap - 1) * kMaxGsoHeaders;
  msgs_.reset(new struct mmsghdr[kQueueCap]());
  iovs_.reset(new struct iovec[kIovsPerMsg * kQueueCap]());
  lens_.reset(new uint32_t[kQueueCap]());
  vlan_.reset(new VlanScratch[kQueueCap]());
  retag_.reset(new uint8_t[frameCap_ + kVlanHlen]);
  scratch_.reset(new uint8_t[scratchCap_]);
  segs_.reset(new Segment[kQueueCap]);
  results_.reset(new int32_t[kQueueCap]);
  remoteOf_.reset(new int32_t[kQueueCap]());
  fdOf_.reset(new int[kQueueCap]());
  gsoIovs_.reset(new struct iovec[2 * kVxlanGsoMaxSegs]());
}

void Transmitter::Send(Port* port, const TxBatch& b, uint32_t count, double* stats) {
  const uint32_t word = port->index >> 5;
  const uint32_t bit = 1u << (port->index & 31);
  queued_ = 0;
  scratchUsed_ = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (!(b.egress[i * kEgressWords + word] & bit)) continue;
    const size_t slotStart = static_cast<size_t>(i) * b.slotSize;
    const size_t off = b.frameOffset[i];
    const uint32_t len = b.frameLength[i];
    if (len < 14 || off < slotStart + kVnetArea || off + len > slotStart + b.slotSize) {
      stats[kTxErrors] += 1;  // the descriptor does not fit its slot
      continue;
    }
    const uint32_t tag = b.frameTag ? b.frameTag[i] : 0;
    if (port->kind == PortKind::kVxlan) {
      // The header for the frame's VNI, and its destination remote from the slot's headroom (vxlan.h).
      const VxlanState& vx = *port->vxlan;
      vxHeader_ = VxlanHeaderFor(vx, tag);
      const uint8_t* meta = b.slab + off - kVxlanMetaRemote;
      vxRemote_ = static_cast<int32_t>(meta[0] | meta[1] << 8 | meta[2] << 16 | static_cast<uint32_t>(meta[3]) << 24);
      if (vxRemote_ >= static_cast<int32_t>(vx.remoteCount)) vxRemote_ = -1;
      vxFd_ = VxlanTxFd(vx, b.slab + off, len, port->fd);
      if (!vxHeader_) {
        port->vxlan->stats.txNoVni += 1;
        continue;
      }
      if (vxRemote_ < 0 && vx.floodCount == 0) {
        port->vxlan->stats.txNoRemote += 1;
        continue;
      }
    }
    if (!SendFrame(port, b.slab + slotStart, b.slab + off, len, tag, b.vlanUntagged, stats)) {
      for (uint32_t j = i + 1; j < count; j++)
        if (b.egress[j * kEgressWords + word] & bit) stats[kTxLinkDown] += 1;
      queued_ = 0;
      return;
    }
  }
  if (queued_) Flush(port, stats);
}

bool Transmitter::SendFrame(Port* port, const uint8_t* vnet, const uint8_t* frame, uint32_t len, uint32_t tag,
                            const uint32_t* untagged, double* stats) {
  if (len > frameCap_) {
    stats[kTxOversize] += 1;
    return true;
  }
  if (Immediate(port)) scratchUsed_ = 0;  // TAP frames leave at once: the scratch is free again
  const VlanForm form = VlanEgressForm(tag, frame, len, port->index, untagged);
  const bool gso = (vnet[1] & 0x7f) != 0;  // gso_type, without the ECN flag
  GsoPlan plan;
  if (gso && !GsoPlanFrame(vnet, frame, len, &plan)) {
    stats[kTxGsoDropped] += 1;
    return true;
  }
  const bool software = gso ? !port->txVnet || plan.tunnelled : !port->txVnet && (vnet[0] & kNeedsCsum);
  if (!software) {
    const uint8_t* hdr = port->txVnet ? vnet : kZeroVnet;
    if (form == VlanForm::kAsIs) return Out(port, hdr, frame, len, stats);
    return OutSpliced(port, form, tag, hdr, frame, len, stats);
  }
  if (form != VlanForm::kAsIs) {
    // Software offload copies the frame anyway: it starts from a re-tagged copy.
    len = VlanRetagCopy(form, tag, vnet, frame, len, retag_.get(), retagVnet_);
    frame = retag_.get();
    vnet = retagVnet_;
    if (gso && !GsoPlanFrame(vnet, frame, len, &plan)) {
      stats[kTxGsoDropped] += 1;
      return true;
    }
  }
  if (gso) return SendSegmented(port, plan, frame, len, stats);
  if (scratchCap_ - scratchUsed_ < len && !Flush(port, stats)) return false;
  uint8_t* out = scratch_.get() + scratchUsed_;
  if (!CompleteChecksum(vnet, frame, len, out)) {
    stats[kTxErrors] += 1;
    return true;
  }
  scratchUsed_ += len;
  return Out(port, kZeroVnet, out, len, stats);
}

bool Transmitter::SendSegmented(Port* port, const GsoPlan& plan, const uint8_t* frame, uint32_t len, double* stats) {
  if (port->kind == PortKind::kVxlan && port->vxlan->udpGso) {
    bool handled = true;
    const bool up = SendVxlanGso(port, plan, frame, len, stats, &handled);
    if (handled) return up;
  }
  const size_t need = GsoOutputSize(plan, len);
  const uint32_t nsegs = GsoSegmentCount(plan, len);
  if (nsegs > kQueueCap || need > scratchCap_) {
    stats[kTxGsoDropped] += 1;  // more segments than one call can carry (a tiny gso_size)
    return true;
  }
  if ((scratchCap_ - scratchUsed_ < need || kQueueCap - queued_ < nsegs) && !Flush(port, stats)) return false;
  uint8_t* base = scratch_.get() + scratchUsed_;
  uint32_t n = 0;
  if (GsoSegment(plan, frame, len, base, scratchCap_ - scratchUsed_, segs_.get(), kQueueCap - queued_, &n) !=
      GsoResult::kOk) {
    stats[kTxGsoDropped] += 1;
    return true;
  }
  scratchUsed_ += need;
  stats[kTxSegmented] += 1;
  for (uint32_t s = 0; s < n; s++)
    if (!Out(port, kZeroVnet, base + segs_[s].offset, segs_[s].length, stats)) return false;
  return true;
}

bool Transmitter::Out(Port* port, const uint8_t* vnet, const uint8_t* frame, uint32_t len, double* stats) {
  struct iovec local[2];
  struct iovec* iov = Immediate(port) ? local : iovs_.get() + kIovsPerMsg * queued_;
  iov[0] = {const_cast<uint8_t*>(vnet), kVnetHdrLen};
  iov[1] = {const_cast<uint8_t*>(frame), len};
  return Emit(port, iov, 2, len, stats);
}

bool Transmitter::OutSpliced(Port* port, VlanForm form, uint32_t tag, const uint8_t* vnet, const uint8_t* frame,
                             uint32_t len, double* stats) {
  VlanScratch localScratch;
  struct iovec local[kIovsPerMsg];
  const bool tap = Immediate(port);
  struct iovec* iov = tap ? local : iovs_.get() + kIovsPerMsg * queued_;
  uint32_t wire = 0;
  const int n = VlanIov(form, tag, vnet, true, frame, len, tap ? &localScratch : &vlan_[queued_], iov, &wire);
  return Emit(port, iov, n, wire, stats);
}

bool Transmitter::Emit(Port* port, struct iovec* iov, int n, uint32_t len, double* stats) {
  if (Immediate(port)) {
    ssize_t r;
    do {
      r = writev(port->fd, iov, n);
    } while (r < 0 && errno == EINTR);
    stats[kTxSyscalls] += 1;
    if (r >= 0) {
      stats[kTxPackets] += 1;
      stats[kTxBytes] += len;
      return true;
    }
    if (DeviceDown(errno)) {
      stats[kTxLinkDown] += 1;
      return false;
    }
    stats[QueueFull(errno) ? kTxDropped : kTxErrors] += 1;
    return true;
  }
  if (port->kind == PortKind::kVxlan) return EmitVxlan(port, iov, n, len, stats);
  struct msghdr* h = &msgs_[queued_].msg_hdr;
  h->msg_name = nullptr;
  h->msg_namelen = 0;
  h->msg_iov = iov;
  h->msg_iovlen = static_cast<size_t>(n);
  lens_[queued_] = len;
  if (++queued_ == kQueueCap) return Flush(port, stats);
  return true;
}

bool Transmitter::SendVxlanGso(Port* port, const GsoPlan& plan, const uint8_t* frame, uint32_t len, double* stats,
                               bool* handled) {
  VxlanState& vx = *port->vxlan;
  if (queued_ && !Flush(port, stats)) return false;  // earlier frames leave first; the scratch is free again
  const size_t need = GsoOutputSize(plan, len);
  uint32_t n = 0;
  if (need > scratchCap_ || GsoSegment(plan, frame, len, scratch_.get(), scratchCap_, segs_.get(), kQueueCap, &n) != GsoResult::kOk ||
      n == 0) {
    stats[kTxGsoDropped] += 1;
    return true;
  }
  for (uint32_t s = 0; s + 1 < n; s++)
    if (segs_[s].length != segs_[0].length) {
      *handled = false;  // unequal segments: UDP GSO cannot cut them
      return true;
    }
  const uint32_t chunk = kVxlanHlen + segs_[0].length;  // every datagram but the last
  uint32_t perSend = kVxlanGsoMaxBytes / chunk;
  if (perSend > kVxlanGsoMaxSegs) perSend = kVxlanGsoMaxSegs;
  if (perSend < 2) {
    *handled = false;
    return true;
  }
  stats[kTxSegmented] += 1;
  alignas(struct cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))];
  const uint32_t count = vxRemote_ >= 0 ? 1 : vx.floodCount;
  for (uint32_t r = 0; r < count; r++) {
    const uint32_t id = vxRemote_ >= 0 ? static_cast<uint32_t>(vxRemote_) : vx.floodList[r];
    VxlanRemote& rem = vx.remotes[id];
    for (uint32_t first = 0; first < n; first += perSend) {
      const uint32_t k = n - first < perSend ? n - first : perSend;
      uint32_t bytes = 0;
      for (uint32_t j = 0; j < k; j++) {
        const Segment& seg = segs_[first + j];
        gsoIovs_[2 * j] = {const_cast<uint8_t*>(vxHeader_), kVxlanHlen};
        gsoIovs_[2 * j + 1] = {scratch_.get() + seg.offset, seg.length};
        bytes += kVxlanHlen + seg.length;
      }
      struct msghdr h = {};
      h.msg_name = &rem.addr;
      h.msg_namelen = rem.addrLen;
      h.msg_iov = gsoIovs_.get();
      h.msg_iovlen = 2 * k;
      if (k > 1) {
        memset(control, 0, sizeof(control));
        h.msg_control = control;
        h.msg_controllen = sizeof(control);
        struct cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t size = static_cast<uint16_t>(chunk);
        memcpy(CMSG_DATA(c), &size, sizeof(size));
      }
      ssize_t sent;
      do {
        sent = sendmsg(vxFd_, &h, MSG_DONTWAIT);
      } while (sent < 0 && errno == EINTR);
      stats[kTxSyscalls] += 1;
      if (sent < 0) {
        if ((errno == EINVAL || errno == EIO || errno == EOPNOTSUPP) && first == 0 && r == 0 && k > 1) {
          vx.udpGso = false;  // this socket or route takes no UDP GSO: plain datagrams from now on
          *handled = false;
          return true;
        }
        if (DeviceDown(errno)) {
          stats[kTxLinkDown] += k;
          return false;
        }
        stats[QueueFull(errno) ? kTxDropped : kTxErrors] += k;
        continue;
      }
      stats[kTxPackets] += k;
      stats[kTxBytes] += bytes;
      rem.txPackets += k;
      rem.txBytes += bytes;
    }
  }
  return true;
}

bool Transmitter::EmitVxlan(Port* port, struct iovec* iov, int n, uint32_t len, double* stats) {
  VxlanState& vx = *port->vxlan;
  iov[0] = {const_cast<uint8_t*>(vxHeader_), kVxlanHlen};  // in the place of the virtio-net header
  // iov is message `first`'s; copies for further remotes get their own
  // iovecs (and VLAN scratch, when a tag is spliced in), since a full queue
  // is flushed in the middle of the replication.
  const uint32_t first = queued_;
  const VlanScratch* scratch = &vlan_[first];
  const uint32_t count = vxRemote_ >= 0 ? 1 : vx.floodCount;
  for (uint32_t r = 0; r < count; r++) {
    const uint32_t id = vxRemote_ >= 0 ? static_cast<uint32_t>(vxRemote_) : vx.floodList[r];
    const uint32_t q = queued_;
    struct iovec* dst = iovs_.get() + kIovsPerMsg * q;
    if (dst != iov) {
      for (int j = 0; j < n; j++) {
        dst[j] = iov[j];
        if (iov[j].iov_base == scratch->tag) {
          vlan_[q] = *scratch;
          dst[j].iov_base = vlan_[q].tag;
        }
      }
    }
    struct msghdr* h = &msgs_[q].msg_hdr;
    h->msg_name = &vx.remotes[id].addr;
    h->msg_namelen = vx.remotes[id].addrLen;
    h->msg_iov = dst;
    h->msg_iovlen = static_cast<size_t>(n);
    lens_[q] = len + kVxlanHlen;
    remoteOf_[q] = static_cast<int32_t>(id);
    fdOf_[q] = vxFd_;
    if (++queued_ == kQueueCap && !Flush(port, stats, true)) return false;
  }
  return true;
}

bool Transmitter::Flush(Port* port, double* stats, bool keepScratch) {
  if (port->kind == PortKind::kTap) return FlushUring(port, stats);
  bool up = true;
  uint32_t i = 0;
  const bool vxlan = port->kind == PortKind::kVxlan;
  while (i < queued_) {
    // A VXLAN port's messages go out through their flows' sockets: one call per run of one socket.
    const int fd = vxlan ? fdOf_[i] : port->fd;
    uint32_t end = queued_;
    if (vxlan)
      for (end = i + 1; end < queued_ && fdOf_[end] == fd;) end++;
    int r;
    do {
      r = sendmmsg(fd, msgs_.get() + i, end - i, MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    stats[kTxSyscalls] += 1;
    if (r < 0) {
      if (QueueFull(errno)) {
        if (vxlan) {  // that socket's queue is full: drop its run, the other sockets' messages still go
          stats[kTxDropped] += end - i;
          i = end;
          continue;
        }
        stats[kTxDropped] += queued_ - i;  // queue full: drop the rest, never wait
        break;
      }
      if (DeviceDown(errno)) {
        stats[kTxLinkDown] += queued_ - i;
        up = false;
        break;
      }
      stats[kTxErrors] += 1;  // this frame is bad (EMSGSIZE, EINVAL, ...): skip it
      i++;
      continue;
    }
    for (int k = 0; k < r; k++) {
      stats[kTxPackets] += 1;
      stats[kTxBytes] += lens_[i + k];
    }
    if (port->kind == PortKind::kVxlan) {
      for (int k = 0; k < r; k++) {
        VxlanRemote& rem = port->vxlan->remotes[remoteOf_[i + k]];
        rem.txPackets += 1;
        rem.txBytes += lens_[i + k];
      }
    }
    i += static_cast<uint32_t>(r);
  }
  queued_ = 0;
  if (!keepScratch) scratchUsed_ = 0;
  return up;
}

// A TAP port's queue through io_uring (tap-uring.cc): one submission, then
// each frame's result as Emit would have counted its writev.
bool Transmitter::FlushUring(Port* port, double* stats) {
  TapUringWrite(port->fd, msgs_.get(), queued_, results_.get());
  stats[kTxSyscalls] += 1;
  bool up = true;
  for (uint32_t i = 0; i < queued_; i++) {
    const int32_t r = results_[i];
    if (r >= 0) {
      stats[kTxPackets] += 1;
      stats[kTxBytes] += lens_[i];
    } else if (DeviceDown(-r)) {
      stats[kTxLinkDown] += 1;
      up = false;
    } else {
      stats[QueueFull(-r) ? kTxDropped : kTxErrors] += 1;
    }
  }
  queued_ = 0;
  scratchUsed_ = 0;
  return up;
}

}  // namespace tapbridge
