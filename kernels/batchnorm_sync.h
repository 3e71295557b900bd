// Synchronised batch norm: batch statistics over the batches of every
// process of a data-parallel run, so that N processes of batch B normalise
// (and back-propagate) as one process of batch N * B.
//
// While a SyncBatchNormScope is alive on a thread, every training-mode
// ops::batch_norm / batch_norm_add_relu there sums its per-channel sums
// (sum and sum of squares; in backward sum dy and sum dy * xhat) over the
// processes with the scope's function, which the training loop gives (a
// communicator's all-reduce). Every process must run the same layers in the
// same order: each batch norm is one sum forward and one backward.
//
// dweight and dbias stay this process's own (the data-parallel gradient
// average sums them like every other gradient); dx uses the totals, which
// makes it N times the single-process gradient of a mean loss, as the
// gradient average over N processes expects.
#pragma once
#include <functional>

#include "core/tensor.h"
#include "kernels/batchnorm.h"

namespace posenet::ops {

// Sums a float64 tensor in place over every process.
using CrossProcessSum = std::function<void(Tensor&)>;

class SyncBatchNormScope {
 public:
  explicit SyncBatchNormScope(CrossProcessSum sum);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

 private:
  const CrossProcessSum* previous_;
  CrossProcessSum sum_;
};

// The innermost scope's sum on this thread, or nullptr.
const CrossProcessSum* active_batch_norm_sync();

// Training-mode batch_norm_add_relu with statistics summed by `sum`
// (arguments already checked by batch_norm_add_relu).
Tensor sync_batch_norm_add_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                Tensor& running_var, const BatchNormParams& p, const Tensor& residual, bool relu,
                                const CrossProcessSum& sum);

}  // namespace posenet::ops
