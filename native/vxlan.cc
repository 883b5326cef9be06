// VXLAN ports; see vxlan.h. Nothing on the frame path allocates: the remote
// table, its hash and the receive messages are sized at open.
#include "vxlan.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gso.h"
#include "netns.h"

namespace tapbridge {

namespace {

constexpr uint32_t kHashSize = kVxlanMaxRemotes * 2;  // power of two
constexpr uint16_t kEmpty = 0xffff;

void PutHeader(uint8_t* h, uint32_t vni) {
  h[0] = 0x08;  // I flag: the VNI is valid
  h[1] = h[2] = h[3] = 0;
  h[4] = static_cast<uint8_t>(vni >> 16);
  h[5] = static_cast<uint8_t>(vni >> 8);
  h[6] = static_cast<uint8_t>(vni);
  h[7] = 0;
}

inline void PutLe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// The address bytes only (a sender's source port varies per flow: the
// remote is the host, replies go to its VXLAN port).
inline const uint8_t* AddrBytes(const struct sockaddr_storage& a, uint32_t* n) {
  if (a.ss_family == AF_INET6) {
    *n = 16;
    return reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr.s6_addr;
  }
  *n = 4;
  return reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr);
}

inline uint32_t HashAddr(const struct sockaddr_storage& a) {
  uint32_t n;
  const uint8_t* p = AddrBytes(a, &n);
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h ^ (h >> 15);
}

inline bool SameAddr(const struct sockaddr_storage& a, const struct sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  uint32_t n, m;
  const uint8_t* p = AddrBytes(a, &n);
  const uint8_t* q = AddrBytes(b, &m);
  return memcmp(p, q, n) == 0;
}

// MTU (and ifindex) of the interface that holds `addr` (the underlay), or 1500 (0) when none does.
int UnderlayMtu(const struct sockaddr_storage& addr, int* ifindex) {
  *ifindex = 0;
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) < 0) return 1500;
  int mtu = 1500;
  for (struct ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != addr.ss_family) continue;
    struct sockaddr_storage a;
    memset(&a, 0, sizeof(a));
    memcpy(&a, i->ifa_addr, addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    if (!SameAddr(a, addr)) continue;
    *ifindex = static_cast<int>(if_nametoindex(i->ifa_name));
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock >= 0) {
      struct ifreq ifr;
      memset(&ifr, 0, sizeof(ifr));
      strncpy(ifr.ifr_name, i->ifa_name, IFNAMSIZ - 1);
      if (ioctl(sock, SIOCGIFMTU, &ifr) == 0) mtu = ifr.ifr_mtu;
      close(sock);
    }
    break;
  }
  freeifaddrs(list);
  return mtu;
}

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

