// Checked CUDA runtime calls: a failure throws posenet::Error naming the call,
// the file and the line. Include only from .cu files or CUDA-only sources.
#pragma once
#include <cuda_runtime.h>

#include "core/error.h"

#define PN_CUDA_CHECK(call)                                                                         \
  do {                                                                                              \
    cudaError_t pn_err_ = (call);                                                                   \
    if (pn_err_ != cudaSuccess)                                                                     \
      throw ::posenet::Error(::posenet::detail::concat("CUDA error ", cudaGetErrorName(pn_err_), " (", \
                                                       cudaGetErrorString(pn_err_), ") in ", #call,    \
                                                       " at ", __FILE__, ":", __LINE__));           \
  } while (0)

// After a kernel launch: reports launch-configuration errors at the launch site.
#define PN_CUDA_CHECK_LAUNCH() PN_CUDA_CHECK(cudaGetLastError())

namespace posenet {
// The stream all posenet work on a device is queued on.
cudaStream_t current_stream(int device_index = -1);
}  // namespace posenet
