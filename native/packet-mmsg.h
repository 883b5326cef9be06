// AF_PACKET receive without a ring: recvmmsg straight into the slab's slots,
// readiness-driven (the socket wakes the loop on every frame, so an idle
// uplink forwards at once), batched under load (one call drains up to a
// whole batch). Also the V2 ring's path for frames larger than its slots.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "port.h"

namespace tapbridge {

// Per-port receive scratch (message headers, iovecs, control buffers),
// allocated at the first receive, sized to the batch; freed by MmsgFree.
struct MmsgRx;

// Sets the socket options this mode needs (PACKET_AUXDATA, for the VLAN tag
// the kernel strips). False with *err set when the kernel refuses.
bool MmsgPrepare(int fd, int* err);
uint32_t MmsgReceive(Port* port, const RxBatch& b, bool* more);
void MmsgFree(Port* port);

// One frame from the socket's queue into `slot`, laid out as MmsgReceive
// lays frames out; false when none came or it was dropped (counted).
bool MmsgReceiveOne(int fd, uint8_t* slot, uint32_t slotSize, uint32_t* offset, uint32_t* length, double* stats);
// Completes a received message in its slot: re-inserts the tag from
// PACKET_AUXDATA, or closes the tag hole; sets the frame's offset in the
// slot and its length. False (counted in rxDropped) when truncated or runt.
bool MmsgFinish(uint8_t* slot, uint32_t slotSize, uint32_t got, bool truncated, const struct msghdr* h, uint32_t* offset,
                uint32_t* length, double* stats);

}  // namespace tapbridge