// A sender on the same host (a kernel vxlan over a veth underlay) hands
// over what a NIC would have finished: inner TCP/UDP checksums still partial
// (CHECKSUM_PARTIAL: the field holds the pseudo-header sum), and even whole
// TCP super-frames (a GSO skb of SKB_GSO_UDP_TUNNEL reaches a plain UDP
// socket unsegmented) — and a UDP socket gets the bytes without that state.
// So, per received frame: a TCP packet longer than the overlay MTU is made a
// GSO frame again (virtio-net header: TCPv4/v6, gso_size from the overlay
// MTU, NEEDS_CSUM, the field in partial form); a field equal to the
// pseudo-header sum whose checksum does not verify is marked NEEDS_CSUM.
// Whoever sends the frame on completes it (the kernel for TAP and AF_PACKET
// ports, transmit for VXLAN ports). A complete checksum is never touched.
void VxlanRxOffload(uint8_t* vnet, uint8_t* f, uint32_t len, uint32_t mtu) {
  uint32_t l3 = 14;
  uint16_t type = Be16(f + 12);
  if ((type == 0x8100 || type == 0x88a8) && len >= 18) {
    type = Be16(f + 16);
    l3 = 18;
  }
  uint32_t l4, l4len, iplen;
  uint8_t proto;
  uint64_t pseudo;
  bool v4 = type == 0x0800;
  if (v4 && len >= l3 + 20) {
    const uint8_t* ip = f + l3;
    const uint32_t ihl = (ip[0] & 0xf) * 4u;
    iplen = Be16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || (Be16(ip + 6) & 0x3fff) != 0 || l3 + iplen > len || iplen < ihl) return;
    proto = ip[9];
    l4 = l3 + ihl;
    l4len = iplen - ihl;
    pseudo = CsumAdd(0, ip + 12, 8) + htons(proto) + htons(static_cast<uint16_t>(l4len));
  } else if (type == 0x86dd && len >= l3 + 40) {
    const uint8_t* ip = f + l3;
    proto = ip[6];
    l4 = l3 + 40;
    l4len = Be16(ip + 4);
    iplen = 40 + l4len;
    if (l4 + l4len > len) return;
    pseudo = CsumAdd(0, ip + 8, 32) + htons(static_cast<uint16_t>(l4len)) + htons(proto);
  } else {
    return;
  }
  const uint32_t off = proto == 6 ? 16 : proto == 17 ? 6 : 0;
  if (off == 0 || l4len < off + 2) return;
  uint16_t field;
  memcpy(&field, f + l4 + off, 2);
  if (proto == 6 && iplen > mtu && l4len >= 20) {
    const uint32_t thlen = (f[l4 + 12] >> 4) * 4u;
    if (thlen < 20 || l4len <= thlen || mtu <= (iplen - l4len) + thlen) return;
    const uint32_t mss = mtu - (iplen - l4len) - thlen;
    const uint16_t partial = CsumFold(pseudo);
    if (field != partial && CsumFold(pseudo + CsumAdd(0, f + l4, l4len)) == 0xffff) memcpy(f + l4 + off, &partial, 2);
    vnet[0] = 1;                      // NEEDS_CSUM
    vnet[1] = v4 ? 1 : 4;             // GSO_TCPV4 / GSO_TCPV6
    const uint32_t hdrLen = l4 + thlen;
    vnet[2] = static_cast<uint8_t>(hdrLen);
    vnet[3] = static_cast<uint8_t>(hdrLen >> 8);
    vnet[4] = static_cast<uint8_t>(mss);
    vnet[5] = static_cast<uint8_t>(mss >> 8);
  } else {
    if (field != CsumFold(pseudo) || (proto == 17 && field == 0)) return;
    if (CsumFold(pseudo + CsumAdd(0, f + l4, l4len)) == 0xffff) return;  // complete after all
    vnet[0] = 1;  // NEEDS_CSUM
  }
  vnet[6] = static_cast<uint8_t>(l4);
  vnet[7] = static_cast<uint8_t>(l4 >> 8);
  vnet[8] = static_cast<uint8_t>(off);
  vnet[9] = 0;
}

bool VxlanParseAddress(const VxlanState& s, const std::string& text, struct sockaddr_storage* out, socklen_t* len) {
  memset(out, 0, sizeof(*out));
  if (s.family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    if (inet_pton(AF_INET6, text.c_str(), &a->sin6_addr) != 1) return false;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(s.dstPort);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  auto* a = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, text.c_str(), &a->sin_addr) != 1) return false;
  a->sin_family = AF_INET;
  a->sin_port = htons(s.dstPort);
  *len = sizeof(sockaddr_in);
  return true;
}

int VxlanRemoteId(VxlanState& s, const struct sockaddr_storage& addr, socklen_t len, bool learned) {
  uint32_t i = HashAddr(addr) & (kHashSize - 1);
  for (;;) {
    const uint16_t id = s.hash[i];
    if (id == kEmpty) break;
    if (SameAddr(s.remotes[id].addr, addr)) return id;
    i = (i + 1) & (kHashSize - 1);
  }
  if (s.remoteCount >= kVxlanMaxRemotes) return -1;
  const uint32_t id = s.remoteCount++;
  VxlanRemote& r = s.remotes[id];
  r = VxlanRemote();
  memcpy(&r.addr, &addr, len);
  // Replies go to the configured VXLAN port, whatever the sender's source port was.
  if (addr.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&r.addr)->sin6_port = htons(s.dstPort);
  else reinterpret_cast<sockaddr_in*>(&r.addr)->sin_port = htons(s.dstPort);
  if (addr.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&r.addr)->sin6_flowinfo = 0;
  r.addrLen = len;
  r.learned = learned;
  s.hash[i] = static_cast<uint16_t>(id);
  return static_cast<int>(id);
}

