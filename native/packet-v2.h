// AF_PACKET receive through a TPACKET_V2 ring: frames copied into the ring
// by the kernel (in the sender's softirq), one wake-up per frame when idle
// (no block-retire timer), drained a batch at a time under load. Frames
// larger than a ring slot (GSO, jumbo) come whole from the socket's queue
// (PACKET_COPY_THRESH). See packet-v2.cc.
#pragma once

#include <cstdint>

#include "port.h"

namespace tapbridge {

constexpr uint32_t kV2FrameSize = 2048;

// Socket options for this mode, before PACKET_RX_RING; false with *err set.
bool V2Prepare(int fd, int* err);
uint32_t V2Receive(Port* port, const RxBatch& b, bool* more);

}  // namespace tapbridge
