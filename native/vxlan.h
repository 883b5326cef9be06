// VXLAN ports (RFC 7348): one UDP socket (IPv4 or IPv6) bound to the local
// VTEP address and port, in the port's network namespace.
//
// Receive: recvmmsg straight into the slab. Datagram i lands so that its
// 8-byte VXLAN header fills the end of slot i's headroom and the inner frame
// starts at the usual frame offset; the addon writes two more words into the
// headroom before the header (layout in src/core/abi.ts, VxlanMeta) — the
// sender's remote id and the UDP payload length — and TypeScript validates
// the header, learns the sender and maps the VNI (src/core/vxlan.ts). No
// byte of a frame is moved.
//
// Remotes: each port keeps a table of VTEP addresses (static ones, and those
// learned from senders), numbered by id; ids never change while the port is
// open, so an FDB entry can hold one. Flood remotes (the `remote=` list and
// `fdb append 00:00:00:00:00:00 dst …` entries) get every frame whose
// destination remote is -1: head-end replication.
//
// Transmit runs through the Transmitter (transmit.cc) like every port, with
// the VXLAN header in the place of the virtio-net header: [vxlan hdr][frame
// pieces] as iovecs (no copy of the frame; VLAN tags spliced or stripped as
// anywhere), one message per destination remote, sendmmsg in batches. GSO
// frames are segmented and partial checksums completed in software first
// (the inner frame has no offload header on the wire).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

#include "port.h"
#include "tap.h"

namespace tapbridge {

constexpr uint32_t kVxlanHlen = 8;
constexpr uint32_t kVxlanMaxRemotes = 4096;
// UDP GSO (UDP_SEGMENT): segments per send (the kernel's UDP_MAX_SEGMENTS
// is 64 on older kernels) and UDP payload bytes per send (an IP datagram's).
constexpr uint32_t kVxlanGsoMaxSegs = 64;
constexpr uint32_t kVxlanGsoMaxBytes = 65000;
// Send sockets, each bound to the local address and a port of the kernel's
// choosing: a frame leaves through the one its inner flow hashes to, so the
// outer UDP source port varies by flow (entropy for ECMP, as the kernel's
// vxlan gives) and stays the same within one (no reordering).
constexpr uint32_t kVxlanTxSockets = 8;
// Headroom words before the VXLAN header (mirrors VxlanMeta in src/core/abi.ts).
constexpr uint32_t kVxlanMetaRemote = 16;  // frame offset - 16: int32 LE, remote id (rx: sender; tx: destination, -1 flood)
constexpr uint32_t kVxlanMetaLength = 12;  // frame offset - 12: uint32 LE, UDP payload length (rx)

struct VxlanRemote {
  struct sockaddr_storage addr;
  socklen_t addrLen = 0;
  bool flood = false;
  bool learned = false;
  double rxPackets = 0, rxBytes = 0, txPackets = 0, txBytes = 0;
};

struct VxlanStats {
  double rxRemoteFull = 0;  // senders not recorded: the remote table was full
  double txNoRemote = 0;    // frames with nowhere to go (flood list empty)
  double txNoVni = 0;       // frames of a VID the VNI map does not carry
  double rxTruncated = 0;   // datagrams larger than a slot
};

struct VxlanOptions {
  std::string netnsPath;
  std::string local;  // address text
  uint16_t port = 4789;
  uint32_t vni = 0;
  bool udpCsum = true;  // IPv4: false sends zero UDP checksums (SO_NO_CHECK), which also rules out UDP GSO
  int rcvbuf = 8 << 20;
  int sndbuf = 4 << 20;
};

struct VxlanState {
  int family = AF_INET;
  struct sockaddr_storage local = {};
  int ifindex = 0;  // the underlay interface (holding the local address), 0 when not found
  uint16_t dstPort = 4789;
  // GSO frames leave as UDP GSO (one send per 64 segments) while the kernel takes it; needs UDP checksums.
  bool udpGso = true;
  int txFd[kVxlanTxSockets] = {-1, -1, -1, -1, -1, -1, -1, -1};
  uint32_t txCount = 0;
  uint8_t header[kVxlanHlen] = {0};   // flags 0x08 and the port's VNI
  std::unique_ptr<uint8_t[]> vidHeaders;  // per VID: 8-byte header, VNI 0 with flags 0 = not mapped; null: no map
  std::unique_ptr<VxlanRemote[]> remotes;
  uint32_t remoteCount = 0;
  std::unique_ptr<uint16_t[]> hash;  // open addressing over remote ids, 0xffff = empty
  std::unique_ptr<uint16_t[]> floodList;
  uint32_t floodCount = 0;
  VxlanStats stats;
  // Receive scratch: one message per slot.
  std::unique_ptr<struct mmsghdr[]> rxMsgs;
  std::unique_ptr<struct iovec[]> rxIovs;
  std::unique_ptr<struct sockaddr_storage[]> rxNames;
};

bool VxlanOpen(const VxlanOptions& o, Port* port, OpenedInfo* info, SysError* e);
void VxlanFree(Port* port);
// Joins a multicast group on the underlay interface (floods then go to the group: add it as a flood remote).
bool VxlanJoinGroup(Port* port, const struct sockaddr_storage& group, SysError* e);
uint32_t VxlanReceive(Port* port, const RxBatch& b, bool* more);
// The offload state a local sender left out (see vxlan.cc): a partial
// checksum marked NEEDS_CSUM, a TCP super-frame longer than `mtu` made GSO.
void VxlanRxOffload(uint8_t* vnet, uint8_t* frame, uint32_t len, uint32_t mtu);

// Parses an address of the port's family; false when it is not one.
bool VxlanParseAddress(const VxlanState& s, const std::string& text, struct sockaddr_storage* out, socklen_t* len);
// The id of an address (added when new; -1 when the table is full).
int VxlanRemoteId(VxlanState& s, const struct sockaddr_storage& addr, socklen_t len, bool learned);
void VxlanSetFlood(VxlanState& s, uint32_t id, bool flood);
std::string VxlanFormatAddress(const VxlanRemote& r);
// Installs (or, with null, removes) the VID → VNI map (4096 entries, 0 = not carried).
void VxlanSetVniMap(VxlanState& s, const uint32_t* map);

// The send socket for an inner frame: by a hash of its flow (MACs, IP
// addresses, TCP/UDP ports); `fallback` (the receive socket) when there are none.
int VxlanTxFd(const VxlanState& s, const uint8_t* frame, uint32_t len, int fallback);

// The header for a frame of tag word `tag`; null when its VID is not mapped.
inline const uint8_t* VxlanHeaderFor(const VxlanState& s, uint32_t tag) {
  if (!s.vidHeaders) return s.header;
  const uint8_t* h = s.vidHeaders.get() + static_cast<size_t>(tag & 0xfff) * kVxlanHlen;
  return h[0] ? h : nullptr;
}

}  // namespace tapbridge
