// Software offload for ports that take no virtio-net header: TCP
// segmentation of GSO frames (TCPv4/TCPv6, ECN) and completion of partial
// checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM). Pure functions on buffers: the
// input frame is never modified, output goes to a caller-provided scratch.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapbridge {

struct Segment {
  uint32_t offset;  // into the output buffer
  uint32_t length;
};

enum class GsoResult { kOk, kUnsupported, kNoSpace };

// Upper bound of the output bytes GsoSegmentTcp needs for this frame (0: unsupported).
size_t GsoSegmentBound(const uint8_t* vnet, uint32_t len);

// Splits a TCP GSO frame (vnet: its 10-byte virtio_net_hdr) into segments of
// at most gso_size payload bytes, with fixed IP lengths/ids/checksums and TCP
// seq/flags/checksums. Writes them back to back into out[0..cap).
GsoResult GsoSegmentTcp(const uint8_t* vnet, const uint8_t* frame, uint32_t len, uint8_t* out, size_t cap,
                        Segment* segs, uint32_t maxSegs, uint32_t* nsegs);

// Copies the frame to out (len bytes) and stores the completed checksum at
// csum_start+csum_offset. False when the header's offsets do not fit the frame.
bool CompleteChecksum(const uint8_t* vnet, const uint8_t* frame, uint32_t len, uint8_t* out);

// For a frame received without a virtio-net header but with a partial
// checksum (AF_PACKET TP_STATUS_CSUMNOTREADY): describe it in a synthesized
// header (NEEDS_CSUM, csum_start/offset; TCP frames longer than mtu also
// gso_type/gso_size/hdr_len) so it can be offloaded or completed on transmit.
// Leaves vnet zeroed when the frame is not TCP/UDP over IPv4/IPv6.
void SynthesizeVnet(const uint8_t* frame, uint32_t len, uint32_t mtu, uint8_t* vnet);

// Ones-complement sum helpers (network byte order in memory, summed natively).
uint64_t CsumAdd(uint64_t sum, const uint8_t* data, size_t len);
uint16_t CsumFold(uint64_t sum);

}  // namespace tapbridge
