// Software segmentation and checksum completion; see gso.h.
//
// The plan walks the frame from the Ethernet header to csum_start, which the
// kernel (or whoever wrote the virtio-net header) says is the L4 header to
// segment: VLAN tags (two at most), an IPv4 or IPv6 header (IPv6 extension
// headers allowed), and at most one tunnel — IP-in-IP, or UDP/GRE followed
// by the inner IP header, either at once (FOU, GRE) or behind an opaque
// tunnel header and an inner Ethernet header (VXLAN, Geneve, GRE-TEB); the
// inner IP header is found by its consistency with the end of the frame
// (version, protocol, total length). Everything else is refused, never
// guessed: a header nobody fixes would go out with a wrong length.
//
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
constexpr uint8_t kGsoUdpL4 = 5;
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

// An IPv4 (IPv6) header at q that is not a fragment, carries proto1 or
// proto2, and whose length reaches exactly the end of the frame.
bool Ipv4At(const uint8_t* f, uint32_t len, uint32_t q, uint32_t ihl, uint8_t proto1, uint8_t proto2) {
  return f[q] == (0x40 | ihl / 4) && (f[q + 9] == proto1 || f[q + 9] == proto2) && Rd16(f + q + 2) == len - q &&
         (Rd16(f + q + 6) & 0x3fff) == 0;
}
bool Ipv6At(const uint8_t* f, uint32_t len, uint32_t q, uint8_t proto1, uint8_t proto2) {
  return (f[q] >> 4) == 6 && (f[q + 6] == proto1 || f[q + 6] == proto2) && Rd16(f + q + 4) == len - q - 40;
}

// Whether an IP-in-IP header (protocol 4 or 41) ends at q, after `from`:
// the signature of a second tunnel, whose lengths nobody would fix.
bool TunnelIpEndsAt(const uint8_t* f, uint32_t len, uint32_t from, uint32_t q) {
  for (uint32_t ihl = 20; ihl <= 60 && q >= from + ihl; ihl += 4)
    if (Ipv4At(f, len, q - ihl, ihl, 4, 41)) return true;
  return q >= from + 40 && Ipv6At(f, len, q - 40, 4, 41);
}

// The inner IP header of a UDP or GRE tunnel: it ends exactly at csum_start
// (l4), starts right at `from` (no further tunnel header) or right behind an
// inner Ethernet header whose type names it, and its total length reaches
// the end of the frame. Nothing that looks like a second tunnel may precede it.
bool FindInnerIp(const uint8_t* f, uint32_t len, uint32_t from, uint32_t l4, uint8_t proto, GsoPlan* p) {
  auto placed = [&](uint32_t q, uint16_t ethertype) {
    return (q == from || (q >= from + 14 && Rd16(f + q - 2) == ethertype)) && !TunnelIpEndsAt(f, len, from, q);
  };
  for (uint32_t ihl = 20; ihl <= 60; ihl += 4) {
    if (l4 < from + ihl) break;
    const uint32_t q = l4 - ihl;
    if (Ipv4At(f, len, q, ihl, proto, proto) && placed(q, 0x0800)) {
      p->ipOff[p->nIp] = q;
      p->ipV4[p->nIp] = true;
      p->nIp++;
      return true;
    }
  }
  if (l4 >= from + 40) {
    const uint32_t q = l4 - 40;
    if (Ipv6At(f, len, q, proto, proto) && placed(q, 0x86dd)) {
      p->ipOff[p->nIp] = q;
      p->ipV4[p->nIp] = false;
      p->nIp++;
      return true;
    }
  }
  return false;
}

// Pseudo-header sum (addresses, protocol, L4 length) of the IP header at ip.
uint64_t PseudoSum(const uint8_t* ip, bool v4, uint8_t proto, uint32_t l4len) {
  if (v4) return CsumAdd(0, ip + 12, 8) + htons(proto) + htons(static_cast<uint16_t>(l4len));
  return CsumAdd(0, ip + 8, 32) + htons(static_cast<uint16_t>(l4len >> 16)) + htons(static_cast<uint16_t>(l4len)) +
         htons(proto);
}

