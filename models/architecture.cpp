#include "models/architecture.h"

#include <cmath>

#include "core/error.h"

namespace posenet::models {

bool is_supported_depth(int depth) {
  return depth == 18 || depth == 34 || depth == 50 || depth == 101 || depth == 152;
}

ResNetArch resnet_arch(int depth) {
  switch (depth) {
    case 18: return {18, false, {2, 2, 2, 2}};
    case 34: return {34, false, {3, 4, 6, 3}};
    case 50: return {50, true, {3, 4, 6, 3}};
    case 101: return {101, true, {3, 4, 23, 3}};
    case 152: return {152, true, {3, 8, 36, 3}};
    default: PN_FAIL("unsupported ResNet depth ", depth, " (supported: 18, 34, 50, 101, 152)");
  }
}

int64_t scaled_channels(int64_t channels, double width) {
  PN_CHECK(width > 0 && std::isfinite(width), "width multiplier must be positive, got ", width);
  // nearbyint rounds ties to even in the default rounding mode, as Python's round().
  const double scaled = std::nearbyint(double(channels) * width);
  return scaled < 1 ? 1 : int64_t(scaled);
}

int64_t layer_planes(int layer, double width) {
  PN_ASSERT(layer >= 1 && layer <= 4);
  return scaled_channels(int64_t(64) << (layer - 1), width);
}

std::array<int64_t, 4> encoder_channels(const ResNetArch& arch, double width) {
  std::array<int64_t, 4> out{};
  for (int i = 0; i < 4; ++i) out[size_t(i)] = layer_planes(i + 1, width) * arch.expansion();
  return out;
}

}  // namespace posenet::models
