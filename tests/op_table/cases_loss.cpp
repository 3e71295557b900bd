// Op table rows: the weighted heatmap MSE (kernels/loss.h) and the fused
// Gaussian-target loss and targets (kernels/targets.h).
#include <cmath>
#include <sstream>

#include "kernels/loss.h"
#include "kernels/targets.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

// 0.5 * mean((w * pred - w * target)^2), pred/target [N, H, W, J], w [N, J].
double naive_weighted_mse(const std::vector<double>& pred, const std::vector<double>& target,
                          const std::vector<double>& w, const Shape& shape) {
  const size_t J = size_t(shape[3]), per_image = size_t(shape[1] * shape[2]) * J;
  double s = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    const double wi = w[(i / per_image) * J + i % J];
    const double d = wi * pred[i] - wi * target[i];
    s += d * d;
  }
  return 0.5 * s / double(pred.size());
}

OpCase weighted_mse_row(const Shape& shape, bool zero_weights) {
  OpCase c;
  c.name = std::string("weighted_mse ") + (zero_weights ? "some zero weights " : "") + shape_name(shape);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    const Shape s = size == CaseSize::Perf ? Shape{32, 64, 48, 17} : shape;
    Tensor w = uniform({s[0], s[3]}, DType::F64, gen, 0.0, 2.0);
    if (zero_weights) w.data<double>()[1] = 0.0;
    return Inputs{uniform(s, dtype, gen), uniform(s, dtype, gen), w.to(dtype)};
  };
  c.run = [](const Inputs& in) { return Inputs{ops::weighted_mse(in[0], in[1], in[2])}; };
  c.reference = [](const Inputs& in) {
    return HostValues{{naive_weighted_mse(in[0].to_vector(), in[1].to_vector(), in[2].to_vector(), in[0].shape())}};
  };
  c.grad_inputs = {0};
  c.bytes = [](const Inputs& in) { return bytes_of(in); };
  c.flops = [](const Inputs& in) { return 5.0 * double(in[0].numel()); };
  c.backends = {1e-6, 1e-5};
  return c;
}

// The target rule written out: centre mu = trunc(x / stride + 0.5), window
// radius r = floor(3 sigma), visible when weight > 0, the centre finite and
// the cut-off window overlapping the map.
struct NaiveTargets {
  std::vector<double> maps, weights;
};
NaiveTargets naive_targets(const std::vector<double>& joints, const std::vector<double>& weight, int64_t B, int64_t J,
                           const ops::GaussianTargetSpec& spec) {
  const int H = spec.height, W = spec.width;
  NaiveTargets t;
  t.maps.assign(size_t(B * H * W * J), 0.0);
  t.weights.assign(size_t(B * J), 0.0);
  const int r = int(std::floor(3 * spec.sigma)), rc = int(std::floor(3 * spec.cutoff()));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < J; ++j) {
      const size_t bj = size_t(b * J + j);
      const double mx = std::trunc(joints[2 * bj] / spec.stride_x + 0.5);
      const double my = std::trunc(joints[2 * bj + 1] / spec.stride_y + 0.5);
      const bool visible = weight[bj] > 0 && std::isfinite(mx) && std::isfinite(my) && mx + rc >= 0 && my + rc >= 0 &&
                           mx - rc < W && my - rc < H;
      if (!visible) continue;
      t.weights[bj] = 1.0;
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          if (std::abs(x - mx) <= r && std::abs(y - my) <= r)
            t.maps[size_t(((b * H + y) * W + x) * J + j)] =
                std::exp(-((x - mx) * (x - mx) + (y - my) * (y - my)) / (2 * spec.sigma * spec.sigma));
    }
  return t;
}

ops::GaussianTargetSpec spec_of(int height, int width, double stride, double sigma, double cutoff_sigma) {
  ops::GaussianTargetSpec spec;
  spec.height = height, spec.width = width, spec.stride_x = stride, spec.stride_y = stride;
  spec.sigma = sigma, spec.cutoff_sigma = cutoff_sigma;
  return spec;
}

std::string spec_name(const ops::GaussianTargetSpec& s) {
  std::ostringstream os;
  os << s.height << "x" << s.width << " sigma " << s.sigma << " cutoff " << s.cutoff();
  return os.str();
}

