// Op table rows: max pooling (kernels/pool.h), with distinct values and with
// ties (the gradient goes to the first maximum in window order).
#include <limits>

#include "kernels/pool.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

using ops::MaxPool2dParams;

// Calls visit(output index, input indices of the window in order) for every output element.
template <typename Visit>
void for_each_window(const Shape& x, const MaxPool2dParams& p, Visit visit) {
  const int64_t N = x[0], H = x[1], W = x[2], C = x[3];
  const int64_t P = (H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1, Q = (W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  std::vector<size_t> window;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < P; ++oh)
      for (int64_t ow = 0; ow < Q; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          window.clear();
          for (int64_t i = 0; i < p.kernel_h; ++i)
            for (int64_t j = 0; j < p.kernel_w; ++j) {
              const int64_t h = oh * p.stride_h - p.pad_h + i, w = ow * p.stride_w - p.pad_w + j;
              if (h >= 0 && h < H && w >= 0 && w < W) window.push_back(size_t(((n * H + h) * W + w) * C + c));
            }
          visit(size_t(((n * P + oh) * Q + ow) * C + c), window);
        }
}

OpCase pool_row(const std::string& label, const Shape& shape, const MaxPool2dParams& p, bool ties) {
  OpCase c;
  c.name = "max_pool2d " + label + (ties ? " ties " : " ") + shape_name(shape);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    const Shape s = size == CaseSize::Perf ? Shape{32, 112, 112, 64} : shape;
    if (!ties) return Inputs{uniform(s, dtype, gen)};
    std::vector<double> v(size_t(shape_numel(s)));
    for (double& e : v) e = double(gen.randint(0, 3));  // many ties
    return Inputs{Tensor::from_data(s, v, DType::F64).to(dtype)};
  };
  c.run = [p](const Inputs& in) { return Inputs{ops::max_pool2d(in[0], p)}; };
  c.reference = [p](const Inputs& in) {
    const auto x = in[0].to_vector();
    std::vector<double> y;
    for_each_window(in[0].shape(), p, [&](size_t o, const std::vector<size_t>& window) {
      double best = -std::numeric_limits<double>::infinity();
      for (size_t i : window) best = std::max(best, x[i]);
      if (y.size() <= o) y.resize(o + 1);
      y[o] = best;
    });
    return HostValues{y};
  };
  c.grad_inputs = {0};
  // Every ordering within a window: a tie is a kink.
  c.kinks = [p](const Inputs& in) {
    const auto x = in[0].to_vector();
    std::vector<double> k;
    for_each_window(in[0].shape(), p, [&](size_t, const std::vector<size_t>& window) {
      for (size_t a = 0; a < window.size(); ++a)
        for (size_t b = a + 1; b < window.size(); ++b) k.push_back(x[window[a]] - x[window[b]]);
    });
    return k;
  };
  c.bytes = [p](const Inputs& in) {
    const Shape& s = in[0].shape();
    const double out = double((s[1] + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1) *
                       double((s[2] + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1) * double(s[0] * s[3]);
    return bytes_of(in) + out * double(dtype_size(in[0].dtype()));
  };
  c.backends = {1e-6, 1e-6};
  return c;
}

}  // namespace

std::vector<OpCase> pool_cases() {
  const std::pair<const char*, MaxPool2dParams> configs[] = {
      {"k3s2p1", MaxPool2dParams::square(3, 2, 1)},
      {"k2s2p0", MaxPool2dParams::square(2, 2, 0)},
      {"k3s1p1", MaxPool2dParams::square(3, 1, 1)},
      {"k3x2s1x2p1x0", {3, 2, 1, 2, 1, 0}},
      {"k5x3s2p2x1", {5, 3, 2, 2, 2, 1}},
  };
  std::vector<OpCase> rows;
  for (const auto& [label, p] : configs) {
    rows.push_back(pool_row(label, {2, 7, 6, 3}, p, false));
    OpCase tied = pool_row(label, {2, 13, 11, 5}, p, true);
    tied.finite_differences = false;
    tied.timed = false;  // ties everywhere: the gradient rule is checked against the CPU
    rows.push_back(tied);
  }
  return rows;
}

}  // namespace posenet::optable
