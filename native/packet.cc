// AF_PACKET ports. Three receive modes (PacketRxMode): a TPACKET_V2 ring
// (packet-v2.cc: why it is the default, and the measurements), recvmmsg
// (packet-mmsg.cc), and the TPACKET_V3 ring walked below.
// Open order matters: PACKET_VERSION and PACKET_VNET_HDR before
// PACKET_RX_RING; the socket is created with protocol 0 and only starts
// receiving at bind(ETH_P_ALL, ifindex), so nothing from other interfaces is
// queued meanwhile. Receive walks TPACKET_V3 blocks owned by
// user space (TP_STATUS_USER), copies each frame into its slot, re-inserts
// the VLAN tag the kernel stripped, and hands a block back once all its
// packets are consumed; the cursor survives a batch that fills mid-block.
#include "packet.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netns.h"
#include "packet-mmsg.h"
#include "packet-tag.h"
#include "packet-v2.h"
#include "port-policy.h"
#include "rtnl.h"

namespace tapbridge {

namespace {
inline struct tpacket_block_desc* Block(Ring& r, uint32_t i) {
  return reinterpret_cast<struct tpacket_block_desc*>(r.map + static_cast<size_t>(i) * r.blockSize);
}
inline uint32_t BlockStatus(struct tpacket_block_desc* bd) {
  return __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
}
inline void ReleaseBlock(Ring& r) {
  __atomic_store_n(&Block(r, r.block)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  r.inBlock = false;
  r.pkt = nullptr;
  r.pktLeft = 0;
  r.block = (r.block + 1) % r.blockCount;
}

bool SetBufForce(int fd, int force, int plain, int value) {
  if (setsockopt(fd, SOL_SOCKET, force, &value, sizeof(value)) == 0) return true;
  return setsockopt(fd, SOL_SOCKET, plain, &value, sizeof(value)) == 0;
}
}  // namespace

bool PacketOpen(const PacketOptions& o, Port* port, OpenedInfo* info, SysError* e) {
  NetnsGuard ns;
  if (!ns.Enter(o.netnsPath, e)) return false;
  int ifindex;
  if (!IfIndex(o.ifname, &ifindex, e)) return false;
  // Refusals first: a device Linux would not take is left exactly as it was.
  LinkRecord link;
  if (!RtnlGetLink(ifindex, &link, e) || !CheckBridgePort(o.ifname, link, e)) return false;

  FdGuard fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Fail(e, errno, "socket", "socket(AF_PACKET) for " + o.ifname);
  FdGuard sock(OpenIoctlSocket(e));
  if (sock.get() < 0) return false;

  const bool ring = o.rxMode != PacketRxMode::kMmsg;
  const bool v2 = o.rxMode == PacketRxMode::kV2;
  if (ring) {
    int v = v2 ? TPACKET_V2 : TPACKET_V3;
    if (setsockopt(fd.get(), SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0)
      return Fail(e, errno, "setsockopt", "PACKET_VERSION " + o.ifname);
  }
  // Always: receive then carries the kernel's own description of each frame
  // (csum_start, gso_type, gso_size), so nothing about offloads is guessed.
  int one = 1;
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
    return Fail(e, errno, "setsockopt", "PACKET_VNET_HDR " + o.ifname);
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
    return Fail(e, errno, "setsockopt", "PACKET_IGNORE_OUTGOING " + o.ifname);
  if (!SetBufForce(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, o.rcvbuf))
    return Fail(e, errno, "setsockopt", "SO_RCVBUF " + o.ifname);
  if (!SetBufForce(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, o.sndbuf))
    return Fail(e, errno, "setsockopt", "SO_SNDBUF " + o.ifname);
  int optErr = 0;
  if (!ring && !MmsgPrepare(fd.get(), &optErr)) return Fail(e, optErr, "setsockopt", "PACKET_AUXDATA " + o.ifname);
  if (v2 && !V2Prepare(fd.get(), &optErr)) return Fail(e, optErr, "setsockopt", "PACKET_COPY_THRESH " + o.ifname);

  size_t mapLen = 0;
  void* map = nullptr;
  if (ring) {
    struct tpacket_req3 req;
    memset(&req, 0, sizeof(req));
    req.tp_block_size = o.blockSize;
    req.tp_block_nr = o.blockCount;
    req.tp_frame_size = kV2FrameSize;
    req.tp_frame_nr = static_cast<unsigned>((static_cast<uint64_t>(o.blockSize) * o.blockCount) / kV2FrameSize);
    // V2 takes a struct tpacket_req: the first four fields of this one.
    req.tp_retire_blk_tov = v2 ? 0 : o.retireTimeoutMs;
    req.tp_sizeof_priv = 0;
    req.tp_feature_req_word = 0;
    if (setsockopt(fd.get(), SOL_PACKET, PACKET_RX_RING, &req, v2 ? sizeof(struct tpacket_req) : sizeof(req)) < 0)
      return Fail(e, errno, "setsockopt", "PACKET_RX_RING " + o.ifname);
    mapLen = static_cast<size_t>(o.blockSize) * o.blockCount;
    map = mmap(nullptr, mapLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
    if (map == MAP_FAILED) return Fail(e, errno, "mmap", "mmap rx ring of " + o.ifname);
  }

  // The device goes up only now, right before bind (binding to a down device
  // would leave ENETDOWN pending on the socket); from here on a failure sets
  // it down again and closing the socket drops the promiscuous membership,
  // so a failed attach leaves the interface as it found it.
  const bool wasUp = (link.flags & IFF_UP) != 0;
  if (!wasUp && !SetUp(sock.get(), o.ifname, e)) {
    if (map) munmap(map, mapLen);
    return false;
  }
  auto unmap = [&]() {
    if (map) munmap(map, mapLen);
    if (!wasUp) SetDownQuietly(o.ifname);
  };
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sll), sizeof(sll)) < 0)
    return Fail(e, errno, "bind", "bind AF_PACKET to " + o.ifname), unmap(), false;
  if (o.promisc) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof(mr));
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd.get(), SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
      return Fail(e, errno, "setsockopt", "PACKET_ADD_MEMBERSHIP promisc " + o.ifname), unmap(), false;
  }
  if (!GetInfo(sock.get(), o.ifname, &info->ifindex, &info->mtu, info->mac, e)) return unmap(), false;

  info->ifname = o.ifname;
  info->vnet = o.txVnet;
  port->kind = PortKind::kPacket;
  port->txVnet = o.txVnet;
  port->ifname = o.ifname;
  port->netnsPath = o.netnsPath;
  port->ifindex = ifindex;
  port->broughtUp = !wasUp;
  port->mtu = info->mtu;
  port->ring.map = static_cast<uint8_t*>(map);
  port->ring.mapLen = mapLen;
  port->ring.v2 = v2;
  port->ring.blockSize = !ring ? 0 : v2 ? kV2FrameSize : o.blockSize;
  port->ring.blockCount = !ring ? 0 : v2 ? static_cast<uint32_t>(mapLen / kV2FrameSize) : o.blockCount;
  port->ring.block = 0;
  port->ring.inBlock = false;
  port->fd = fd.release();
  return true;
}

