// The deconvolution decoder of Simple Baselines, optionally with the
// hourglass's lateral "channel-wise plus" (the paper's Fig. 1):
//   x = C5
//   for i in 1..3:
//     y = BN_i(deconv_i(x))                  deconv: 4x4, stride 2, padding 1, no bias
//     y = y + lateral_bn_i(lateral_i(C))      with laterals: C = C4, C3, C2 (1x1, no bias)
//     x = ReLU(y)
//   P = x   ([N, H/4, W/4, channels])
// Names: deconv{1,2,3}, deconv_bn{1,2,3}, lateral{1,2,3}, lateral_bn{1,2,3}.
// Init: deconvolutions and laterals N(0, 0.001) (Simple Baselines' deconv
// init; the laterals follow it, a BN comes after each), BN weight 1, bias 0.
#pragma once
#include <array>
#include <memory>

#include "core/rng.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/module.h"

namespace posenet::models {

class DeconvDecoder : public Module {
 public:
  // encoder_channels: C2..C5 channels; laterals read C4, C3, C2.
  DeconvDecoder(const std::array<int64_t, 4>& encoder_channels, int64_t channels, bool laterals, Generator& gen);

  // features: C2..C5.
  Tensor forward_features(const std::array<Tensor, 4>& features);

  int64_t channels() const { return channels_; }
  bool has_laterals() const { return laterals_; }

 private:
  int64_t channels_;
  bool laterals_;
  std::array<std::shared_ptr<ConvTranspose2d>, 3> deconv_;
  std::array<std::shared_ptr<BatchNorm2d>, 3> deconv_bn_;
  std::array<std::shared_ptr<Conv2d>, 3> lateral_;
  std::array<std::shared_ptr<BatchNorm2d>, 3> lateral_bn_;
};

// The 1x1 convolution (with bias) from P to J heatmaps, N(0, 0.001) weights
// and bias 0 (Simple Baselines' final layer).
std::shared_ptr<Conv2d> make_heatmap_head(int64_t channels, int joints, Generator& gen);

}  // namespace posenet::models
