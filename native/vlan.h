// VLAN egress at transmit time: the rule of src/core/vlan-egress.ts, so that
// native ports get exactly the bytes in-memory ports get. TypeScript decides
// per frame the tag word (TPID << 16 | TCI, 0 = VLAN-unaware) in frameTag,
// and keeps the per-(port, VID) untagged bitmap (4096 * kEgressWords words)
// that setVlanEgress() hands over once. Per (frame, port) the frame goes out
//   as is    [vnet][frame]
//   insert   [vnet'][frame 0..12][tag][frame 12..]
//   strip    [vnet'][frame 0..12][frame 16..]
//   retag    [vnet][frame 0..12][tag][frame 16..]   (a priority tag given its VID)
// with iovecs: no copy of the payload, the slab untouched. vnet' is the
// virtio-net header with csum_start (NEEDS_CSUM) and hdr_len (non-zero)
// moved by +4 / -4, so GSO frames stay GSO.
#pragma once

#include <sys/uio.h>

#include <cstdint>

#include "port.h"

namespace tapbridge {

constexpr uint32_t kVidCount = 4096;
constexpr uint32_t kVlanUntaggedWords = kVidCount * kEgressWords;
constexpr uint32_t kVlanHlen = 4;

enum class VlanForm : uint8_t { kAsIs = 0, kInsert = 1, kStrip = 2, kRetag = 3 };

// Per-frame scratch for a changed frame: its adjusted header and tag bytes.
struct VlanScratch {
  uint8_t vnet[kVnetHdrLen];
  uint8_t tag[kVlanHlen];
  uint8_t pad[2];
};

inline VlanForm VlanEgressForm(uint32_t tag, const uint8_t* frame, uint32_t len, uint32_t port,
                               const uint32_t* untagged) {
  if (tag == 0 || untagged == nullptr) return VlanForm::kAsIs;
  const uint32_t vid = tag & 0xfff;
  const bool untag = (untagged[vid * kEgressWords + (port >> 5)] >> (port & 31)) & 1;
  const bool hasTag = len >= 14 + kVlanHlen && (static_cast<uint32_t>(frame[12]) << 8 | frame[13]) == (tag >> 16);
  if (untag) return hasTag ? VlanForm::kStrip : VlanForm::kAsIs;
  if (!hasTag) return VlanForm::kInsert;
  return (static_cast<uint32_t>(frame[14]) << 8 | frame[15]) == (tag & 0xffff) ? VlanForm::kAsIs : VlanForm::kRetag;
}

// Copies the 10-byte header to out, moving csum_start and hdr_len for `form`.
void VlanAdjustVnet(VlanForm form, const uint8_t* vnet, uint8_t* out);

// Fills iov (room for 4) with the frame in `form` (not kAsIs), led by the
// adjusted header when withVnet; s holds that header and the tag bytes.
// Returns the iovec count; *wireLen is the Ethernet length sent.
int VlanIov(VlanForm form, uint32_t tag, const uint8_t* vnet, bool withVnet, const uint8_t* frame, uint32_t len,
            VlanScratch* s, struct iovec* iov, uint32_t* wireLen);

// The frame in `form` as one contiguous copy (out has room for len + 4) and
// its adjusted header in outVnet: for software GSO and checksums, which
// copy the frame anyway. Returns the new length.
uint32_t VlanRetagCopy(VlanForm form, uint32_t tag, const uint8_t* vnet, const uint8_t* frame, uint32_t len,
                       uint8_t* out, uint8_t* outVnet);

}  // namespace tapbridge
