// Backend dispatch for op families: PN_DISPATCH (kernels/op_registry.h)
// picks the kernel registered for a tensor's device; dispatch_float picks
// the scalar type inside a kernel.
#pragma once
#include <string>

#include "core/error.h"
#include "core/tensor.h"
#include "kernels/op_registry.h"

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
