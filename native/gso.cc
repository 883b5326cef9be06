// TCP segmentation offload and checksum completion in software; see gso.h.
// Checksums are summed over memory in native byte order (RFC 1071 §2(B)):
// folding and complementing yields the right bytes to store with memcpy.
#include "gso.h"

#include <arpa/inet.h>

#include <cstring>

namespace tapbridge {

namespace {
constexpr uint8_t kNeedsCsum = 1;
constexpr uint8_t kGsoTcpV4 = 1;
constexpr uint8_t kGsoTcpV6 = 4;
constexpr uint8_t kGsoEcn = 0x80;

inline uint16_t Rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void Wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline uint32_t Rd32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void Wr32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline uint16_t LeU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

struct TcpLayout {
  uint32_t l3;   // IP header offset
  uint32_t l4;   // TCP header offset
  uint32_t hdrs; // l4 + TCP header length
  bool v4;
};

// Finds L3/L4 of a TCP frame; the vnet header's csum_start is the authority for L4.
bool ParseTcp(const uint8_t* vnet, const uint8_t* f, uint32_t len, TcpLayout* t) {
  if (len < 14) return false;
  uint32_t l3 = 14;
  uint16_t type = Rd16(f + 12);
  for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; tags++) {
    if (len < l3 + 4) return false;
    type = Rd16(f + l3 + 2);
    l3 += 4;
  }
  uint8_t gso = vnet[1] & static_cast<uint8_t>(~kGsoEcn);
  uint16_t csumStart = LeU16(vnet + 6);
  uint32_t l4;
  if (type == 0x0800) {
    if (gso != kGsoTcpV4 || len < l3 + 20 || (f[l3] >> 4) != 4) return false;
    uint32_t ihl = (f[l3] & 0xf) * 4u;
    if (ihl < 20 || f[l3 + 9] != 6) return false;
    l4 = l3 + ihl;
    t->v4 = true;
  } else if (type == 0x86dd) {
    if (gso != kGsoTcpV6 || len < l3 + 40 || (f[l3] >> 4) != 6) return false;
    l4 = l3 + 40;
    if ((vnet[0] & kNeedsCsum) && csumStart > l4) {
      l4 = csumStart;  // extension headers
    } else if (f[l3 + 6] != 6) {
      return false;
    }
    t->v4 = false;
  } else {
    return false;
  }
  if ((vnet[0] & kNeedsCsum) && csumStart != l4) return false;
  if (len < l4 + 20) return false;
  uint32_t thl = (f[l4 + 12] >> 4) * 4u;
  if (thl < 20 || len < l4 + thl) return false;
  t->l3 = l3;
  t->l4 = l4;
  t->hdrs = l4 + thl;
  return true;
}
}  // namespace

uint64_t CsumAdd(uint64_t sum, const uint8_t* p, size_t len) {
  while (len >= 8) {
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + 4, 4);
    sum += a;
    sum += b;
    p += 8;
    len -= 8;
  }
  while (len >= 2) {
    uint16_t a;
    memcpy(&a, p, 2);
    sum += a;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint8_t last[2] = {p[0], 0};
    uint16_t a;
    memcpy(&a, last, 2);
    sum += a;
  }
  return sum;
}

uint16_t CsumFold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

size_t GsoSegmentBound(const uint8_t* vnet, uint32_t len) {
  uint16_t mss = LeU16(vnet + 4);
  if (mss == 0) return 0;
  // Headers are at most 22 (L2) + 60 (IPv4) or 40+ext (IPv6, bounded by csum_start) + 60 (TCP).
  size_t hdrMax = 22 + 60 + 60;
  uint16_t csumStart = LeU16(vnet + 6);
  if (csumStart + 60u > hdrMax) hdrMax = csumStart + 60u;
  return len + (len / mss + 1) * hdrMax;
}

