// Batch normalisation over NHWC activations (statistics per channel = the
// last dimension, over every other element), differentiable.
//
// Training: normalises with the batch mean and biased variance, and updates
// running_mean/running_var in place as PyTorch does:
//   running = (1 - momentum) * running + momentum * batch_stat,
// with the unbiased variance (n / (n - 1)) for running_var.
// Eval: normalises with running_mean/running_var.
//
// batch_norm_add_relu fuses y = [ReLU](BN(x) + residual): the tail of every
// ResNet block and of the hourglass's channel-wise plus. residual may be
// undefined (then y = [ReLU](BN(x))); its gradient is the gradient after the
// ReLU mask.
#pragma once
#include "core/tensor.h"

namespace posenet::ops {

struct BatchNormParams {
  bool training = true;
  double momentum = 0.1;
  double eps = 1e-5;
};

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, const BatchNormParams& p);

Tensor batch_norm_add_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                           Tensor& running_var, const BatchNormParams& p, const Tensor& residual, bool relu);

}  // namespace posenet::ops
