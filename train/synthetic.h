// Built-in synthetic pose data: articulated, human-like figures with MPII's
// 16 joints drawn over cluttered backgrounds, written as JPEG images with
// MPII-layout annotations (annot/train.json, annot/valid.json) and the PCKh
// ground truth of the validation split (annot/gt_valid.mat).
//
// Design for learnability: every limb segment has its own strong colour
// (upper and lower limb differ, so joints sit at colour changes; the right
// side is warm, the left side cool, so a wrist can be traced to its
// shoulder), the torso and head are distinct, clutter is low-saturation.
// Figures face the viewer (eyes on the head), with the right side on the
// image left in the body frame, so horizontal flips with joint swapping are
// consistent with the unflipped data.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "train/dataset.h"
#include "train/image.h"

namespace posenet::train {

struct SyntheticFigure {
  Image image;
  Joints joints{};      // 0-based pixels
  HeadBox headbox;      // axis-aligned box of the head ellipse, 0-based
  Point2 box_center;    // center of the figure's extent, 0-based
  double box_size = 0;  // larger side of the figure's extent, pixels
};

// Renders one figure; a pure function of (seed, index, size).
SyntheticFigure render_synthetic_figure(uint64_t seed, uint64_t index, int size);

// Bumped whenever the rendering changes, so that data rendered by an older
// build is rendered again (train/synthetic_cache.h).
inline constexpr int kSyntheticRendererVersion = 1;

struct SyntheticConfig {
  int count = 1000;      // images in total
  int val_count = -1;    // of which in the validation split; -1 = 10%
  uint64_t seed = 0;
  int size = 128;        // square image side, pixels
  int jpeg_quality = 92;
};

struct SyntheticSummary {
  int train = 0, val = 0;
  std::filesystem::path train_json, valid_json, gt_mat;
};

// Writes out/images/{train,valid}_NNNNNN.jpg and the annotations; the JSON
// uses the real MPII valid.json conventions (1-based center and joints,
// scale = box size / 200 with the center raised by 15*scale so that the
// standard load-time adjustment recentres it). Deterministic for a seed.
SyntheticSummary write_synthetic_dataset(const std::filesystem::path& out, const SyntheticConfig& config);

}  // namespace posenet::train