inline void StoreCsum(uint8_t* at, uint64_t sum, bool udp) {
  uint16_t c = static_cast<uint16_t>(~CsumFold(sum));
  if (udp && c == 0) c = 0xffff;  // 0 means "no checksum" in UDP
  memcpy(at, &c, 2);
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

bool GsoPlanFrame(const uint8_t* vnet, const uint8_t* f, uint32_t len, GsoPlan* p) {
  *p = GsoPlan();
  const uint8_t gso = vnet[1] & static_cast<uint8_t>(~kGsoEcn);
  if (gso != kGsoTcpV4 && gso != kGsoTcpV6 && gso != kGsoUdpL4) return false;
  if (!(vnet[0] & kNeedsCsum)) return false;
  const uint32_t l4 = LeU16(vnet + 6);
  const uint8_t proto = gso == kGsoUdpL4 ? 17 : 6;
  if (LeU16(vnet + 8) != (proto == 6 ? 16 : 6)) return false;
  p->mss = LeU16(vnet + 4);
  if (p->mss == 0 || len < 14 || len < l4 + (proto == 6 ? 20u : 8u)) return false;

  uint32_t pos = 14;
  uint16_t type = Rd16(f + 12);
  for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; tags++) {
    if (len < pos + 4) return false;
    type = Rd16(f + pos + 2);
    pos += 4;
  }
  bool v4;
  if (type == 0x0800) {
    v4 = true;
  } else if (type == 0x86dd) {
    v4 = false;
  } else {
    return false;
  }
  for (;;) {
    uint32_t next;
    uint8_t nh;
    if (v4) {
      if (len < pos + 20 || (f[pos] >> 4) != 4) return false;
      const uint32_t ihl = (f[pos] & 0xfu) * 4;
      if (ihl < 20 || len < pos + ihl || (Rd16(f + pos + 6) & 0x3fff) != 0) return false;
      next = pos + ihl;
      nh = f[pos + 9];
    } else {
      if (len < pos + 40 || (f[pos] >> 4) != 6) return false;
      nh = f[pos + 6];
      next = pos + 40;
      while ((nh == 0 || nh == 43 || nh == 60) && next < l4) {  // hop-by-hop, routing, destination options
        if (len < next + 8) return false;
        nh = f[next];
        next += (f[next + 1] + 1u) * 8;
      }
    }
    p->ipOff[p->nIp] = pos;
    p->ipV4[p->nIp] = v4;
    p->nIp++;
    if (next == l4) {
      if (nh != proto) return false;
      break;
    }
    if (next > l4 || p->nIp == 2) return false;
    if (nh == 4 || nh == 41) {  // IP in IP
      pos = next;
      v4 = nh == 4;
      continue;
    }
    if (nh == 17) {  // UDP tunnel: VXLAN, Geneve, FOU/GUE, …
      if (next + 8 > l4) return false;
      p->udpOff = next;
      p->udpCsum = Rd16(f + next + 6) != 0;
      if (!FindInnerIp(f, len, next + 8, l4, proto, p)) return false;
      break;
    }
    if (nh == 47) {  // GRE (key and sequence number allowed); a GRE checksum would need recomputing: refused
      if (next + 4 > l4 || (f[next] & 0x80)) return false;
      const uint32_t greLen = 4 + ((f[next] & 0x20) ? 4 : 0) + ((f[next] & 0x10) ? 4 : 0);
      if (next + greLen > l4 || !FindInnerIp(f, len, next + greLen, l4, proto, p)) return false;
      break;
    }
    return false;
  }
  const bool innerV4 = p->ipV4[p->nIp - 1];
  if ((gso == kGsoTcpV4 && !innerV4) || (gso == kGsoTcpV6 && innerV4)) return false;
  if (proto == 6) {
    if (len < l4 + 20) return false;
    const uint32_t doff = (f[l4 + 12] >> 4) * 4u;
    if (doff < 20 || len < l4 + doff) return false;
    p->hdrs = l4 + doff;
  } else {
    if (len < l4 + 8) return false;
    p->hdrs = l4 + 8;
  }
  if (p->hdrs > kMaxGsoHeaders) return false;
  p->l4proto = proto;
  p->l4 = l4;
  p->tunnelled = p->nIp == 2;
  return true;
}

