// ResNet encoder as torchvision defines it (v1.5: the stride of a Bottleneck
// is on its 3x3 convolution), without avgpool and fc, at a width multiplier,
// with torchvision's parameter names (conv1, bn1, layer1.0.conv1, ...,
// layer2.0.downsample.0, ...), so ImageNet checkpoints load into it.
//
// with_stem = false drops conv1/bn1/max-pool: the later stages of the
// multi-stage network start at layer1, whose input then has stem_channels().
#pragma once
#include <array>
#include <memory>
#include <optional>

#include "core/rng.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/max_pool2d.h"
#include "layers/module.h"
#include "layers/sequential.h"
#include "models/architecture.h"

namespace posenet::models {

class ResNetEncoder : public Module {
 public:
  // Weights initialised as torchvision: convolutions kaiming_normal (fan_out,
  // relu), BN weight 1 and bias 0.
  ResNetEncoder(int depth, double width, bool with_stem, Generator& gen);

  // conv1 -> bn1 -> ReLU -> 3x3/2 max-pool: [N, H, W, 3] -> [N, H/4, W/4, stem].
  Tensor forward_stem(const Tensor& image);
  // Mixed precision: conv1 runs in the image's dtype (float32: 3 input
  // channels suit no bfloat16 tensor-core kernel, and it is a small part
  // of the work) and its output is cast to `dtype`, the dtype of every
  // later activation. nullopt: no cast.
  void set_stem_output_dtype(std::optional<DType> dtype) { stem_output_dtype_ = dtype; }
  // layer1..layer4 on the stem output (or X_s): C2..C5 at 1/4 .. 1/32.
  std::array<Tensor, 4> forward_layers(const Tensor& x);
  // Both (requires the stem).
  std::array<Tensor, 4> forward_features(const Tensor& image) { return forward_layers(forward_stem(image)); }
  // C5 (Module's single-output forward).
  Tensor forward(const Tensor& image) override { return forward_features(image)[3]; }

  const ResNetArch& arch() const { return arch_; }
  double width() const { return width_; }
  bool has_stem() const { return with_stem_; }
  int64_t stem_channels() const { return stem_channels_; }
  // Output channels of C2..C5.
  const std::array<int64_t, 4>& out_channels() const { return out_channels_; }

 private:
  ResNetArch arch_;
  double width_;
  bool with_stem_;
  int64_t stem_channels_;
  std::array<int64_t, 4> out_channels_{};
  std::shared_ptr<Conv2d> conv1_;
  std::shared_ptr<BatchNorm2d> bn1_;
  std::shared_ptr<MaxPool2d> maxpool_;
  std::array<std::shared_ptr<Sequential>, 4> layers_;
  std::optional<DType> stem_output_dtype_;
};

}  // namespace posenet::models
