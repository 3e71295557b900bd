// [n, s, c] (channels last) <-> [n, c, s] (channels first) copies on CUDA,
// s the flattened spatial extent: NHWC <-> NCHW for activations, KRSC <->
// KCRS for filters. dst has src's element count and dtype.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace posenet::kernels::cuda {

void to_channels_first(const Tensor& src, Tensor& dst, int64_t S, int64_t C);
void to_channels_last(const Tensor& src, Tensor& dst, int64_t S, int64_t C);

}  // namespace posenet::kernels::cuda
