#include "train/targets.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/gaussian_rule.h"

namespace posenet::train {

void gaussian_targets(const Joints& joints, const JointWeights& weight, const std::vector<double>& sigmas,
                      const HeatmapGeometry& g, const std::vector<float*>& out, float* weight_out) {
  PN_CHECK(!sigmas.empty() && sigmas.size() == out.size(), "gaussian_targets: ", sigmas.size(), " sigmas for ",
           out.size(), " outputs");
  const int W = g.heatmap_width, H = g.heatmap_height, K = g.joints;
  PN_CHECK(W > 0 && H > 0 && g.input_width > 0 && g.input_height > 0, "gaussian_targets: bad geometry");
  PN_CHECK(K > 0 && K <= kMaxJoints, "gaussian_targets: ", K, " joints (at most ", kMaxJoints, ")");
  const double stride_x = double(g.input_width) / W, stride_y = double(g.input_height) / H;
  double min_sigma = sigmas[0];
  for (double s : sigmas) {
    PN_CHECK(s > 0 && std::isfinite(s), "gaussian_targets: sigma must be positive, got ", s);
    min_sigma = std::min(min_sigma, s);
  }
  for (float* o : out) std::memset(o, 0, sizeof(float) * size_t(W) * size_t(H) * size_t(K));
  const int r_min = kernels::gaussian_radius(min_sigma);
  for (int j = 0; j < K; ++j) {
    const Point2 p = joints[size_t(j)];
    const kernels::GaussianCentre c =
        kernels::gaussian_centre(p.x, p.y, double(weight[size_t(j)]), stride_x, stride_y, r_min, W, H);
    weight_out[j] = c.visible ? 1.0f : 0.0f;
    if (!c.visible) continue;
    for (size_t s = 0; s < sigmas.size(); ++s) {
      const double sigma = sigmas[s];
      const int r = kernels::gaussian_radius(sigma);
      const double inv = 1.0 / (2 * sigma * sigma);
      const int x0 = std::max(c.x - r, 0), x1 = std::min(c.x + r, W - 1);
      const int y0 = std::max(c.y - r, 0), y1 = std::min(c.y + r, H - 1);
      float* o = out[s];
      for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x)
          o[(size_t(y) * size_t(W) + size_t(x)) * size_t(K) + size_t(j)] = float(kernels::gaussian_value(x, y, c, r, inv));
    }
  }
}

ops::GaussianTargetSpec stage_target_spec(const HeatmapGeometry& g, const std::vector<double>& sigmas, size_t stage) {
  PN_CHECK(stage < sigmas.size(), "stage_target_spec: stage ", stage, " of ", sigmas.size(), " sigmas");
  ops::GaussianTargetSpec spec;
  spec.height = g.heatmap_height;
  spec.width = g.heatmap_width;
  spec.stride_x = double(g.input_width) / g.heatmap_width;
  spec.stride_y = double(g.input_height) / g.heatmap_height;
  spec.sigma = sigmas[stage];
  spec.cutoff_sigma = *std::min_element(sigmas.begin(), sigmas.end());
  spec.validate();
  return spec;
}

void SigmaSchedule::validate() const {
  PN_CHECK(!start.empty(), "sigma schedule: no stages");
  for (double s : start) PN_CHECK(s > 0 && std::isfinite(s), "sigma schedule: sigma must be positive, got ", s);
  if (!end.empty()) {
    PN_CHECK(end.size() == start.size(), "sigma schedule: ", start.size(), " start sigmas but ", end.size(),
             " final sigmas");
    for (double s : end) PN_CHECK(s > 0 && std::isfinite(s), "sigma schedule: sigma must be positive, got ", s);
  }
}

std::vector<double> SigmaSchedule::at_epoch(int epoch) const {
  validate();
  if (end.empty() || epochs <= 1) return start;
  const double t = double(std::clamp(epoch, 0, epochs - 1)) / double(epochs - 1);
  std::vector<double> out(start.size());
  for (size_t i = 0; i < start.size(); ++i) out[i] = start[i] + (end[i] - start[i]) * t;
  return out;
}

SigmaSchedule SigmaSchedule::constant(int stages, double sigma) {
  PN_CHECK(stages > 0, "sigma schedule: need at least one stage");
  SigmaSchedule s;
  s.start.assign(size_t(stages), sigma);
  s.validate();
  return s;
}

SigmaSchedule SigmaSchedule::arithmetic(int stages, double first, double last) {
  PN_CHECK(stages > 0, "sigma schedule: need at least one stage");
  SigmaSchedule s;
  s.start.resize(size_t(stages));
  for (int i = 0; i < stages; ++i)
    s.start[size_t(i)] = stages == 1 ? last : first + (last - first) * double(i) / double(stages - 1);
  s.validate();
  return s;
}

}  // namespace posenet::train
