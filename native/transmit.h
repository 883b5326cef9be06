// Transmit: how each frame of a batch leaves through one port.
//
// Every port's fd takes a 10-byte virtio-net header in front of each frame
// (TAPs have IFF_VNET_HDR, AF_PACKET sockets PACKET_VNET_HDR). A frame goes
// out with its own header when the port passes headers on (`txVnet`) and
// the kernel can take it as it is; otherwise transmit does the offload in
// software into a scratch buffer and sends the result with an all-zero
// header: GSO frames are segmented (TCP and UDP, plain or tunnelled: a
// tunnelled GSO frame is always segmented, the kernel would refuse it),
// partial checksums completed. A VLAN tag is spliced in or skipped per
// (frame, port) as vlan.h decides: with iovecs when the frame leaves as it
// is, in a re-tagged copy when software offload copies it anyway. TAPs get
// one writev per frame, AF_PACKET sockets one sendmmsg per up to 1024 frames.
// A VXLAN port (vxlan.h) takes the same path with its 8-byte VXLAN header in
// the place of the virtio-net header, one message per destination remote
// (every flood remote for a frame whose destination remote is -1).
//
// Errors: a full egress queue (EAGAIN/ENOBUFS) drops the rest of what was
// queued for this port (txDropped); a device that is down or gone (ENETDOWN,
// ENXIO, ENODEV, EIO, EBADFD) drops the rest of this port's batch without
// another system call (txLinkDown); any other error skips one frame.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "gso.h"
#include "tap-uring.h"
#include "port.h"
#include "vlan.h"

namespace tapbridge {

// The batch as transmit sees it: views of the Dataplane's arrays.
struct TxBatch {
  const uint8_t* slab;
  uint32_t slotSize;
  const uint32_t* frameOffset;
  const uint32_t* frameLength;
  const uint32_t* egress;
  const uint32_t* frameTag;      // per frame: TPID << 16 | TCI, 0 = VLAN-unaware
  const uint32_t* vlanUntagged;  // per (VID, port): leaves untagged; null = no VLANs
};

class Transmitter {
 public:
  // Frames longer than this (an Ethernet header, two tags and a 64 KiB IP
  // packet) are refused before any copy (txOversize): no kernel path takes them.
  static constexpr uint32_t kMaxFrame = 65535 + 14 + 8;
  static constexpr uint32_t kQueueCap = 1024;
  // iovecs per queued message: a virtio-net header and up to three frame pieces.
  static constexpr uint32_t kIovsPerMsg = 4;

  // The scratch is sized from the slot size: the largest frame a slot holds
  // (capped at kMaxFrame) plus the headers of the most segments one frame
  // may be cut into.
  explicit Transmitter(uint32_t slotSize);

  // Sends frames 0..count-1 whose egress bit for `port` is set.
  void Send(Port* port, const TxBatch& b, uint32_t count, double* stats);

  size_t scratchCapacity() const { return scratchCap_; }

 private:
  // Each returns false when the port's device is down or gone: the caller
  // then drops the rest of the batch for it.
  bool SendFrame(Port* port, const uint8_t* vnet, const uint8_t* frame, uint32_t len, uint32_t tag,
                 const uint32_t* untagged, double* stats);
  bool SendSegmented(Port* port, const GsoPlan& plan, const uint8_t* frame, uint32_t len, double* stats);
  // One frame out: [vnet][frame], or spliced for a VLAN form other than kAsIs.
  bool Out(Port* port, const uint8_t* vnet, const uint8_t* frame, uint32_t len, double* stats);
  bool OutSpliced(Port* port, VlanForm form, uint32_t tag, const uint8_t* vnet, const uint8_t* frame, uint32_t len,
                  double* stats);
  // Writes (TAP) or queues (AF_PACKET: iov must be the next message's) one frame's iovecs.
  bool Emit(Port* port, struct iovec* iov, int n, uint32_t len, double* stats);
  // keepScratch: frames still being queued point into the scratch (a VXLAN
  // replication that filled the queue): do not hand it out again yet.
  bool Flush(Port* port, double* stats, bool keepScratch = false);
  bool FlushUring(Port* port, double* stats);
  // TAP frames are written one by one (writev), unless TAP I/O goes through io_uring (tap-uring.h).
  static bool Immediate(const Port* port) { return port->kind == PortKind::kTap && !TapUringEnabled(); }
  // Queues the message at iov once per destination remote (vxlan.h).
  bool EmitVxlan(Port* port, struct iovec* iov, int n, uint32_t len, double* stats);
  // A GSO frame to a VXLAN port as UDP GSO: segmented once, then one
  // sendmsg (UDP_SEGMENT) per remote per up to 64 segments, each segment
  // led by the VXLAN header. *handled false: the kernel refused UDP GSO
  // (the port stops trying) and the caller sends the frame the plain way.
  bool SendVxlanGso(Port* port, const GsoPlan& plan, const uint8_t* frame, uint32_t len, double* stats, bool* handled);

  uint32_t frameCap_;
  std::unique_ptr<struct mmsghdr[]> msgs_;
  std::unique_ptr<struct iovec[]> iovs_;  // kIovsPerMsg per message
  std::unique_ptr<uint32_t[]> lens_;
  std::unique_ptr<VlanScratch[]> vlan_;   // per message: adjusted header and tag bytes
  std::unique_ptr<uint8_t[]> retag_;      // one re-tagged frame, the input of software offload
  uint8_t retagVnet_[kVnetHdrLen] = {0};
  uint32_t queued_ = 0;
  // VXLAN: per message, the remote it goes to; per frame, its header and destination remote.
  std::unique_ptr<int32_t[]> remoteOf_;
  std::unique_ptr<struct iovec[]> gsoIovs_;  // VXLAN UDP GSO: [header, segment] per segment
  const uint8_t* vxHeader_ = nullptr;
  int32_t vxRemote_ = -1;
  int vxFd_ = -1;                    // the send socket of the frame's flow
  std::unique_ptr<int[]> fdOf_;      // per message: its socket (VXLAN ports send through several)
  std::unique_ptr<uint8_t[]> scratch_;
  size_t scratchCap_ = 0;
  size_t scratchUsed_ = 0;
  std::unique_ptr<Segment[]> segs_;
  std::unique_ptr<int32_t[]> results_;  // per queued TAP frame, with io_uring
};

}  // namespace tapbridge
