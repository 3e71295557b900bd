// ConvTranspose2d: torch.nn.ConvTranspose2d over NHWC activations with a
// [Cin, R, S, Cout] weight (exported to checkpoints as [Cin, Cout, R, S]).
// Initialised with kaiming_normal_(mode='fan_out') computed as PyTorch does
// on its weight (fan_out = Cin * k * k); the bias, if any, 0. Models that
// want another init (Simple Baselines: N(0, 0.001)) call init::normal_.
#pragma once
#include <cstdint>
#include <utility>

#include "core/rng.h"
#include "kernels/conv.h"
#include "layers/module.h"

namespace posenet {

struct ConvTranspose2dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int kernel_size = 1;
  int stride = 1;
  int padding = 0;
  int output_padding = 0;
  int dilation = 1;
  bool bias = true;  // as torch.nn.ConvTranspose2d
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(const ConvTranspose2dOptions& options, Generator& gen);
  Tensor forward(const Tensor& x) override;  // [N, H, W, in] -> [N, Ho, Wo, out]

  const ConvTranspose2dOptions& options() const { return options_; }
  const Tensor& weight() const { return weight_; }  // [in, k, k, out]
  const Tensor& bias() const { return bias_; }      // [out] or undefined

  // Inference with the next batch norm folded in (layers/fold_batch_norm.h):
  // while set and in eval mode, forward convolves with this weight and no
  // bias, the batch norm adding the folded bias. train() drops it.
  void set_folded_weight(Tensor weight) { folded_weight_ = std::move(weight); }
  const Tensor& folded_weight() const { return folded_weight_; }

 protected:
  void on_train(bool on) override {
    if (on) folded_weight_ = Tensor();
  }

 private:
  ConvTranspose2dOptions options_;
  Tensor weight_, bias_;
  Tensor folded_weight_;
};

}  // namespace posenet
