// AF_PACKET receive through a TPACKET_V2 ring (`rxMode: "v2"`, the default).
//
// Why the default. The three receive modes, measured in one run, interleaved
// (bench/main.ts --quick --runs 3 --only kernel,tap,v2,v3,mmsg --skip-micro;
// veth pairs into a switch namespace; 2-core VM shared with 5 other
// engineers, load average 9.2 → 11.0; median of 3, ratio to the kernel
// bridge of the same run):
//
//                              kernel  TAP     V2 ring  V3 ring  recvmmsg
//   ping median, µs            64      130     137      1030     97
//   ping p99, µs               113     1890    3250     64200    793
//   64-byte frames, k/s        73.7    0.87×   1.00×    0.69×    0.63×
//   switch CPU/64-byte frame   –       5.05    4.53     4.68     6.61 µs
//   machine CPU/64-byte frame  1×      1.16×   1.00×    1.44×    1.58×
//   TCP 1 stream               7.94    0.54×   0.63×    0.48×    0.62× Gbit/s
//   idle CPU, ms/s             –       0       0        10       0
//
// A second run of the landed code (--quick --runs 3 --only
// kernel,tap,packet,v3, load 7.8 → 6.5): ping median V2 113 µs (74–148),
// TAP 44, V3 1410, kernel 34; 64-byte frames V2 0.60× (0.46–0.97×), V3
// 0.66×; TCP 1 stream V2 0.81×, V3 0.48×. So V2's 64-byte rate is V3's
// within this machine's noise, not better; its latency and TCP are.
//
// V3 (the old receive) waits for its 1 ms block-retire timer on every frame
// of an idle port and wakes 1000 times a second doing nothing. recvmmsg
// wakes per frame and batches under load, but the kernel's per-message
// work (dequeue, copy, cmsg, free) lands in our thread: +46 % switch CPU
// per frame. V2 keeps what made the ring fast (the copy is done in the
// sender's softirq, the skb freed there) and wakes per frame when idle.
// PACKET_QDISC_BYPASS (transmit) and SO_BUSY_POLL were not kept: veth has no
// qdisc to bypass (noqueue) and no NAPI poll for busy polling to spin on;
// busy polling would also spend the idle CPU the bridge must not.
//
// A V2 ring hands frames over one by one: the kernel copies a frame into
// the next free slot in the softirq that delivers it, marks it
// TP_STATUS_USER and wakes the socket at once, so an idle port forwards
// without waiting for a block-retire timer (what TPACKET_V3 does, ~1 ms).
// Under load the reader finds many frames ready per wake-up and drains up to
// a batch; the copy is the kernel's, in the sender's context, as with V3.
//
// Slots are kV2FrameSize (2048) bytes: an Ethernet frame of up to ~1950
// bytes fits (MTU 1500, tagged). A larger one (a GSO frame of 64 KiB, a
// jumbo frame) is left truncated in the ring with TP_STATUS_COPY, and —
// PACKET_COPY_THRESH — the whole frame is queued on the socket in the same
// order; the reader takes it from there with recvmsg (and PACKET_AUXDATA
// for its VLAN tag), into the same slot layout as packet-mmsg.cc.
#include "packet-v2.h"

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "packet-mmsg.h"
#include "packet-tag.h"

namespace tapbridge {

namespace {
inline struct tpacket2_hdr* Frame(Ring& r, uint32_t i) {
  return reinterpret_cast<struct tpacket2_hdr*>(r.map + static_cast<size_t>(i) * r.blockSize);
}
inline uint32_t Status(struct tpacket2_hdr* h) { return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE); }
inline void Release(Ring& r, struct tpacket2_hdr* h) {
  __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  r.block = r.block + 1 == r.blockCount ? 0 : r.block + 1;
}
}  // namespace

bool V2Prepare(int fd, int* err) {
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof(one)) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0) {
    *err = errno;
    return false;
  }
  return true;
}

uint32_t V2Receive(Port* port, const RxBatch& b, bool* more) {
  Ring& r = port->ring;
  const uint32_t cap = b.slotSize - kVnetArea - kHeadroom;
  uint32_t n = 0;
  bool any = false;
  while (n < b.max) {
    struct tpacket2_hdr* h = Frame(r, r.block);
    const uint32_t status = Status(h);
    if (!(status & TP_STATUS_USER)) break;
    any = true;
    uint8_t* slot = b.slab + static_cast<size_t>(n) * b.slotSize;
    uint32_t offset = kVnetArea + kHeadroom, outLen = 0;
    bool ok;
    if (status & TP_STATUS_COPY) {
      ok = MmsgReceiveOne(port->fd, slot, b.slotSize, &offset, &outLen, b.stats);
    } else {
      uint8_t* mac = reinterpret_cast<uint8_t*>(h) + h->tp_mac;
      const uint32_t snap = h->tp_snaplen;
      const bool tagged = (status & TP_STATUS_VLAN_VALID) != 0;
      outLen = snap + (tagged ? 4 : 0);
      ok = snap >= h->tp_len && snap >= 14 && outLen <= cap;
      if (!ok) {
        b.stats[kRxDropped] += 1;
      } else {
        uint8_t* dst = slot + offset;
        memcpy(slot, mac - kVnetHdrLen, kVnetHdrLen);
        if (tagged) {
          const uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid : 0x8100;
          const uint16_t tci = h->tp_vlan_tci;
          CopyWithVlanTag(dst, mac, snap, tpid, tci);
          ShiftVnetHdrForTag(slot);
        } else {
          memcpy(dst, mac, snap);
        }
      }
    }
    Release(r, h);
    if (!ok) continue;
    b.rxPort[n] = static_cast<uint16_t>(port->index);
    b.frameOffset[n] = n * b.slotSize + offset;
    b.frameLength[n] = outLen;
    b.stats[kRxPackets] += 1;
    b.stats[kRxBytes] += outLen;
    n++;
  }
  if (any) b.stats[kRxSyscalls] += 1;  // one per walk: the wake-up's epoll_wait (COPY frames add their recvmsg)
  *more = (Status(Frame(r, r.block)) & TP_STATUS_USER) != 0;
  return n;
}

}  // namespace tapbridge