void VxlanSetFlood(VxlanState& s, uint32_t id, bool flood) {
  if (id >= s.remoteCount) return;
  s.remotes[id].flood = flood;
  s.floodCount = 0;
  for (uint32_t r = 0; r < s.remoteCount; r++)
    if (s.remotes[r].flood) s.floodList[s.floodCount++] = static_cast<uint16_t>(r);
}

std::string VxlanFormatAddress(const VxlanRemote& r) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (r.addr.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&r.addr)->sin6_addr, buf, sizeof(buf));
  else
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&r.addr)->sin_addr, buf, sizeof(buf));
  return buf;
}

void VxlanSetVniMap(VxlanState& s, const uint32_t* map) {
  if (!map) {
    s.vidHeaders.reset();
    return;
  }
  if (!s.vidHeaders) s.vidHeaders.reset(new uint8_t[4096 * kVxlanHlen]);
  memset(s.vidHeaders.get(), 0, 4096 * kVxlanHlen);
  for (uint32_t vid = 0; vid < 4096; vid++)
    if (map[vid]) PutHeader(s.vidHeaders.get() + vid * kVxlanHlen, map[vid]);
}

bool VxlanOpen(const VxlanOptions& o, Port* port, OpenedInfo* info, SysError* e) {
  std::unique_ptr<VxlanState> s(new VxlanState);
  s->dstPort = o.port;
  s->family = o.local.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  struct sockaddr_storage local;
  socklen_t localLen = 0;
  if (!VxlanParseAddress(*s, o.local, &local, &localLen))
    return FailPlain(e, EINVAL, "refuse", "local address \"" + o.local + "\" is not an IPv4 or IPv6 address");
  PutHeader(s->header, o.vni);
  s->remotes.reset(new VxlanRemote[kVxlanMaxRemotes]);
  s->hash.reset(new uint16_t[kHashSize]);
  for (uint32_t i = 0; i < kHashSize; i++) s->hash[i] = kEmpty;
  s->floodList.reset(new uint16_t[kVxlanMaxRemotes]);
  s->rxMsgs.reset(new struct mmsghdr[kMaxBatch]());
  s->rxIovs.reset(new struct iovec[kMaxBatch]());
  s->rxNames.reset(new struct sockaddr_storage[kMaxBatch]());

  NetnsGuard ns;
  if (!ns.Enter(o.netnsPath, e)) return false;
  FdGuard fd(socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
  if (fd.get() < 0) return Fail(e, errno, "socket", "UDP socket for VXLAN");
  const int one = 1;
  if (s->family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (!o.udpCsum && s->family == AF_INET) {
    setsockopt(fd.get(), SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one));
    s->udpGso = false;  // the kernel refuses UDP GSO without checksums
  }
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &o.rcvbuf, sizeof(o.rcvbuf)) < 0)
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &o.rcvbuf, sizeof(o.rcvbuf));
  if (setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &o.sndbuf, sizeof(o.sndbuf)) < 0)
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &o.sndbuf, sizeof(o.sndbuf));
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), localLen) < 0) {
    const int err = errno;
    const std::string where = o.local + " port " + std::to_string(o.port);
    if (err == EADDRNOTAVAIL)
      return FailPlain(e, err, "bind", "local address " + o.local + " is not an address of this host (namespace): the VXLAN socket cannot bind it");
    if (err == EADDRINUSE)
      return FailPlain(e, err, "bind", "UDP " + where + " is already in use (a kernel vxlan device or another VXLAN port on the same address and port?)");
    return Fail(e, err, "bind", "bind UDP " + where);
  }
  // Send sockets for source-port entropy (a failure only means fewer of them).
  for (uint32_t k = 0; k < kVxlanTxSockets; k++) {
    FdGuard tx(socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
    if (tx.get() < 0) break;
    if (s->family == AF_INET6) setsockopt(tx.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (!o.udpCsum && s->family == AF_INET) setsockopt(tx.get(), SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one));
    if (setsockopt(tx.get(), SOL_SOCKET, SO_SNDBUFFORCE, &o.sndbuf, sizeof(o.sndbuf)) < 0)
      setsockopt(tx.get(), SOL_SOCKET, SO_SNDBUF, &o.sndbuf, sizeof(o.sndbuf));
    struct sockaddr_storage any = local;
    if (s->family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&any)->sin6_port = 0;
    else reinterpret_cast<sockaddr_in*>(&any)->sin_port = 0;
    if (bind(tx.get(), reinterpret_cast<const sockaddr*>(&any), localLen) < 0) break;
    s->txFd[s->txCount++] = tx.release();
  }
  const int mtu = UnderlayMtu(local, &s->ifindex);
  s->local = local;
  const int overhead = (s->family == AF_INET6 ? 40 : 20) + 8 + kVxlanHlen + 14;

  info->ifname = "";
  info->ifindex = 0;
  info->mtu = mtu > overhead + 68 ? mtu - overhead : 68;
  memset(info->mac, 0, 6);
  info->vnet = false;
  info->created = false;
  port->kind = PortKind::kVxlan;
  port->txVnet = false;  // the inner frame carries no offload header: segment and checksum in software
  port->persistent = false;
  port->ifname = "vxlan:" + o.local;
  port->netnsPath = o.netnsPath;
  port->ifindex = 0;
  port->mtu = static_cast<uint32_t>(info->mtu);
  port->fd = fd.release();
  port->vxlan = s.release();
  return true;
}

