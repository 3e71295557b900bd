// Image normalisation on the device: the loader hands over 8-bit crops (a
// quarter of float32's bytes to upload) and the network's input is made
// where it is used, exactly as the loader's float path computes it
// (train/augment.h warp_normalized): x * (1 / (255 std_c)) - mean_c / std_c
// in float32.
#pragma once
#include <array>

#include "core/tensor.h"

namespace posenet::ops {

// The per-channel affine map of 8-bit values to network inputs.
struct ImageNormalization {
  std::array<float, 3> mul{}, add{};
  // mean and std per RGB channel, on [0, 1] pixel values.
  static ImageNormalization from_mean_std(const std::array<float, 3>& mean, const std::array<float, 3>& std);
};

// pixels [B, H, W, 3] uint8 -> [B, H, W, 3] float32 on the same device:
// out = float(x) * n.mul[c] + n.add[c]. Not differentiable (inputs are data).
Tensor normalize_images(const Tensor& pixels, const ImageNormalization& n);

}  // namespace posenet::ops
