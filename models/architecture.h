// The shapes of the networks, independent of any tensor: ResNet depth tables
// (torchvision's), channel widths at a width multiplier, and the output
// channels of each encoder level. models/ builds modules from these and
// models/info.cpp counts parameters and work from them, so both agree.
#pragma once
#include <array>
#include <cstdint>

namespace posenet::models {

struct ResNetArch {
  int depth = 0;
  bool bottleneck = false;        // Bottleneck (expansion 4) or BasicBlock (1)
  std::array<int, 4> blocks{};    // blocks in layer1..layer4
  int expansion() const { return bottleneck ? 4 : 1; }
};

// torchvision's resnet18/34/50/101/152; throws posenet::Error for any other.
ResNetArch resnet_arch(int depth);
bool is_supported_depth(int depth);

// Channels at a width multiplier: round(c * width) with ties to even (as
// Python's round, so the PyTorch reference agrees), at least 1.
int64_t scaled_channels(int64_t channels, double width);

// Stem output channels (64 at full width) and the "planes" of layer1..4.
inline int64_t stem_channels(double width) { return scaled_channels(64, width); }
int64_t layer_planes(int layer, double width);  // layer in 1..4
// Output channels of C2..C5 (layer1..layer4), index 0 = C2.
std::array<int64_t, 4> encoder_channels(const ResNetArch& arch, double width);

}  // namespace posenet::models
