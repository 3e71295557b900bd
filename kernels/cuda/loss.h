#pragma once
#include "core/tensor.h"

namespace posenet::kernels::cuda {
void weighted_mse_forward(const Tensor& pred, const Tensor& target, const Tensor& weight, Tensor& out);
void weighted_mse_backward(const Tensor& pred, const Tensor& target, const Tensor& weight, const Tensor& grad,
                           Tensor& dpred);
}  // namespace posenet::kernels::cuda
