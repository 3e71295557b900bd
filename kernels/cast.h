// The differentiable dtype conversion of mixed precision: under bfloat16,
// each convolution casts its float32 master weight to bfloat16 once per
// forward, and the heatmaps are cast back to float32 for the loss. The
// backward pass casts the gradient back to the source dtype, so a float32
// parameter accumulates a float32 gradient.
#pragma once
#include "core/tensor.h"

namespace posenet::ops {

// x converted to dtype (float32, float64 or bfloat16); x itself when it
// already has that dtype.
Tensor cast(const Tensor& x, DType dtype);

}  // namespace posenet::ops
