// Shared plumbing for the native dataplane: the per-port state (fd, poll
// handle, AF_PACKET ring cursor), the error record that the pure-C++ layers
// (tap.cc, packet.cc, netns.cc) fill and dataplane.cc turns into JS errors,
// and the slab layout constants that must match src/io/native-binding.ts.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace tapbridge {

constexpr uint32_t kVnetArea = 16;
constexpr uint32_t kHeadroom = 48;
constexpr uint32_t kVnetHdrLen = 10;
constexpr uint32_t kMaxPorts = 256;
constexpr uint32_t kEgressWords = kMaxPorts / 32;
constexpr uint32_t kPortStatCount = 16;
constexpr uint32_t kDpStatCount = 8;
constexpr uint32_t kMaxBatch = 1024;
constexpr uint32_t kMinFrameArea = 65550;
constexpr uint32_t kMinSlotSize = kVnetArea + kHeadroom + kMinFrameArea;

// Columns of portStats (PortStat in native-binding.ts).
enum PortStat : uint32_t {
  kRxPackets = 0,
  kRxBytes = 1,
  kRxDropped = 2,
  kRxErrors = 3,
  kTxPackets = 4,
  kTxBytes = 5,
  kTxDropped = 6,
  kTxErrors = 7,
  kTxSegmented = 8,
  kTxGsoDropped = 9,
  kRxSyscalls = 10,
  kTxSyscalls = 11,
  kTxLinkDown = 12,
  kTxOversize = 13,
};

// Columns of dpStats (DataplaneStat in native-binding.ts, plus slot 6).
enum DpStat : uint32_t {
  kBatches = 0,
  kFrames = 1,
  kJsNanos = 2,
  kRxNanos = 3,
  kTxNanos = 4,
  kWakeups = 5,
  kCallbackErrors = 6,
  kPollErrors = 7,
};

// A failed system call, described without any N-API types.
struct SysError {
  int err = 0;
  std::string syscall;
  std::string message;  // full sentence, e.g. "TUNSETIFF tap0: Operation not permitted"
};

// Fills *e with "<what>: <strerror(err)>" and returns false.
bool Fail(SysError* e, int err, const char* syscall, const std::string& what);
// Fills *e with `message` verbatim and returns false.
bool FailPlain(SysError* e, int err, const char* syscall, const std::string& message);

enum class PortKind { kTap, kPacket, kVxlan };

struct VxlanState;  // vxlan.h

// Cursor into a TPACKET_V3 rx ring (or, v2: a TPACKET_V2 ring, where
// `block` is the next frame, `blockCount` the frames and `blockSize` the
// frame size).
struct Ring {
  bool v2 = false;
  uint8_t* map = nullptr;
  size_t mapLen = 0;
  uint32_t blockSize = 0;
  uint32_t blockCount = 0;
  uint32_t block = 0;      // current block index
  bool inBlock = false;    // walking `block` (it is ours: TP_STATUS_USER)
  uint32_t pktLeft = 0;    // packets still unread in `block`
  uint8_t* pkt = nullptr;  // next tpacket3_hdr in `block`
};

class Dataplane;
struct MmsgRx;  // packet-mmsg.cc

struct Port {
  uv_poll_t poll = {};  // poll.data = this; freed in the uv_close callback
  Dataplane* dp = nullptr;
  uint32_t index = 0;
  PortKind kind = PortKind::kTap;
  int fd = -1;
  bool txVnet = true;  // frames leave with their virtio-net header (else offloads are done in software)
  bool persistent = false;  // TAP: TUNSETPERSIST is (or was already) on
  bool open = false;
  bool rxStopped = false;      // polling ended for good (the device is gone)
  bool broughtUp = false;      // the open set the device up (a failed start sets it down again)
  uint32_t pollErrorRun = 0;   // poll errors in a row with nothing received between them
  std::string netnsPath;       // where the device lives ("" = our own namespace)
  std::string ifname;
  int ifindex = 0;
  uint32_t mtu = 0;
  Ring ring;               // AF_PACKET, rxMode v2 / v3
  MmsgRx* mmsg = nullptr;  // AF_PACKET, rxMode mmsg: receive scratch (packet-mmsg.cc)
  VxlanState* vxlan = nullptr;  // kVxlan: the remote table and scratch (vxlan.h)
  uint32_t uringRxHint = 0;  // TAP through io_uring: reads to submit next (tap-uring.cc)
};

// Where a receive function puts frames (slots 0..max-1).
struct RxBatch {
  uint8_t* slab;
  uint32_t slotSize;
  uint32_t max;
  uint16_t* rxPort;
  uint32_t* frameOffset;
  uint32_t* frameLength;
  double* stats;  // this port's row of portStats
};

}  // namespace tapbridge
