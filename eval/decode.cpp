#include "eval/decode.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "eval/keypoint_set.h"

namespace posenet::eval {

namespace {

Tensor as_cpu_f32(const Tensor& t, const char* what) {
  PN_CHECK(t.defined(), what, ": heatmaps tensor is undefined");
  PN_CHECK(t.ndim() == 4, what, ": heatmaps must be [N, H, W, J], got ", t.str());
  Tensor c = t.is_cpu() ? t : t.to(Device::cpu());
  return c.dtype() == DType::F32 ? c : c.to(DType::F32);
}

struct Dims {
  int64_t n, h, w, j;
  explicit Dims(const Tensor& t) : n(t.dim(0)), h(t.dim(1)), w(t.dim(2)), j(t.dim(3)) {}
  int64_t index(int64_t b, int64_t y, int64_t x, int64_t c) const { return ((b * h + y) * w + x) * j + c; }
};

DecodedJoints make_decoded(const Dims& d) {
  DecodedJoints out;
  out.batch = d.n;
  out.joints = d.j;
  out.coords.assign(size_t(d.n * d.j), Point2{});
  out.maxvals.assign(size_t(d.n * d.j), 0.0f);
  return out;
}

double sign(double v) { return double(v > 0) - double(v < 0); }

}  // namespace

DecodedJoints argmax_joints(const Tensor& heatmaps) {
  const Tensor hm = as_cpu_f32(heatmaps, "argmax_joints");
  const Dims d(hm);
  PN_CHECK(d.h > 0 && d.w > 0, "argmax_joints: empty heatmaps ", hm.str());
  const float* p = hm.data<float>();
  DecodedJoints out = make_decoded(d);
  for (int64_t b = 0; b < d.n; ++b)
    for (int64_t c = 0; c < d.j; ++c) {
      // First maximum in row-major order, like numpy's argmax.
      int64_t best = 0;
      float best_v = p[d.index(b, 0, 0, c)];
      for (int64_t k = 1; k < d.h * d.w; ++k) {
        const float v = p[d.index(b, k / d.w, k % d.w, c)];
        if (v > best_v) best_v = v, best = k;
      }
      const bool positive = best_v > 0.0f;
      out.at(b, c) = positive ? Point2{double(best % d.w), double(best / d.w)} : Point2{0.0, 0.0};
      out.maxvals[size_t(b * d.j + c)] = best_v;
    }
  return out;
}

DecodedJoints decode_quarter_offset(const Tensor& heatmaps) {
  const Tensor hm = as_cpu_f32(heatmaps, "decode_quarter_offset");
  const Dims d(hm);
  const float* p = hm.data<float>();
  DecodedJoints out = argmax_joints(hm);
  for (int64_t b = 0; b < d.n; ++b)
    for (int64_t c = 0; c < d.j; ++c) {
      Point2& q = out.at(b, c);
      const int64_t px = int64_t(std::floor(q.x + 0.5));
      const int64_t py = int64_t(std::floor(q.y + 0.5));
      if (1 < px && px < d.w - 1 && 1 < py && py < d.h - 1) {
        const double dx = double(p[d.index(b, py, px + 1, c)]) - double(p[d.index(b, py, px - 1, c)]);
        const double dy = double(p[d.index(b, py + 1, px, c)]) - double(p[d.index(b, py - 1, px, c)]);
        q.x += 0.25 * sign(dx);
        q.y += 0.25 * sign(dy);
      }
    }
  return out;
}

std::vector<double> opencv_gaussian_kernel(int k) {
  PN_CHECK(k >= 1 && k % 2 == 1, "Gaussian kernel size must be odd and positive, got ", k);
  switch (k) {  // OpenCV's fixed small kernels for sigma <= 0
    case 1: return {1.0};
    case 3: return {0.25, 0.5, 0.25};
    case 5: return {0.0625, 0.25, 0.375, 0.25, 0.0625};
    case 7: return {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125};
    default: break;
  }
  const double sigma = ((k - 1) * 0.5 - 1) * 0.3 + 0.8;
  std::vector<double> w(static_cast<size_t>(k));
  double sum = 0;
  for (int i = 0; i < k; ++i) {
    const double x = i - (k - 1) * 0.5;
    w[size_t(i)] = std::exp(-x * x / (2 * sigma * sigma));
    sum += w[size_t(i)];
  }
  for (double& v : w) v /= sum;
  return w;
}

SecondMaxRule parse_second_max_rule(const std::string& name) {
  if (name == "mspn") return SecondMaxRule::kQuarterTowardsSecond;
  if (name == "paper") return SecondMaxRule::kPaperMix;
  throw InputError(detail::concat("unknown second-maximum rule '", name, "' (mspn or paper)"));
}

const char* second_max_rule_name(SecondMaxRule rule) {
  return rule == SecondMaxRule::kPaperMix ? "paper" : "mspn";
}

DecodedJoints decode_second_max(const Tensor& heatmaps, const SecondMaxOptions& options) {
  const Tensor hm = as_cpu_f32(heatmaps, "decode_second_max");
  const Dims d(hm);
  PN_CHECK(d.h > 0 && d.w > 0 && d.h * d.w >= 2, "decode_second_max: heatmaps too small ", hm.str());
  PN_CHECK(options.border >= 0, "decode_second_max: border must be >= 0");
  const int k = options.blur_kernel <= 1 ? 1 : options.blur_kernel;
  const std::vector<double> kernel = opencv_gaussian_kernel(k);
  const int radius = k / 2;
  const float* p = hm.data<float>();
  const int64_t B = options.border, PH = d.h + 2 * B, PW = d.w + 2 * B;
  DecodedJoints out = make_decoded(d);
  // Maps are independent: one per iteration, each thread with its buffers.
#pragma omp parallel if (d.n * d.j > 1)
  {
    std::vector<double> padded(size_t(PH * PW)), tmp(size_t(PH * PW));
#pragma omp for schedule(static)
    for (int64_t bc = 0; bc < d.n * d.j; ++bc) {
      const int64_t b = bc / d.j, c = bc % d.j;
      std::fill(padded.begin(), padded.end(), 0.0);
      for (int64_t y = 0; y < d.h; ++y)
        for (int64_t x = 0; x < d.w; ++x) padded[size_t((y + B) * PW + x + B)] = p[d.index(b, y, x, c)];
      if (k > 1) {
        // Separable blur. Outside the padded map we read zeros; with a border
        // of at least twice the radius (10 >= 8 for k = 9) this equals
        // OpenCV's reflected border, which only ever reflects padding zeros.
        for (int64_t y = 0; y < PH; ++y)
          for (int64_t x = 0; x < PW; ++x) {
            double s = 0;
            for (int t = -radius; t <= radius; ++t) {
              const int64_t xx = x + t;
              if (xx >= 0 && xx < PW) s += kernel[size_t(t + radius)] * padded[size_t(y * PW + xx)];
            }
            tmp[size_t(y * PW + x)] = s;
          }
        for (int64_t y = 0; y < PH; ++y)
          for (int64_t x = 0; x < PW; ++x) {
            double s = 0;
            for (int t = -radius; t <= radius; ++t) {
              const int64_t yy = y + t;
              if (yy >= 0 && yy < PH) s += kernel[size_t(t + radius)] * tmp[size_t(yy * PW + x)];
            }
            padded[size_t(y * PW + x)] = s;
          }
      }
      auto argmax = [&] {
        size_t best = 0;
        for (size_t i = 1; i < padded.size(); ++i)
          if (padded[i] > padded[best]) best = i;
        return best;
      };
      const size_t first = argmax();
      padded[first] = 0.0;
      const size_t second = argmax();
      const double x1 = double(int64_t(first) % PW - B), y1 = double(int64_t(first) / PW - B);
      const double x2 = double(int64_t(second) % PW - B), y2 = double(int64_t(second) / PW - B);
      double x = x1, y = y1;
      if (options.rule == SecondMaxRule::kQuarterTowardsSecond) {
        const double len = std::hypot(x2 - x1, y2 - y1);
        if (len > 1e-3) {
          x += 0.25 * (x2 - x1) / len;
          y += 0.25 * (y2 - y1) / len;
        }
      } else {
        x = 0.25 * x1 + 0.75 * x2;
        y = 0.25 * y1 + 0.75 * y2;
      }
      x = std::clamp(x, 0.0, double(d.w - 1));
      y = std::clamp(y, 0.0, double(d.h - 1));
      out.at(b, c) = {x, y};
      out.maxvals[size_t(b * d.j + c)] = p[d.index(b, int64_t(std::lround(y)), int64_t(std::lround(x)), c)];
    }
  }
  return out;
}

void to_image_coordinates(DecodedJoints& decoded, const std::vector<Point2>& centers,
                          const std::vector<Point2>& scales, int heatmap_w, int heatmap_h) {
  PN_CHECK(int64_t(centers.size()) == decoded.batch && int64_t(scales.size()) == decoded.batch,
           "to_image_coordinates: ", decoded.batch, " persons but ", centers.size(), " centers and ", scales.size(),
           " scales");
  for (int64_t b = 0; b < decoded.batch; ++b) {
    const Affine2x3 inv = get_affine_transform(centers[size_t(b)], scales[size_t(b)], 0.0, heatmap_w, heatmap_h,
                                               /*inverse=*/true);
    for (int64_t j = 0; j < decoded.joints; ++j) decoded.at(b, j) = inv.apply(decoded.at(b, j));
  }
}

Predictions to_mpii_predictions(const DecodedJoints& decoded) {
  PN_CHECK(decoded.joints == kMpiiJointCount, "to_mpii_predictions: expected ", kMpiiJointCount, " joints, got ",
           decoded.joints);
  Predictions preds(size_t(decoded.batch));
  for (int64_t b = 0; b < decoded.batch; ++b)
    for (int j = 0; j < kMpiiJointCount; ++j) preds[size_t(b)][j] = {decoded.at(b, j).x + 1.0, decoded.at(b, j).y + 1.0};
  return preds;
}

const std::vector<std::pair<int, int>>& mpii_flip_pairs() { return mpii_keypoint_set().flip_pairs; }

Tensor flip_heatmaps(const Tensor& heatmaps, const std::vector<std::pair<int, int>>& pairs) {
  const Tensor hm = as_cpu_f32(heatmaps, "flip_heatmaps");
  const Dims d(hm);
  std::vector<int64_t> source(size_t(d.j));
  for (int64_t c = 0; c < d.j; ++c) source[size_t(c)] = c;
  for (auto [a, b] : pairs) {
    PN_CHECK(a >= 0 && b >= 0 && a < d.j && b < d.j, "flip_heatmaps: flip pair (", a, ", ", b, ") out of range for ",
             d.j, " joints");
    source[size_t(a)] = b;
    source[size_t(b)] = a;
  }
  Tensor out = Tensor::empty(hm.shape(), DType::F32);
  const float* p = hm.data<float>();
  float* o = out.data<float>();
  for (int64_t b = 0; b < d.n; ++b)
    for (int64_t y = 0; y < d.h; ++y)
      for (int64_t x = 0; x < d.w; ++x)
        for (int64_t c = 0; c < d.j; ++c) o[d.index(b, y, x, c)] = p[d.index(b, y, d.w - 1 - x, source[size_t(c)])];
  return out;
}

Tensor shift_heatmaps_right(const Tensor& heatmaps) {
  const Tensor hm = as_cpu_f32(heatmaps, "shift_heatmaps_right");
  const Dims d(hm);
  Tensor out = Tensor::empty(hm.shape(), DType::F32);
  const float* p = hm.data<float>();
  float* o = out.data<float>();
  for (int64_t b = 0; b < d.n; ++b)
    for (int64_t y = 0; y < d.h; ++y)
      for (int64_t x = 0; x < d.w; ++x)
        for (int64_t c = 0; c < d.j; ++c) o[d.index(b, y, x, c)] = p[d.index(b, y, x == 0 ? 0 : x - 1, c)];
  return out;
}

Tensor flip_test_average(const Tensor& heatmaps, const Tensor& heatmaps_of_flipped_input, bool shift,
                         const std::vector<std::pair<int, int>>& pairs) {
  const Tensor a = as_cpu_f32(heatmaps, "flip_test_average");
  PN_CHECK(a.shape() == heatmaps_of_flipped_input.shape(), "flip_test_average: shapes differ: ", a.str(), " vs ",
           heatmaps_of_flipped_input.str());
  Tensor back = flip_heatmaps(heatmaps_of_flipped_input, pairs);
  if (shift) back = shift_heatmaps_right(back);
  Tensor out = Tensor::empty(a.shape(), DType::F32);
  const float* pa = a.data<float>();
  const float* pb = back.data<float>();
  float* o = out.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i) o[i] = (pa[i] + pb[i]) * 0.5f;
  return out;
}

}  // namespace posenet::eval
