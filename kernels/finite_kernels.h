// Non-finite flag kernels: the signatures every backend implements
// (kernels/op_registry.h).
#pragma once
#include "core/tensor.h"
#include "kernels/op_registry.h"

// flag_non_finite: flag[0] = 1 when some element of x is NaN or +-inf
// (flag float32, one element; x float32 or float64); else flag unchanged.
#define PN_FINITE_KERNELS(X) X(flag_non_finite, (const Tensor& x, const Tensor& flag))

PN_DECLARE_KERNELS(PN_FINITE_KERNELS)
