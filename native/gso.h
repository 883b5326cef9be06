// Software offload: segmentation of GSO frames (TCPv4, TCPv6, UDP_L4, plain
// or inside one tunnel: UDP-based such as VXLAN/Geneve/FOU, GRE without
// checksum, IP-in-IP) and completion of partial checksums (NEEDS_CSUM).
// Pure functions on buffers: the input frame is never modified, output goes
// to a caller-provided scratch.
//
// What can be segmented is decided by GsoPlanFrame, and src/core/gso.ts
// applies the very same rule in TypeScript at ingress (a frame it refuses
// is dropped there as `unsegmentable_gso`); test/io/gso.test.ts checks that
// the two agree on random frames. Change both or neither.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapbridge {

struct Segment {
  uint32_t offset;  // into the output buffer
  uint32_t length;
};

enum class GsoResult { kOk, kUnsupported, kNoSpace };

// Headers (L2 through the L4 header) longer than this are not segmented.
constexpr uint32_t kMaxGsoHeaders = 256;

// How a GSO frame is segmented: where its headers are and which to fix.
struct GsoPlan {
  uint8_t l4proto = 0;     // 6 (TCP) or 17 (UDP)
  bool tunnelled = false;  // two IP headers: the frame must not reach the kernel as GSO
  uint32_t mss = 0;        // gso_size
  uint32_t l4 = 0;         // csum_start: the L4 header being segmented
  uint32_t hdrs = 0;       // bytes copied in front of every segment (through the L4 header)
  uint32_t nIp = 0;        // IP headers to fix, outer first
  uint32_t ipOff[2] = {0, 0};
  bool ipV4[2] = {false, false};
  uint32_t udpOff = 0;     // the tunnel's UDP header (0: none)
  bool udpCsum = false;    // that UDP header carries a checksum (non-zero) to recompute
};

// True when the frame's virtio-net header (vnet, 10 bytes) describes a
// GSO frame these functions can segment; fills *plan.
bool GsoPlanFrame(const uint8_t* vnet, const uint8_t* frame, uint32_t len, GsoPlan* plan);

// Bytes of output GsoSegment writes for this plan and frame length.
size_t GsoOutputSize(const GsoPlan& plan, uint32_t len);
// Number of segments for this plan and frame length.
uint32_t GsoSegmentCount(const GsoPlan& plan, uint32_t len);

// Splits the frame into segments of at most mss payload bytes, every IP
// header's length/id/checksum, the tunnel's UDP length/checksum and the L4
// header (TCP seq, flags, checksum; UDP length, checksum) fixed, written back
// to back into out[0..cap). kNoSpace when more than maxSegs segments or cap
// bytes would be needed.
GsoResult GsoSegment(const GsoPlan& plan, const uint8_t* frame, uint32_t len, uint8_t* out, size_t cap,
                     Segment* segs, uint32_t maxSegs, uint32_t* nsegs);

// Copies the frame to out (len bytes) and stores the completed checksum at
// csum_start+csum_offset. False when the header's offsets do not fit the frame.
bool CompleteChecksum(const uint8_t* vnet, const uint8_t* frame, uint32_t len, uint8_t* out);

// Ones-complement sum helpers (network byte order in memory, summed natively).
uint64_t CsumAdd(uint64_t sum, const uint8_t* data, size_t len);
uint16_t CsumFold(uint64_t sum);

}  // namespace tapbridge
