// VLAN egress helpers; see vlan.h. Mirrors src/core/vlan-egress.ts.
#include "vlan.h"

#include <cstring>

namespace tapbridge {

namespace {
inline uint16_t LeU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
inline void PutLeU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void PutTag(uint8_t* p, uint32_t tag) {
  p[0] = static_cast<uint8_t>(tag >> 24);
  p[1] = static_cast<uint8_t>(tag >> 16);
  p[2] = static_cast<uint8_t>(tag >> 8);
  p[3] = static_cast<uint8_t>(tag);
}
}  // namespace

void VlanAdjustVnet(VlanForm form, const uint8_t* vnet, uint8_t* out) {
  memcpy(out, vnet, kVnetHdrLen);
  if (form == VlanForm::kAsIs || form == VlanForm::kRetag) return;  // the length does not change
  const int delta = form == VlanForm::kInsert ? static_cast<int>(kVlanHlen) : -static_cast<int>(kVlanHlen);
  if (out[0] & 1) PutLeU16(out + 6, static_cast<uint16_t>(LeU16(out + 6) + delta));  // csum_start (NEEDS_CSUM)
  const int hdrLen = LeU16(out + 2);  // a hint; 0 stays 0 and it never goes below zero
  if (hdrLen != 0 && hdrLen + delta > 0) PutLeU16(out + 2, static_cast<uint16_t>(hdrLen + delta));
}

int VlanIov(VlanForm form, uint32_t tag, const uint8_t* vnet, bool withVnet, const uint8_t* frame, uint32_t len,
            VlanScratch* s, struct iovec* iov, uint32_t* wireLen) {
  int n = 0;
  if (withVnet) {
    VlanAdjustVnet(form, vnet, s->vnet);
    iov[n++] = {s->vnet, kVnetHdrLen};
  }
  uint8_t* f = const_cast<uint8_t*>(frame);
  iov[n++] = {f, 12};
  if (form == VlanForm::kInsert || form == VlanForm::kRetag) {
    const uint32_t skip = form == VlanForm::kRetag ? kVlanHlen : 0;
    PutTag(s->tag, tag);
    iov[n++] = {s->tag, kVlanHlen};
    iov[n++] = {f + 12 + skip, len - 12 - skip};
    *wireLen = len + kVlanHlen - skip;
  } else {
    iov[n++] = {f + 12 + kVlanHlen, len - 12 - kVlanHlen};
    *wireLen = len - kVlanHlen;
  }
  return n;
}

uint32_t VlanRetagCopy(VlanForm form, uint32_t tag, const uint8_t* vnet, const uint8_t* frame, uint32_t len,
                       uint8_t* out, uint8_t* outVnet) {
  VlanAdjustVnet(form, vnet, outVnet);
  memcpy(out, frame, 12);
  if (form == VlanForm::kInsert || form == VlanForm::kRetag) {
    const uint32_t skip = form == VlanForm::kRetag ? kVlanHlen : 0;
    PutTag(out + 12, tag);
    memcpy(out + 12 + kVlanHlen, frame + 12 + skip, len - 12 - skip);
    return len + kVlanHlen - skip;
  }
  if (form == VlanForm::kStrip) {
    memcpy(out + 12, frame + 12 + kVlanHlen, len - 12 - kVlanHlen);
    return len - kVlanHlen;
  }
  memcpy(out + 12, frame + 12, len - 12);
  return len;
}

}  // namespace tapbridge
