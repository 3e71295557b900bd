// Data-parallel training: one process per device, each with its own share
// of every global batch (train/loader.h's shards), kept in step by a
// dist::Communicator.
//
// Per step: the losses are averaged across ranks (the logged loss, and one
// decision on non-finite values for all); the gradients are averaged (sum /
// N) with bucketed all-reduces before the optimizer step, so every rank
// applies the same update to the same weights. Batch norm: with --sync-bn
// its statistics are summed across ranks (kernels/batchnorm_sync.h);
// without, each rank normalises by its own batch and the running
// statistics are averaged across ranks after every step, so they stay
// identical on all ranks (and the checkpoint rank 0 writes holds the mean).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "dist/communicator.h"
#include "kernels/batchnorm_sync.h"
#include "layers/module.h"

namespace posenet::train {

class DataParallel {
 public:
  // 25 MiB buckets, as PyTorch's DistributedDataParallel.
  static constexpr int64_t kDefaultBucketBytes = int64_t(25) << 20;

  DataParallel(dist::Communicator& comm, bool sync_bn, int64_t bucket_bytes = kDefaultBucketBytes);

  dist::Communicator& comm() const { return comm_; }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  bool sync_bn() const { return sync_bn_; }

  // values[i] := the mean of values[i] over the ranks.
  void average(std::vector<double>& values);
  // The step's losses := their means over the ranks.
  void average_losses(double& loss, std::vector<double>& stage_losses);
  // True on every rank when `flag` is true on any.
  bool any(bool flag);
  // loss.backward(), with every defined gradient of params := its mean over
  // the ranks. Gradients join buckets of about bucket_bytes as the backward
  // pass completes them (the same order on every rank: the same graph); a
  // full bucket is packed and its all-reduce started at once, overlapping
  // the rest of the backward pass; all are waited for at the end.
  void backward(const Tensor& loss, const std::vector<Tensor>& params);
  // The same average after a backward pass (no overlap), buckets taken in
  // reverse parameter order.
  void average_gradients(const std::vector<Tensor>& params);
  // Every floating-point buffer (batch norm's running statistics) := its
  // mean over the ranks.
  void average_buffers(const Module& model);
  // While alive, training-mode batch norm sums its statistics across ranks.
  std::unique_ptr<ops::SyncBatchNormScope> sync_batch_norm_scope();

 private:
  // Each tensor := its mean over the ranks, in place, bucket by bucket.
  void average_in_buckets(const std::vector<Tensor>& tensors);
  class Buckets;

  dist::Communicator& comm_;
  bool sync_bn_;
  int64_t bucket_bytes_;
};

}  // namespace posenet::train
