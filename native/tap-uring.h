// TAP I/O through io_uring: a batch of reads, or a port's share of a
// transmitted batch, in ONE io_uring_enter instead of one readv/writev per
// frame. Opt-in (TAPBRIDGE_TAP_IO=uring): it saves the calls but not the
// CPU (tap-uring.cc has the figures).
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "port.h"

namespace tapbridge {

// True when TAP I/O goes through io_uring (asked for, and the ring could be set up).
bool TapUringEnabled();

// Reads frames into slots 0.. as TapReceive does, in one submission.
uint32_t TapUringReceive(Port* port, const RxBatch& b, bool* more);

// Writes msgs[0..count-1] (their msg_iov/msg_iovlen) to fd in one
// submission; results[i] is writev's return for message i (or -errno).
void TapUringWrite(int fd, const struct mmsghdr* msgs, uint32_t count, int32_t* results);

}  // namespace tapbridge
