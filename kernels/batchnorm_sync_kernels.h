// Batch-norm kernels split around a cross-process sum (sync-BN,
// kernels/batchnorm_sync.h): each computes this process's per-channel sums,
// the caller adds them over every process, and the second kernel of each
// pair finishes with the totals. x is viewed as [rows, C]; sums are float64
// on x's device, the per-channel tensors [C] of x's dtype.
#pragma once
#include "core/tensor.h"
#include "kernels/op_registry.h"

// batch_norm_shifted_sums: sums [2C + 1] = (sum over rows of x - shift,
//   sum of (x - shift)^2, rows). The shift (the running mean, the same on
//   every process) keeps sq - s^2/n from cancelling when a channel's mean is
//   large against its spread.
// batch_norm_stats_from_sums: from the summed sums (with the same shift, the
//   running mean as it is before this call): mean, invstd = 1 / sqrt(biased
//   var + eps), and running_mean/running_var updated in place with momentum
//   and the unbiased variance.
// batch_norm_backward_sums: with g = relu ? dy * (y > 0) : dy and xhat =
//   (x - mean) * invstd, sums [2C + 1] = (sum g, sum g * xhat, rows); this process's
//   dbias and dweight (the same two sums, in x's dtype) where defined.
// batch_norm_backward_from_sums: from the summed sums (count = their last
//   element, the rows of every process): dx = weight * invstd * (g - sum_g / count - xhat * sum_gx / count),
//   dresidual = g, each where defined.
#define PN_BATCHNORM_SYNC_KERNELS(X)                                                                        \
  X(batch_norm_shifted_sums, (const Tensor& x, const Tensor& shift, Tensor& sums))                           \
  X(batch_norm_stats_from_sums, (const Tensor& sums, double eps, double momentum, Tensor& mean,             \
                                 Tensor& invstd, Tensor& running_mean, Tensor& running_var))                \
  X(batch_norm_backward_sums, (const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,      \
                               const Tensor& invstd, bool relu, Tensor& sums, Tensor& dweight, Tensor& dbias)) \
  X(batch_norm_backward_from_sums, (const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean, \
                                    const Tensor& invstd, const Tensor& weight, const Tensor& sums, bool relu, \
                                    Tensor& dx, Tensor& dresidual))

PN_DECLARE_KERNELS(PN_BATCHNORM_SYNC_KERNELS)
