// Backend dispatch for op families. Each family has a dispatching header
// (kernels/<family>.h: the differentiable ops), CPU kernels in
// kernels/cpu/<family>.{h,cpp} and CUDA kernels in kernels/cuda/<family>.{h,cu}.
// PN_DISPATCH(device, fn, args...) calls cpu::fn or cuda::fn by device; a
// CUDA call runs with that device current (core/cuda_device.h), so kernels
// for cuda:N go to device N and its stream.
#pragma once
#include <string>

#include "core/cuda_device.h"
#include "core/error.h"
#include "core/tensor.h"

namespace posenet::kernels {
[[noreturn]] inline void no_cuda(const char* fn) {
  PN_FAIL(fn, ": CUDA tensor, but this posenet was built without the CUDA backend");
}
}  // namespace posenet::kernels

#ifdef POSENET_WITH_CUDA
#define PN_DISPATCH(device, fn, ...)                                   \
  do {                                                                 \
    if ((device).is_cpu()) {                                           \
      ::posenet::kernels::cpu::fn(__VA_ARGS__);                        \
    } else {                                                           \
      const ::posenet::CudaDeviceScope pn_device_scope_(device);       \
      ::posenet::kernels::cuda::fn(__VA_ARGS__);                       \
    }                                                                  \
  } while (0)
#else
#define PN_DISPATCH(device, fn, ...)                         \
  do {                                                       \
    if ((device).is_cpu()) ::posenet::kernels::cpu::fn(__VA_ARGS__);  \
    else ::posenet::kernels::no_cuda(#fn);                   \
  } while (0)
#endif

namespace posenet::kernels {
// Calls fn(scalar) with a float or double tag by dtype; CPU kernels compute
// in the storage type (16-bit types are GPU-only). Usage:
//   dispatch_float(x.dtype(), "relu", [&](auto tag) { using T = decltype(tag); ... });
template <typename Fn>
decltype(auto) dispatch_float(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::F32: return fn(float{});
    case DType::F64: return fn(double{});
    default: PN_FAIL(op, ": dtype ", dtype_name(dtype), " is not supported by this kernel");
  }
}
}  // namespace posenet::kernels
