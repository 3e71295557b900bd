// Elementwise and reduction kernels: the signatures every backend implements
// (kernels/op_registry.h). Inputs and outputs share shape, dtype and device.
#pragma once
#include "core/tensor.h"
#include "kernels/op_registry.h"

// relu_backward: dx = dy where y > 0 (y is relu's output; the kink at 0 has
// gradient 0). sum_forward: out has one element. fill_like_scalar: out[:] =
// the one-element scalar.
#define PN_ELEMENTWISE_KERNELS(X)                                  \
  X(add_forward, (const Tensor& a, const Tensor& b, Tensor& out))  \
  X(mul_forward, (const Tensor& a, const Tensor& b, Tensor& out))  \
  X(relu_forward, (const Tensor& x, Tensor& y))                    \
  X(relu_backward, (const Tensor& y, const Tensor& dy, Tensor& dx)) \
  X(scale_forward, (const Tensor& x, double factor, Tensor& y))    \
  X(sum_forward, (const Tensor& x, Tensor& out))                   \
  X(fill_like_scalar, (const Tensor& scalar, Tensor& out))

PN_DECLARE_KERNELS(PN_ELEMENTWISE_KERNELS)