bool VxlanJoinGroup(Port* port, const struct sockaddr_storage& group, SysError* e) {
  VxlanState& s = *port->vxlan;
  int rc;
  if (s.family == AF_INET6) {
    struct ipv6_mreq m = {};
    m.ipv6mr_multiaddr = reinterpret_cast<const sockaddr_in6*>(&group)->sin6_addr;
    m.ipv6mr_interface = static_cast<unsigned>(s.ifindex);
    rc = setsockopt(port->fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof(m));
    const unsigned ifx = static_cast<unsigned>(s.ifindex);
    const int off = 0;
    for (uint32_t k = 0; rc == 0 && k <= s.txCount; k++) {  // every socket floods may leave through
      const int fd = k < s.txCount ? s.txFd[k] : port->fd;
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifx, sizeof(ifx));
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off));
    }
  } else {
    struct ip_mreqn m = {};
    m.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(&group)->sin_addr;
    m.imr_address = reinterpret_cast<const sockaddr_in*>(&s.local)->sin_addr;
    m.imr_ifindex = s.ifindex;
    rc = setsockopt(port->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
    const unsigned char off = 0;
    for (uint32_t k = 0; rc == 0 && k <= s.txCount; k++) {  // every socket floods may leave through
      const int fd = k < s.txCount ? s.txFd[k] : port->fd;
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m));
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof(off));
    }
  }
  if (rc < 0) return Fail(e, errno, "setsockopt", "joining multicast group " + VxlanFormatAddress(VxlanRemote{group, 0}));
  return true;
}

int VxlanTxFd(const VxlanState& s, const uint8_t* f, uint32_t len, int fallback) {
  if (s.txCount == 0 || len < 14) return fallback;
  uint32_t h = 2166136261u;
  auto mix = [&h](const uint8_t* p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  };
  uint32_t l3 = 14;
  uint16_t type = Be16(f + 12);
  if ((type == 0x8100 || type == 0x88a8) && len >= 18) {
    type = Be16(f + 16);
    l3 = 18;
  }
  if (type == 0x0800 && len >= l3 + 20) {
    const uint8_t* ip = f + l3;
    const uint32_t ihl = (ip[0] & 0xf) * 4u;
    mix(ip + 12, 8);
    mix(ip + 9, 1);
    if ((ip[9] == 6 || ip[9] == 17) && (Be16(ip + 6) & 0x3fff) == 0 && len >= l3 + ihl + 4) mix(ip + ihl, 4);
  } else if (type == 0x86dd && len >= l3 + 40) {
    const uint8_t* ip = f + l3;
    mix(ip + 8, 32);
    mix(ip + 6, 1);
    if ((ip[6] == 6 || ip[6] == 17) && len >= l3 + 44) mix(ip + 40, 4);
  } else {
    mix(f, 12);
  }
  h ^= h >> 16;
  return s.txFd[h % s.txCount];
}

