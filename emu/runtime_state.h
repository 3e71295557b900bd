// State shared by the emulator's runtime API and its launcher.
#pragma once
#include <cstddef>

#include "posenet_emu/api.h"

namespace posenet::emu {

// Records err as the calling thread's last error (cudaGetLastError) and returns it.
cudaError_t record_error(cudaError_t err);
// The dynamic shared memory a launch of kernel may ask for: 48 KiB unless
// raised with cudaFuncSetAttribute(cudaFuncAttributeMaxDynamicSharedMemorySize).
size_t max_dynamic_shared_bytes(const void* kernel);
// True, invalidating every active capture, when a stream is capturing
// (emu/capture.cpp): a synchronous call must then fail with
// cudaErrorStreamCaptureUnsupported, as under CUDA's global capture mode.
bool refuse_during_capture();
// The same for cudaMalloc: allowed to a thread whose capture mode is relaxed
// (cudaThreadExchangeStreamCaptureMode).
bool refuse_allocation_during_capture();

}  // namespace posenet::emu
