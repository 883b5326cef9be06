// Putting back the 802.1Q/802.1ad tag the kernel strips from frames an
// AF_PACKET socket receives (it reports the tag beside the frame instead).
// Shared by every AF_PACKET receive mode (TPACKET_V3, TPACKET_V2, recvmmsg).
#pragma once

#include <cstdint>
#include <cstring>

namespace tapbridge {

// The 4 tag bytes (TPID, TCI) at `p`, in network order.
inline void WriteVlanTag(uint8_t* p, uint16_t tpid, uint16_t tci) {
  p[0] = static_cast<uint8_t>(tpid >> 8);
  p[1] = static_cast<uint8_t>(tpid);
  p[2] = static_cast<uint8_t>(tci >> 8);
  p[3] = static_cast<uint8_t>(tci);
}

// The virtio-net header's csum_start and hdr_len were computed for the
// untagged frame: move them past the 4 bytes put back in front of them.
inline void ShiftVnetHdrForTag(uint8_t* vnet) {
  uint16_t hdrLen, csumStart;
  memcpy(&hdrLen, vnet + 2, 2);
  memcpy(&csumStart, vnet + 6, 2);
  if (vnet[0] & 1) csumStart = static_cast<uint16_t>(csumStart + 4);  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  if (hdrLen) hdrLen = static_cast<uint16_t>(hdrLen + 4);
  memcpy(vnet + 2, &hdrLen, 2);
  memcpy(vnet + 6, &csumStart, 2);
}

// Copies the `len`-byte untagged frame at `mac` to `dst` with the tag
// inserted after the MAC addresses (dst gets len + 4 bytes).
inline void CopyWithVlanTag(uint8_t* dst, const uint8_t* mac, uint32_t len, uint16_t tpid, uint16_t tci) {
  memcpy(dst, mac, 12);
  WriteVlanTag(dst + 12, tpid, tci);
  memcpy(dst + 16, mac + 12, len - 12);
}

}  // namespace tapbridge