bool ParsePacketRxMode(const std::string& name, PacketRxMode* mode) {
  if (name == "v2") *mode = PacketRxMode::kV2;
  else if (name == "v3") *mode = PacketRxMode::kV3;
  else if (name == "mmsg") *mode = PacketRxMode::kMmsg;
  else return false;
  return true;
}

void PacketUnmap(Port* port) {
  if (port->ring.map) munmap(port->ring.map, port->ring.mapLen);
  port->ring.map = nullptr;
  MmsgFree(port);
}

void PacketReadDrops(Port* port, double* stats) {
  struct tpacket_stats_v3 st;
  socklen_t len = sizeof(st);
  if (port->fd >= 0 && getsockopt(port->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
    stats[kRxDropped] += st.tp_drops;
}

uint32_t PacketReceive(Port* port, const RxBatch& b, bool* more) {
  if (!port->ring.map) return MmsgReceive(port, b, more);
  if (port->ring.v2) return V2Receive(port, b, more);
  Ring& r = port->ring;
  const uint32_t cap = b.slotSize - kVnetArea - kHeadroom;
  uint32_t n = 0;
  while (n < b.max) {
    if (!r.inBlock) {
      struct tpacket_block_desc* bd = Block(r, r.block);
      if (!(BlockStatus(bd) & TP_STATUS_USER)) break;
      r.inBlock = true;
      r.pktLeft = bd->hdr.bh1.num_pkts;
      r.pkt = reinterpret_cast<uint8_t*>(bd) + bd->hdr.bh1.offset_to_first_pkt;
      b.stats[kRxSyscalls] += 1;
      if (r.pktLeft == 0) {
        ReleaseBlock(r);
        continue;
      }
    }
    auto* h = reinterpret_cast<struct tpacket3_hdr*>(r.pkt);
    uint8_t* mac = r.pkt + h->tp_mac;
    uint32_t snap = h->tp_snaplen;
    bool tagged = (h->tp_status & TP_STATUS_VLAN_VALID) != 0;
    uint32_t outLen = snap + (tagged ? 4 : 0);
    if (snap < h->tp_len || snap < 14 || outLen > cap) {
      b.stats[kRxDropped] += 1;
    } else {
      uint8_t* slot = b.slab + static_cast<size_t>(n) * b.slotSize;
      uint8_t* dst = slot + kVnetArea + kHeadroom;
      memcpy(slot, mac - kVnetHdrLen, kVnetHdrLen);
      if (tagged) {
        uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : 0x8100;
        uint16_t tci = h->hv1.tp_vlan_tci;
        CopyWithVlanTag(dst, mac, snap, tpid, tci);
        ShiftVnetHdrForTag(slot);
      } else {
        memcpy(dst, mac, snap);
      }
      b.rxPort[n] = static_cast<uint16_t>(port->index);
      b.frameOffset[n] = n * b.slotSize + kVnetArea + kHeadroom;
      b.frameLength[n] = outLen;
      b.stats[kRxPackets] += 1;
      b.stats[kRxBytes] += outLen;
      n++;
    }
    r.pktLeft--;
    if (r.pktLeft == 0) {
      ReleaseBlock(r);
    } else {
      r.pkt += h->tp_next_offset;
    }
  }
  *more = r.inBlock || (BlockStatus(Block(r, r.block)) & TP_STATUS_USER);
  return n;
}

}  // namespace tapbridge
