// Op table rows: the optimizer steps (kernels/optim.h), several parameters
// per step (the multi-tensor kernels), three steps, one parameter without a
// gradient at the second step. Outputs: every parameter, then its buffers.
#include <cmath>
#include <memory>

#include "kernels/optim.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

constexpr int kSteps = 3;
const SGDOptions kSgd{0.1, 0.9, 1e-4, true};
const AdamOptions kAdam{1e-2, 0.9, 0.999, 1e-8, 1e-4};

bool has_grad(int step, size_t param) { return !(step == 1 && param == 2); }

// inputs: n parameters, then kSteps * n gradients (step-major).
OpCase optim_row(const std::string& name, bool adam, const std::vector<Shape>& shapes) {
  OpCase c;
  c.name = name;
  c.bf16 = false;  // master weights and optimizer state stay float32
  const size_t n = shapes.size();
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    std::vector<Shape> s = shapes;
    if (size == CaseSize::Perf) s = {{25'000'000}, {512, 3, 3, 512}, {2048}};
    Inputs in;
    for (int k = 0; k <= kSteps; ++k)
      for (const Shape& shape : s) in.push_back(uniform(shape, dtype, gen));
    return in;
  };
  c.run = [=](const Inputs& in) {
    const size_t count = in.size() / (kSteps + 1);
    std::vector<Tensor> params(in.begin(), in.begin() + long(count));
    std::unique_ptr<Optimizer> opt;
    if (adam) opt = std::make_unique<Adam>(params, kAdam);
    else opt = std::make_unique<SGD>(params, kSgd);
    for (int t = 0; t < kSteps; ++t) {
      for (size_t i = 0; i < count; ++i) params[i].set_grad(has_grad(t, i) ? in[(size_t(t) + 1) * count + i] : Tensor());
      opt->step();
    }
    Inputs out = params;
    const auto state = opt->state();
    for (size_t i = 0; i < count; ++i) {
      if (adam) {
        out.push_back(state.at("exp_avg." + std::to_string(i)));
        out.push_back(state.at("exp_avg_sq." + std::to_string(i)));
      } else {
        out.push_back(state.at("momentum_buffer." + std::to_string(i)));
      }
    }
    return out;
  };
  // torch.optim's single-tensor formulas, element by element.
  c.reference = [=](const Inputs& in) {
    HostValues params, buffers;
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> p = in[i].to_vector(), m(p.size(), 0.0), v(p.size(), 0.0);
      int taken = 0;
      for (int t = 0; t < kSteps; ++t) {
        if (!has_grad(t, i)) {
          if (adam) ++taken;  // Adam's step count is global
          continue;
        }
        const std::vector<double> g0 = in[(size_t(t) + 1) * n + i].to_vector();
        ++taken;
        for (size_t e = 0; e < p.size(); ++e) {
          if (adam) {
            const double g = g0[e] + kAdam.weight_decay * p[e];
            m[e] = m[e] + (1 - kAdam.beta1) * (g - m[e]);
            v[e] = v[e] * kAdam.beta2 + (1 - kAdam.beta2) * g * g;
            const double step_size = kAdam.lr / (1 - std::pow(kAdam.beta1, taken));
            const double denom = std::sqrt(v[e]) / std::sqrt(1 - std::pow(kAdam.beta2, taken)) + kAdam.eps;
            p[e] -= step_size * m[e] / denom;
          } else {
            double g = g0[e] + kSgd.weight_decay * p[e];
            m[e] = t == 0 ? g : m[e] * kSgd.momentum + g;
            g = kSgd.nesterov ? g + kSgd.momentum * m[e] : m[e];
            p[e] -= kSgd.lr * g;
          }
        }
      }
      params.push_back(p);
      buffers.push_back(m);
      if (adam) buffers.push_back(v);
    }
    params.insert(params.end(), buffers.begin(), buffers.end());
    return params;
  };
  c.bytes = [=](const Inputs& in) {
    const size_t count = in.size() / (kSteps + 1);
    double b = 0;
    for (size_t i = 0; i < count; ++i) b += bytes_of({in[i]});
    return b * (adam ? 7.0 : 5.0) * kSteps;  // param, grad, buffers read; param, buffers written
  };
  c.flops = [=](const Inputs& in) {
    const size_t count = in.size() / (kSteps + 1);
    double e = 0;
    for (size_t i = 0; i < count; ++i) e += double(in[i].numel());
    return e * (adam ? 12.0 : 6.0) * kSteps;
  };
  c.f32 = {1e-6, 1e-5};
  c.backends = {1e-6, 1e-5};
  return c;
}

}  // namespace

std::vector<OpCase> optim_cases() {
  const std::vector<Shape> few{{3, 3, 4, 5}, {7}, {6}, {100}};
  // Chunk boundaries inside and across parameters, and more parameters
  // than one CUDA launch's table holds (320).
  std::vector<Shape> many{{3, 3, 16, 32}, {32}, {32}, {10000}, {1}, {8193}};
  for (int i = 0; i < 330; ++i) many.push_back({1 + i % 7});
  std::vector<OpCase> rows{optim_row("sgd nesterov 4 params", false, few), optim_row("adam 4 params", true, few),
                          optim_row("sgd nesterov 336 params", false, many), optim_row("adam 336 params", true, many)};
  rows[2].timed = rows[3].timed = false;
  return rows;
}

}  // namespace posenet::optable
