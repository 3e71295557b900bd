// Batch-norm kernels: the signatures every backend implements
// (kernels/op_registry.h). x is viewed as [rows, C] (NHWC flattened), the
// per-channel tensors are [C] in compute_dtype(x) (float32 for bfloat16 x,
// x's dtype otherwise; core/dtype.h).
#pragma once
#include "core/tensor.h"
#include "kernels/op_registry.h"

// batch_norm_train_stats: batch mean and invstd = 1 / sqrt(biased var +
//   eps); running_mean and running_var are updated in place with momentum
//   and the unbiased variance.
// batch_norm_eval_stats: mean = running_mean, invstd = 1 / sqrt(running_var + eps).
// batch_norm_apply: y = [ReLU]((x - mean) * invstd * weight + bias
//   [+ residual]); residual may be undefined.
// batch_norm_backward: with g = relu ? dy * (y > 0) : dy and xhat = (x -
//   mean) * invstd, writes each output that is defined: dbias = sum g,
//   dweight = sum g * xhat, dresidual = g, and dx (training: through the
//   batch statistics; eval: g * weight * invstd). y is read only when relu
//   is set.
#define PN_BATCHNORM_KERNELS(X)                                                                           \
  X(batch_norm_train_stats, (const Tensor& x, double eps, double momentum, Tensor& mean, Tensor& invstd,  \
                             Tensor& running_mean, Tensor& running_var))                                  \
  X(batch_norm_eval_stats, (const Tensor& running_mean, const Tensor& running_var, double eps, Tensor& mean, \
                            Tensor& invstd))                                                              \
  X(batch_norm_apply, (const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,   \
                       const Tensor& bias, const Tensor& residual, bool relu, Tensor& y))                 \
  X(batch_norm_backward, (const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,         \
                          const Tensor& invstd, const Tensor& weight, bool relu, bool training, Tensor& dx, \
                          Tensor& dweight, Tensor& dbias, Tensor& dresidual))

PN_DECLARE_KERNELS(PN_BATCHNORM_KERNELS)
