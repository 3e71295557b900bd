// The Gaussian heatmap-target rule (Simple Baselines' generate_target), as
// pure math shared by the trainer's per-sample targets (train/targets.cpp),
// the batched target op and the fused loss (kernels/targets.h), on the host
// and in CUDA kernels. One rule in one place keeps the three bit-identical.
//
// For a joint at input pixel (x, y) and stride (input / heatmap size) per axis:
//   mu = trunc(x / stride + 0.5)                  (int() in SB)
//   r  = floor(3 sigma), window [mu - r, mu + r]^2, clipped to the map
//   value exp(-((x - mu_x)^2 + (y - mu_y)^2) / (2 sigma^2)) in the window, 0 outside.
// A joint is visible when its weight > 0, its centre is finite and the
// window of the cut-off sigma (the smallest sigma of a multi-stage set)
// overlaps the map; invisible joints get weight 0 and an empty map.
#pragma once
#include <cmath>

#if defined(__CUDACC__)
#define PN_HOST_DEVICE __host__ __device__
#else
#define PN_HOST_DEVICE
#endif

namespace posenet::kernels {

struct GaussianCentre {
  int x = 0, y = 0;
  bool visible = false;
};

PN_HOST_DEVICE inline int gaussian_radius(double sigma) { return int(floor(3 * sigma)); }

PN_HOST_DEVICE inline bool gaussian_finite(double v) {
#if defined(__CUDA_ARCH__)
  return isfinite(v);
#else
  return std::isfinite(v);
#endif
}

// Centre of joint (x, y) on a width x height map; visible as defined above,
// with cutoff_radius = gaussian_radius(cut-off sigma).
PN_HOST_DEVICE inline GaussianCentre gaussian_centre(double x, double y, double weight, double stride_x,
                                                     double stride_y, int cutoff_radius, int width, int height) {
  GaussianCentre c;
  if (!(weight > 0)) return c;
  const double fx = trunc(x / stride_x + 0.5), fy = trunc(y / stride_y + 0.5);
  if (!gaussian_finite(fx) || !gaussian_finite(fy) || fx + cutoff_radius < 0 || fy + cutoff_radius < 0 ||
      fx - cutoff_radius >= width || fy - cutoff_radius >= height)
    return c;
  c.x = int(fx);
  c.y = int(fy);
  c.visible = true;
  return c;
}

// Target value at map pixel (px, py) for a visible centre c; 0 outside the
// window of radius r. inv_two_sigma2 = 1 / (2 sigma^2).
PN_HOST_DEVICE inline double gaussian_value(int px, int py, GaussianCentre c, int r, double inv_two_sigma2) {
  const int dx = px - c.x, dy = py - c.y;
  if (!c.visible || dx < -r || dx > r || dy < -r || dy > r) return 0.0;
  const double d2 = double(dx) * dx + double(dy) * dy;
  return exp(-d2 * inv_two_sigma2);
}

}  // namespace posenet::kernels
