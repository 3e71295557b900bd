// Transfers that do not make the host wait, for a training step that queues
// its work and reads its results one step late.
//
// On CUDA both go through pinned host memory and the device's one stream:
// an upload is staged in one of a ring of pinned slots (so the caller's
// buffer may be reused at once) and copied asynchronously; a readback is
// copied into one of two pinned slots (double-buffered: the host reads one
// step's values while the next step's are on their way). On the CPU they
// are plain copies.
#pragma once
#include <cstddef>

#include "core/device.h"

namespace posenet {

// Copies bytes from host_src to dst (device memory of `device`) in stream
// order, without waiting for the copy. The host waits (counted in
// host_syncs) only when the staging slot it takes is still being copied
// from, which a training step that reads its results one step late never
// meets. Counted in h2d_bytes.
void upload_async(Device device, void* dst, const void* host_src, size_t bytes);

// The number of readback slots: slot = step % kReadbackSlots.
inline constexpr int kReadbackSlots = 2;

// Queues a copy of `bytes` of device memory at src into readback slot
// `slot`, after all work queued so far on the device. Does not wait.
void readback_async(Device device, int slot, const void* src, size_t bytes);

// Waits for slot's queued copy (one host sync on CUDA, none on the CPU) and
// returns its bytes; they stay valid until the slot's next readback_async.
const void* readback_wait(Device device, int slot);

}  // namespace posenet
