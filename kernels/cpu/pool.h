// Max-pool CPU kernels (NHWC). argmax holds, per output element, the index
// h * W + w of the winning input position within its image plane (as
// PyTorch's indices), int32; argmax may be null when no gradient is needed.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/pool.h"

namespace posenet::kernels::cpu {
void max_pool2d_forward(const Tensor& x, const ops::MaxPool2dParams& p, Tensor& y, int32_t* argmax);
// dx (zeroed here) receives each dy at its argmax.
void max_pool2d_backward(const Tensor& dy, const int32_t* argmax, const ops::MaxPool2dParams& p, Tensor& dx);
}  // namespace posenet::kernels::cpu
