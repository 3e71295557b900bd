// Max-pool kernels: the signatures every backend implements
// (kernels/op_registry.h). NHWC. argmax holds, per output element, the index
// h * W + w of the winning input position within its image plane (as
// PyTorch's indices), int32; argmax may be null when no gradient is needed.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/op_registry.h"
#include "kernels/pool.h"

// max_pool2d_backward: dx (zeroed here) receives each dy at its argmax.
#define PN_POOL_KERNELS(X)                                                                              \
  X(max_pool2d_forward, (const Tensor& x, const ops::MaxPool2dParams& p, Tensor& y, int32_t* argmax))   \
  X(max_pool2d_backward, (const Tensor& dy, const int32_t* argmax, const ops::MaxPool2dParams& p, Tensor& dx))

PN_DECLARE_KERNELS(PN_POOL_KERNELS)
