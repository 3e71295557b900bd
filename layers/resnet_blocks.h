// ResNet's residual blocks exactly as torchvision.models.resnet (v1.5):
// same submodule names (conv1, bn1, conv2, bn2[, conv3, bn3], downsample.0,
// downsample.1), same stride placement (on the 3x3 conv of Bottleneck), no
// conv biases, so torchvision checkpoints load by name.
//
// The downsample branch (1x1 conv with the block's stride + BN) exists when
// stride != 1 or inplanes != planes * expansion, which is the condition of
// torchvision's _make_layer for the first block of a stage.
#pragma once
#include <cstdint>
#include <memory>

#include "core/rng.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/module.h"
#include "layers/sequential.h"

namespace posenet {

// torchvision's conv3x3 / conv1x1 helpers (no bias).
std::shared_ptr<Conv2d> conv3x3(int64_t in, int64_t out, int stride, Generator& gen);
std::shared_ptr<Conv2d> conv1x1(int64_t in, int64_t out, int stride, Generator& gen);

class BasicBlock : public Module {
 public:
  static constexpr int64_t expansion = 1;
  BasicBlock(int64_t inplanes, int64_t planes, int stride, Generator& gen);
  // relu(bn1(conv1 x)) -> bn2(conv2 .) + identity -> relu
  Tensor forward(const Tensor& x) override;
  int64_t out_channels() const { return planes_ * expansion; }

  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<Sequential> downsample;  // null when the identity fits

 private:
  int64_t planes_;
};

class Bottleneck : public Module {
 public:
  static constexpr int64_t expansion = 4;
  Bottleneck(int64_t inplanes, int64_t planes, int stride, Generator& gen);
  // 1x1 -> 3x3 (stride) -> 1x1 (planes * 4), BN + ReLU between; the last BN
  // adds the identity and applies ReLU.
  Tensor forward(const Tensor& x) override;
  int64_t out_channels() const { return planes_ * expansion; }

  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<Sequential> downsample;

 private:
  int64_t planes_;
};

}  // namespace posenet
