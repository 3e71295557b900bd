// Weight initialisation from a Generator, so a seed gives the same weights on
// every machine. Values are drawn in PyTorch's element order (the exported
// layout), then stored in posenet's layout.
#pragma once
#include <cstdint>

#include "core/rng.h"
#include "core/tensor.h"
#include "layers/module.h"

namespace posenet::init {

// Fills w (a handle: the caller's tensor changes) with N(0, stddev^2) drawn in the order of its PyTorch layout.
void normal_(Tensor w, TorchLayout layout, double stddev, Generator& gen);

// torch.nn.init.kaiming_normal_(mode='fan_out', nonlinearity='relu'):
// std = sqrt(2 / fan_out), fan_out = size(0) * receptive field of the
// PyTorch-layout weight (out_channels * kh * kw for a convolution).
void kaiming_normal_fan_out_(Tensor w, TorchLayout layout, Generator& gen);

}  // namespace posenet::init