void VxlanFree(Port* port) {
  for (uint32_t k = 0; k < port->vxlan->txCount; k++) close(port->vxlan->txFd[k]);
  delete port->vxlan;
  port->vxlan = nullptr;
}

uint32_t VxlanReceive(Port* port, const RxBatch& b, bool* more) {
  VxlanState& s = *port->vxlan;
  *more = false;
  const uint32_t cap = b.slotSize - kVnetArea - kHeadroom;
  const uint32_t max = b.max < kMaxBatch ? b.max : kMaxBatch;
  for (uint32_t n = 0; n < max; n++) {
    uint8_t* slot = b.slab + static_cast<size_t>(n) * b.slotSize;
    s.rxIovs[n] = {slot + kVnetArea + kHeadroom - kVxlanHlen, cap + kVxlanHlen};
    struct msghdr& h = s.rxMsgs[n].msg_hdr;
    h.msg_name = &s.rxNames[n];
    h.msg_namelen = sizeof(struct sockaddr_storage);
    h.msg_iov = &s.rxIovs[n];
    h.msg_iovlen = 1;
    h.msg_control = nullptr;
    h.msg_controllen = 0;
    h.msg_flags = 0;
  }
  int got;
  do {
    got = recvmmsg(port->fd, s.rxMsgs.get(), max, MSG_DONTWAIT, nullptr);
  } while (got < 0 && errno == EINTR);
  b.stats[kRxSyscalls] += 1;
  if (got <= 0) {
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) b.stats[kRxErrors] += 1;
    return 0;
  }
  uint32_t n = 0;
  for (int k = 0; k < got; k++) {
    const struct msghdr& h = s.rxMsgs[k].msg_hdr;
    const uint32_t payload = s.rxMsgs[k].msg_len;
    if (h.msg_flags & MSG_TRUNC) {
      s.stats.rxTruncated += 1;
      b.stats[kRxDropped] += 1;
      continue;
    }
    uint8_t* slot = b.slab + static_cast<size_t>(n) * b.slotSize;
    if (static_cast<uint32_t>(k) != n) {
      // A truncated datagram was skipped: move this one down a slot (rare).
      memmove(slot + kVnetArea + kHeadroom - kVxlanHlen,
              b.slab + static_cast<size_t>(k) * b.slotSize + kVnetArea + kHeadroom - kVxlanHlen, payload);
    }
    memset(slot, 0, kVnetHdrLen);  // no offload state: the inner frame is complete
    const uint32_t frame = n * b.slotSize + kVnetArea + kHeadroom;
    int id = VxlanRemoteId(s, s.rxNames[k], h.msg_namelen, true);
    if (id < 0) s.stats.rxRemoteFull += 1;
    else {
      s.remotes[id].rxPackets += 1;
      s.remotes[id].rxBytes += payload;
    }
    PutLe32(b.slab + frame - kVxlanMetaRemote, static_cast<uint32_t>(id));
    PutLe32(b.slab + frame - kVxlanMetaLength, payload);
    b.rxPort[n] = static_cast<uint16_t>(port->index);
    b.frameOffset[n] = frame;
    b.frameLength[n] = payload > kVxlanHlen ? payload - kVxlanHlen : 0;
    if (payload >= kVxlanHlen + 14) VxlanRxOffload(slot, b.slab + frame, payload - kVxlanHlen, port->mtu);
    b.stats[kRxPackets] += 1;
    b.stats[kRxBytes] += payload;
    n++;
  }
  *more = static_cast<uint32_t>(got) == max;
  return n;
}

}  // namespace tapbridge
