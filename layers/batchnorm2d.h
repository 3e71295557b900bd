// BatchNorm2d: torch.nn.BatchNorm2d over NHWC activations (per channel =
// last dim). weight 1, bias 0, running_mean 0, running_var 1; momentum 0.1,
// eps 1e-5. Training mode normalises with batch statistics and updates the
// running ones; eval mode uses the running ones.
#pragma once
#include <cstdint>
#include <utility>

#include "kernels/batchnorm.h"
#include "layers/module.h"

namespace posenet {

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;
  // y = [ReLU](BN(x) + residual), fused; residual may be undefined.
  Tensor forward_add_relu(const Tensor& x, const Tensor& residual, bool relu);

  int64_t channels() const { return channels_; }
  double eps() const { return eps_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  // Training-mode forward calls, as PyTorch's num_batches_tracked.
  int64_t num_batches_tracked() const { return num_batches_tracked_; }

  // Folded into the convolution before it (layers/fold_batch_norm.h): while
  // set and in eval mode, the forward passes add this bias (and the
  // residual, and apply ReLU) to the convolution's output in place, in one
  // pass. train() drops it.
  void set_folded_bias(Tensor bias) { folded_bias_ = std::move(bias); }
  const Tensor& folded_bias() const { return folded_bias_; }

 protected:
  void on_train(bool on) override {
    if (on) folded_bias_ = Tensor();
  }

 private:
  ops::BatchNormParams params() const;
  int64_t channels_;
  double eps_, momentum_;
  Tensor weight_, bias_, running_mean_, running_var_;
  int64_t num_batches_tracked_ = 0;
  Tensor folded_bias_;
};

}  // namespace posenet