// joints [B, J, 2] in input pixels: inside, near the border and outside the
// map; weight [B, J] with zeros.
Inputs make_joints(DType dtype, int64_t B, int64_t J, const ops::GaussianTargetSpec& spec, Generator& gen) {
  std::vector<double> joints(size_t(B * J * 2)), weight(size_t(B * J));
  for (size_t i = 0; i < weight.size(); ++i) {
    joints[2 * i] = gen.uniform(-12.0, spec.width * spec.stride_x + 12.0);
    joints[2 * i + 1] = gen.uniform(-12.0, spec.height * spec.stride_y + 12.0);
    weight[i] = gen.uniform(0.0, 1.0) < 0.2 ? 0.0 : 1.0;
  }
  return {Tensor::from_data({B, J, 2}, joints, DType::F64).to(dtype), Tensor::from_data({B, J}, weight, DType::F64).to(dtype)};
}

// Perf runs a batch of 32 at the row's map size.
constexpr int64_t kPerfBatch = 32;

OpCase targets_row(int64_t B, int64_t J, const ops::GaussianTargetSpec& spec) {
  OpCase c;
  c.name = "gaussian_targets " + std::to_string(B) + "x" + std::to_string(J) + " " + spec_name(spec);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    return make_joints(dtype, size == CaseSize::Perf ? kPerfBatch : B, J, spec, gen);
  };
  c.run = [=](const Inputs& in) {
    auto t = ops::gaussian_targets(in[0], in[1], spec);
    return Inputs{t.maps, t.weights};
  };
  c.reference = [=](const Inputs& in) {
    auto t = naive_targets(in[0].to_vector(), in[1].to_vector(), in[0].dim(0), in[0].dim(1), spec);
    return HostValues{t.maps, t.weights};
  };
  c.bytes = [=](const Inputs& in) {
    return double(in[0].dim(0) * in[0].dim(1) * spec.height * spec.width) * double(dtype_size(in[0].dtype()));
  };
  c.f32 = {1e-6, 1e-5};  // exp in float32 of the centre offsets
  c.backends = {1e-7, 1e-6};  // device exp may differ from the host's in the last bit
  return c;
}

OpCase gaussian_mse_row(int64_t B, int64_t J, const ops::GaussianTargetSpec& spec) {
  OpCase c;
  c.name = "gaussian_weighted_mse " + std::to_string(B) + "x" + std::to_string(J) + " " + spec_name(spec);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    const int64_t b = size == CaseSize::Perf ? kPerfBatch : B;
    Inputs in{uniform({b, spec.height, spec.width, J}, dtype, gen, 0.0, 1.0)};
    for (Tensor& t : make_joints(dtype, b, J, spec, gen)) in.push_back(t);
    return in;
  };
  c.run = [=](const Inputs& in) { return Inputs{ops::gaussian_weighted_mse(in[0], in[1], in[2], spec)}; };
  c.reference = [=](const Inputs& in) {
    auto t = naive_targets(in[1].to_vector(), in[2].to_vector(), in[1].dim(0), in[1].dim(1), spec);
    return HostValues{{naive_weighted_mse(in[0].to_vector(), t.maps, t.weights, in[0].shape())}};
  };
  c.grad_inputs = {0};
  c.bytes = [](const Inputs& in) { return bytes_of({in[0]}); };
  c.flops = [](const Inputs& in) { return 8.0 * double(in[0].numel()); };
  c.backends = {1e-7, 1e-5};
  return c;
}

}  // namespace

std::vector<OpCase> loss_cases() {
  std::vector<OpCase> rows{weighted_mse_row({2, 3, 4, 5}, false), weighted_mse_row({2, 4, 3, 3}, true)};
  OpCase big = weighted_mse_row({4, 64, 48, 17}, true);  // the former CUDA parity shape
  big.finite_differences = false;
  rows[1].timed = big.timed = false;
  rows.push_back(big);
  return rows;
}

std::vector<OpCase> targets_cases() {
  const auto small = spec_of(12, 10, 4.0, 1.5, 0.0);
  std::vector<OpCase> rows{targets_row(2, 5, small), gaussian_mse_row(2, 5, small)};
  rows[0].timed = rows[1].timed = false;
  // The trainer's geometries (the former CUDA parity suite): a 48x64 map
  // with sigma and cut-off variants, and 64x64; no finite differences at
  // this size (the small row covers the gradient).
  for (auto [sigma, cutoff] : std::vector<std::pair<double, double>>{{2, 2}, {3, 2}, {2.5, 2.5}})
    rows.push_back(targets_row(4, 16, spec_of(64, 48, 4.0, sigma, cutoff)));
  OpCase big = gaussian_mse_row(4, 16, spec_of(64, 64, 4.0, 2.0, 2.0));
  big.finite_differences = false;
  rows.push_back(big);
  return rows;
}

}  // namespace posenet::optable
