#pragma once
#include "core/tensor.h"

namespace posenet::kernels::cuda {
void batch_norm_train_stats(const Tensor& x, double eps, double momentum, Tensor& mean, Tensor& invstd,
                            Tensor& running_mean, Tensor& running_var);
void batch_norm_eval_stats(const Tensor& running_mean, const Tensor& running_var, double eps, Tensor& mean,
                           Tensor& invstd);
void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                      const Tensor& bias, const Tensor& residual, bool relu, Tensor& y);
void batch_norm_backward(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,
                         const Tensor& invstd, const Tensor& weight, bool relu, bool training, Tensor& dx,
                         Tensor& dweight, Tensor& dbias, Tensor& dresidual);
}  // namespace posenet::kernels::cuda
