// conv + bias + residual add + ReLU for inference: the epilogue that follows
// a convolution whose batch norm was folded into its weights and a bias
// (layers/fold_batch_norm.h). Not differentiable: inputs that require a
// gradient are refused while grad mode is on (training keeps the unfolded
// batch norm).
#pragma once
#include "core/tensor.h"

namespace posenet::ops {

// y = [ReLU](y + bias[c] [+ residual]) over NHWC y [..., C], in place, and
// returned. bias [C]; residual undefined or y's shape.
Tensor& conv_bias_residual_relu_(Tensor& y, const Tensor& bias, const Tensor& residual, bool relu);

}  // namespace posenet::ops