uint32_t GsoSegmentCount(const GsoPlan& p, uint32_t len) {
  const uint32_t payload = len - p.hdrs;
  return payload == 0 ? 1 : (payload + p.mss - 1) / p.mss;
}

size_t GsoOutputSize(const GsoPlan& p, uint32_t len) {
  return static_cast<size_t>(len) + static_cast<size_t>(GsoSegmentCount(p, len) - 1) * p.hdrs;
}

GsoResult GsoSegment(const GsoPlan& p, const uint8_t* f, uint32_t len, uint8_t* out, size_t cap, Segment* segs,
                     uint32_t maxSegs, uint32_t* nsegs) {
  *nsegs = 0;
  if (p.hdrs == 0 || p.hdrs > len || p.mss == 0) return GsoResult::kUnsupported;
  const uint32_t payload = len - p.hdrs;
  const uint32_t count = GsoSegmentCount(p, len);
  if (count > maxSegs || GsoOutputSize(p, len) > cap) return GsoResult::kNoSpace;

  uint16_t id0[2] = {0, 0};
  for (uint32_t k = 0; k < p.nIp; k++)
    if (p.ipV4[k]) id0[k] = Rd16(f + p.ipOff[k] + 4);
  const bool tcp = p.l4proto == 6;
  const uint32_t seq0 = tcp ? Rd32(f + p.l4 + 4) : 0;
  const uint8_t flags0 = tcp ? f[p.l4 + 13] : 0;
  const uint32_t inner = p.nIp - 1;

  size_t pos = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t chunk = payload - i * p.mss < p.mss ? payload - i * p.mss : p.mss;
    const uint32_t segLen = p.hdrs + chunk;
    uint8_t* s = out + pos;
    memcpy(s, f, p.hdrs);
    memcpy(s + p.hdrs, f + p.hdrs + static_cast<size_t>(i) * p.mss, chunk);
    for (uint32_t k = 0; k < p.nIp; k++) {
      uint8_t* ip = s + p.ipOff[k];
      if (p.ipV4[k]) {
        const uint32_t ihl = (ip[0] & 0xfu) * 4;
        Wr16(ip + 2, static_cast<uint16_t>(segLen - p.ipOff[k]));
        Wr16(ip + 4, static_cast<uint16_t>(id0[k] + i));
        Wr16(ip + 10, 0);
        StoreCsum(ip + 10, CsumAdd(0, ip, ihl), false);
      } else {
        Wr16(ip + 4, static_cast<uint16_t>(segLen - p.ipOff[k] - 40));
      }
    }
    uint8_t* l4 = s + p.l4;
    const uint32_t l4len = segLen - p.l4;
    if (tcp) {
      Wr32(l4 + 4, seq0 + i * p.mss);
      uint8_t fl = flags0;
      if (i + 1 < count) fl &= static_cast<uint8_t>(~(0x01 | 0x08));  // FIN, PSH on the last only
      if (i > 0) fl &= static_cast<uint8_t>(~0x80);                    // CWR on the first only
      l4[13] = fl;
      Wr16(l4 + 16, 0);
    } else {
      Wr16(l4 + 4, static_cast<uint16_t>(l4len));
      Wr16(l4 + 6, 0);
    }
    StoreCsum(l4 + (tcp ? 16 : 6), CsumAdd(PseudoSum(s + p.ipOff[inner], p.ipV4[inner], p.l4proto, l4len), l4, l4len),
              !tcp);
    if (p.udpOff) {
      // The tunnel's UDP header: its length, and its checksum over everything
      // after it (inner headers already final) when it carries one.
      uint8_t* udp = s + p.udpOff;
      const uint32_t udpLen = segLen - p.udpOff;
      Wr16(udp + 4, static_cast<uint16_t>(udpLen));
      Wr16(udp + 6, 0);
      if (p.udpCsum) StoreCsum(udp + 6, CsumAdd(PseudoSum(s + p.ipOff[0], p.ipV4[0], 17, udpLen), udp, udpLen), true);
    }
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

}  // namespace tapbridge
