#include "train/augment.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace posenet::train {

AugmentParams draw_augmentation(const AugmentConfig& c, Generator& gen) {
  AugmentParams p;
  const double sf = c.scale_factor, rf = c.rotation_factor;
  p.scale_multiplier = std::clamp(gen.normal() * sf + 1.0, 1.0 - sf, 1.0 + sf);
  const double rot = std::clamp(gen.normal() * rf, -2.0 * rf, 2.0 * rf);
  p.rotation_deg = gen.uniform() < c.rotation_prob ? rot : 0.0;
  // The flip coin is drawn even when flipping is off, so turning it off does
  // not shift later draws.
  const bool coin = gen.uniform() < c.flip_prob;
  p.flip = c.flip && coin;
  return p;
}

CropResult crop_geometry(const Sample& sample, int image_width, const AugmentParams& params, const CropConfig& config) {
  CropResult r;
  r.center = sample.center;
  r.scale = sample.scale * params.scale_multiplier;
  Point2 c = sample.center;
  Affine2x3 pre;  // identity, or the mirror of the image
  Joints joints = sample.joints;
  JointWeights weight = sample.weight;
  if (params.flip) {
    pre = Affine2x3::horizontal_flip(image_width);
    c.x = image_width - 1 - c.x;
    for (int j = 0; j < config.keypoints->count(); ++j) {
      const int from = config.keypoints->flip_partner(j);
      joints[size_t(j)] = pre.apply(sample.joints[size_t(from)]);
      weight[size_t(j)] = sample.weight[size_t(from)];
    }
  }
  Affine2x3 crop;
  try {
    crop = eval::get_affine_transform(c, {r.scale, r.scale}, params.rotation_deg, config.input_width,
                                      config.input_height);
  } catch (const Error& e) {
    // Loading bounds every box (train/annotation_checks.h), so this is a
    // setting out of range; name the sample and the numbers all the same.
    const std::string where =
        sample.source.empty() ? sample.image.string()
                              : detail::concat(sample.source, ": entry ", sample.source_index, ": ", sample.image.string());
    throw Error(detail::concat(where, ": cannot map the person box (center (", c.x, ", ", c.y, "), scale ", r.scale,
                               ", rotation ", params.rotation_deg, " degrees) onto the input: ", e.what()));
  }
  r.image_to_input = pre.then(crop);
  for (int j = 0; j < config.keypoints->count(); ++j) {
    r.joints[size_t(j)] = crop.apply(joints[size_t(j)]);
    r.weight[size_t(j)] = weight[size_t(j)];
    if (config.drop_joints_outside_input) {
      const Point2 p = r.joints[size_t(j)];
      if (p.x < 0 || p.y < 0 || p.x >= config.input_width || p.y >= config.input_height) r.weight[size_t(j)] = 0.0f;
    }
  }
  return r;
}

namespace {
// Calls emit(x, y, rgb[3] as float 0..255) for each output pixel, sampling
// the image bilinearly at the inverse-mapped point; outside pixels are 0
// (cv2.warpAffine with INTER_LINEAR and a constant-0 border).
template <typename Emit>
void warp(const Image& image, const Affine2x3& image_to_input, int out_w, int out_h, Emit emit) {
  const Affine2x3 inv = image_to_input.inverse();
  const int W = image.width, H = image.height;
  const uint8_t* px = image.pixels.data();
  const size_t row = size_t(W) * 3;
  for (int y = 0; y < out_h; ++y) {
    // Source position of (0, y), then one step per output column.
    double sx = inv.m[1] * y + inv.m[2], sy = inv.m[4] * y + inv.m[5];
    for (int x = 0; x < out_w; ++x, sx += inv.m[0], sy += inv.m[3]) {
      float rgb[3] = {0, 0, 0};
      if (sx > -1 && sy > -1 && sx < W && sy < H) {
        const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
        const float fx = float(sx - x0), fy = float(sy - y0);
        const float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {  // all four neighbours inside
          const uint8_t* p = px + size_t(y0) * row + size_t(x0) * 3;
          for (int c = 0; c < 3; ++c) rgb[c] = w00 * p[c] + w01 * p[3 + c] + w10 * p[row + c] + w11 * p[row + 3 + c];
        } else {
          const float w[4] = {w00, w01, w10, w11};
          const int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
          for (int k = 0; k < 4; ++k) {
            if (xs[k] < 0 || ys[k] < 0 || xs[k] >= W || ys[k] >= H) continue;
            const uint8_t* p = px + size_t(ys[k]) * row + size_t(xs[k]) * 3;
            for (int c = 0; c < 3; ++c) rgb[c] += w[k] * p[c];
          }
        }
      }
      emit(x, y, rgb);
    }
  }
}
}  // namespace

void warp_normalized(const Image& image, const Affine2x3& image_to_input, const CropConfig& config, float* out) {
  PN_CHECK(!image.empty(), "warp of an empty image");
  const int W = config.input_width;
  float mul[3], add[3];
  for (int c = 0; c < 3; ++c) {
    mul[c] = 1.0f / (255.0f * config.std[size_t(c)]);
    add[c] = -config.mean[size_t(c)] / config.std[size_t(c)];
  }
  warp(image, image_to_input, W, config.input_height, [&](int x, int y, const float* rgb) {
    float* o = out + (size_t(y) * size_t(W) + size_t(x)) * 3;
    for (int c = 0; c < 3; ++c) o[c] = rgb[c] * mul[c] + add[c];
  });
}

void warp_pixels(const Image& image, const Affine2x3& image_to_input, const CropConfig& config, uint8_t* out) {
  PN_CHECK(!image.empty(), "warp of an empty image");
  const int W = config.input_width;
  warp(image, image_to_input, W, config.input_height, [&](int x, int y, const float* rgb) {
    uint8_t* o = out + (size_t(y) * size_t(W) + size_t(x)) * 3;
    for (int c = 0; c < 3; ++c) o[c] = uint8_t(std::clamp(std::lround(rgb[c]), 0L, 255L));
  });
}

Image warp_image(const Image& image, const Affine2x3& image_to_input, int out_width, int out_height) {
  PN_CHECK(!image.empty(), "warp of an empty image");
  Image out(out_width, out_height);
  warp(image, image_to_input, out_width, out_height, [&](int x, int y, const float* rgb) {
    uint8_t* o = out.at(x, y);
    for (int c = 0; c < 3; ++c) o[c] = uint8_t(std::clamp(std::lround(rgb[c]), 0L, 255L));
  });
  return out;
}

}  // namespace posenet::train
