// Dtype conversion kernels: the signatures every backend implements
// (kernels/op_registry.h).
#pragma once
#include "core/tensor.h"
#include "kernels/op_registry.h"

// cast_copy: dst = src converted to dst's dtype (same shape and device;
//   float32, float64 and bfloat16 either side; into bfloat16 rounds to
//   nearest even, from float64 through float32 as core/dtype.h).
#define PN_CAST_KERNELS(X) X(cast_copy, (const Tensor& src, Tensor& dst))

PN_DECLARE_KERNELS(PN_CAST_KERNELS)
