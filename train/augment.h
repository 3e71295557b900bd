// The crop and augmentation of one sample: random scale, rotation and
// horizontal flip (Simple Baselines' recipe), an affine warp of the image to
// the network input, written as normalised float NHWC, and the joints mapped
// by the same affine.
#pragma once
#include <array>

#include "core/rng.h"
#include "train/dataset.h"
#include "train/image.h"

namespace posenet::train {

struct AugmentConfig {
  double scale_factor = 0.25;      // s *= clip(N(0,1)*sf + 1, 1-sf, 1+sf)
  double rotation_factor = 30.0;   // r = clip(N(0,1)*rf, -2rf, 2rf) degrees ...
  double rotation_prob = 0.6;      // ... with this probability, else 0
  bool flip = true;
  double flip_prob = 0.5;
};

struct CropConfig {
  int input_width = 256;
  int input_height = 256;
  // ImageNet statistics in RGB order, on [0, 1] pixel values.
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  // MSPN's rule: a joint whose transformed position falls outside the input
  // gets weight 0. Off by default: SB keeps it unless its whole Gaussian
  // window is off the heatmap (see targets.h), which the targets enforce.
  bool drop_joints_outside_input = false;
  // The samples' keypoints: how many, and the pairs a flip swaps.
  const eval::KeypointSet* keypoints = &eval::mpii_keypoint_set();
};

// The random draw for one sample (identity for evaluation).
struct AugmentParams {
  double scale_multiplier = 1.0;
  double rotation_deg = 0.0;
  bool flip = false;
};

// Draws in a fixed order (scale, rotation coin, rotation, flip coin), so a
// sample's parameters depend only on the generator's stream.
AugmentParams draw_augmentation(const AugmentConfig& config, Generator& gen);

struct CropResult {
  Affine2x3 image_to_input;  // original image pixels -> input pixels (flip included)
  Point2 center;             // the crop center in original pixels (before any flip)
  double scale = 1.0;        // after the random scale
  Joints joints{};           // in input pixels, flip pairs already swapped
  JointWeights weight{};
};

// The affine and joints for a sample under params (SB's order: scale,
// rotation, flip; the flip mirrors the image with x -> W - 1 - x, swaps the
// left/right joints and mirrors the center).
CropResult crop_geometry(const Sample& sample, int image_width, const AugmentParams& params, const CropConfig& config);

// Warps image by the affine (bilinear, zero padding) into out, a
// [input_height, input_width, 3] float buffer normalised with mean/std.
void warp_normalized(const Image& image, const Affine2x3& image_to_input, const CropConfig& config, float* out);
// The same warp stored as 8-bit pixels (rounded to nearest, saturated) into
// out, a [input_height, input_width, 3] buffer: what training uploads,
// normalised on the device (ops::normalize_images with config's mean/std
// gives warp_normalized of the rounded values).
void warp_pixels(const Image& image, const Affine2x3& image_to_input, const CropConfig& config, uint8_t* out);
// The same, into an 8-bit image (for visualisation and tests).
Image warp_image(const Image& image, const Affine2x3& image_to_input, int out_width, int out_height);

}  // namespace posenet::train
