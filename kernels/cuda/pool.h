#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/pool.h"

namespace posenet::kernels::cuda {
void max_pool2d_forward(const Tensor& x, const ops::MaxPool2dParams& p, Tensor& y, int32_t* argmax);
// Gathers per input element (no atomics: deterministic); needs the window geometry.
void max_pool2d_backward(const Tensor& dy, const int32_t* argmax, const ops::MaxPool2dParams& p, Tensor& dx);
}  // namespace posenet::kernels::cuda