GsoResult GsoSegmentTcp(const uint8_t* vnet, const uint8_t* f, uint32_t len, uint8_t* out, size_t cap,
                        Segment* segs, uint32_t maxSegs, uint32_t* nsegs) {
  *nsegs = 0;
  TcpLayout t;
  if (!ParseTcp(vnet, f, len, &t)) return GsoResult::kUnsupported;
  uint32_t mss = LeU16(vnet + 4);
  if (mss == 0) return GsoResult::kUnsupported;
  uint32_t payload = len - t.hdrs;
  uint32_t count = payload == 0 ? 1 : (payload + mss - 1) / mss;
  if (count > maxSegs) return GsoResult::kNoSpace;
  if (static_cast<size_t>(len) + static_cast<size_t>(count - 1) * t.hdrs > cap) return GsoResult::kNoSpace;

  const uint16_t id0 = t.v4 ? Rd16(f + t.l3 + 4) : 0;
  const uint32_t seq0 = Rd32(f + t.l4 + 4);
  const uint8_t flags0 = f[t.l4 + 13];
  // Pseudo-header address part, shared by all segments.
  uint64_t addrSum = t.v4 ? CsumAdd(0, f + t.l3 + 12, 8) : CsumAdd(0, f + t.l3 + 8, 32);

  size_t pos = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t chunk = payload - i * mss < mss ? payload - i * mss : mss;
    uint32_t segLen = t.hdrs + chunk;
    uint8_t* s = out + pos;
    memcpy(s, f, t.hdrs);
    memcpy(s + t.hdrs, f + t.hdrs + i * mss, chunk);
    if (t.v4) {
      uint8_t* ip = s + t.l3;
      uint32_t ihl = t.l4 - t.l3;
      Wr16(ip + 2, static_cast<uint16_t>(segLen - t.l3));
      Wr16(ip + 4, static_cast<uint16_t>(id0 + i));
      Wr16(ip + 10, 0);
      uint16_t c = static_cast<uint16_t>(~CsumFold(CsumAdd(0, ip, ihl)));
      memcpy(ip + 10, &c, 2);
    } else {
      Wr16(s + t.l3 + 4, static_cast<uint16_t>(segLen - t.l3 - 40));
    }
    uint8_t* tcp = s + t.l4;
    Wr32(tcp + 4, seq0 + i * mss);
    uint8_t fl = flags0;
    if (i + 1 < count) fl &= static_cast<uint8_t>(~(0x01 | 0x08));  // FIN, PSH on the last only
    if (i > 0) fl &= static_cast<uint8_t>(~0x80);                    // CWR on the first only
    tcp[13] = fl;
    Wr16(tcp + 16, 0);
    uint32_t tcpLen = segLen - t.l4;
    uint64_t sum = addrSum + htons(6) + htons(static_cast<uint16_t>(tcpLen));
    if (!t.v4) sum = addrSum + htons(static_cast<uint16_t>(tcpLen >> 16)) + htons(static_cast<uint16_t>(tcpLen)) + htons(6);
    uint16_t c = static_cast<uint16_t>(~CsumFold(CsumAdd(sum, tcp, tcpLen)));
    memcpy(tcp + 16, &c, 2);
    segs[i].offset = static_cast<uint32_t>(pos);
    segs[i].length = segLen;
    pos += segLen;
  }
  *nsegs = count;
  return GsoResult::kOk;
}

bool CompleteChecksum(const uint8_t* vnet, const uint8_t* frame, uint32_t len, uint8_t* out) {
  uint32_t start = LeU16(vnet + 6);
  uint32_t off = LeU16(vnet + 8);
  if (start >= len || start + off + 2 > len) return false;
  memcpy(out, frame, len);
  uint16_t c = static_cast<uint16_t>(~CsumFold(CsumAdd(0, out + start, len - start)));
  if (c == 0) c = 0xffff;
  memcpy(out + start + off, &c, 2);
  return true;
}

void SynthesizeVnet(const uint8_t* f, uint32_t len, uint32_t mtu, uint8_t* vnet) {
  memset(vnet, 0, 10);
  if (len < 14) return;
  uint32_t l3 = 14;
  uint16_t type = Rd16(f + 12);
  for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; tags++) {
    if (len < l3 + 4) return;
    type = Rd16(f + l3 + 2);
    l3 += 4;
  }
  uint32_t l4;
  uint8_t proto;
  bool v4;
  if (type == 0x0800 && len >= l3 + 20 && (f[l3] >> 4) == 4) {
    l4 = l3 + (f[l3] & 0xf) * 4u;
    proto = f[l3 + 9];
    v4 = true;
  } else if (type == 0x86dd && len >= l3 + 40 && (f[l3] >> 4) == 6) {
    l4 = l3 + 40;
    proto = f[l3 + 6];
    v4 = false;
  } else {
    return;
  }
  uint16_t csumOffset;
  if (proto == 6 && len >= l4 + 20) {
    csumOffset = 16;
  } else if (proto == 17 && len >= l4 + 8) {
    csumOffset = 6;
  } else {
    return;
  }
  vnet[0] = kNeedsCsum;
  vnet[6] = static_cast<uint8_t>(l4);
  vnet[7] = static_cast<uint8_t>(l4 >> 8);
  vnet[8] = static_cast<uint8_t>(csumOffset);
  if (proto == 6 && mtu > 0 && len - l3 > mtu) {
    uint32_t thl = (f[l4 + 12] >> 4) * 4u;
    uint32_t hdrs = l4 + thl;
    if (thl < 20 || hdrs >= len || mtu <= (l4 - l3) + thl) return;
    uint32_t mss = mtu - (l4 - l3) - thl;
    vnet[1] = v4 ? kGsoTcpV4 : kGsoTcpV6;
    vnet[2] = static_cast<uint8_t>(hdrs);
    vnet[3] = static_cast<uint8_t>(hdrs >> 8);
    vnet[4] = static_cast<uint8_t>(mss);
    vnet[5] = static_cast<uint8_t>(mss >> 8);
  }
}

}  // namespace tapbridge
