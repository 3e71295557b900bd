// Op table rows: elementwise ops and the sum reduction (kernels/elementwise.h).
#include "kernels/elementwise.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

// A row for out = f(inputs...) elementwise over `arity` inputs of one shape.
OpCase elementwise_row(const std::string& op, const Shape& test_shape, const Shape& perf_shape, int arity,
                       std::function<Tensor(const Inputs&)> f, std::function<double(const double*)> naive,
                       bool away_from_zero = false) {
  OpCase c;
  c.name = op + " " + shape_name(test_shape);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    Inputs in;
    const Shape& shape = size == CaseSize::Perf ? perf_shape : test_shape;
    for (int k = 0; k < arity; ++k)
      in.push_back(away_from_zero ? uniform_away_from_zero(shape, dtype, gen) : uniform(shape, dtype, gen));
    return in;
  };
  c.run = [f](const Inputs& in) { return Inputs{f(in)}; };
  c.reference = [=](const Inputs& in) {
    std::vector<std::vector<double>> v;
    for (const Tensor& t : in) v.push_back(t.to_vector());
    std::vector<double> out(v[0].size());
    double args[4];
    for (size_t i = 0; i < out.size(); ++i) {
      for (int k = 0; k < arity; ++k) args[k] = v[size_t(k)][i];
      out[i] = naive(args);
    }
    return HostValues{out};
  };
  for (int k = 0; k < arity; ++k) c.grad_inputs.push_back(size_t(k));
  c.bytes = [arity](const Inputs& in) { return bytes_of(in) * double(arity + 1) / double(arity); };
  c.flops = [](const Inputs& in) { return double(in[0].numel()); };
  return c;
}

}  // namespace

std::vector<OpCase> elementwise_cases() {
  const Shape small{2, 3, 4, 5}, perf{32, 64, 64, 64};
  std::vector<OpCase> rows;
  rows.push_back(elementwise_row(
      "add", small, perf, 2, [](const Inputs& in) { return ops::add(in[0], in[1]); },
      [](const double* a) { return a[0] + a[1]; }));
  // 77 elements: the CUDA kernels' 16-byte packs and the scalar tail after them.
  OpCase add_tail = elementwise_row(
      "add", {7, 11}, perf, 2, [](const Inputs& in) { return ops::add(in[0], in[1]); },
      [](const double* a) { return a[0] + a[1]; });
  add_tail.timed = false;
  rows.push_back(add_tail);
  rows.push_back(elementwise_row(
      "mul", small, perf, 2, [](const Inputs& in) { return ops::mul(in[0], in[1]); },
      [](const double* a) { return a[0] * a[1]; }));
  rows.push_back(elementwise_row(
      "scale", small, perf, 1, [](const Inputs& in) { return ops::scale(in[0], -2.5); },
      [](const double* a) { return a[0] * -2.5; }));
  // Inputs away from 0 so that backends agree on the mask; the kink is
  // declared for finite differences all the same.
  OpCase relu = elementwise_row(
      "relu", small, perf, 1, [](const Inputs& in) { return ops::relu(in[0]); },
      [](const double* a) { return a[0] > 0 ? a[0] : 0.0; }, true);
  relu.kinks = [](const Inputs& in) { return in[0].to_vector(); };
  rows.push_back(relu);
  // relu's kink itself: exact zeros forward, gradient 0 there (the backward
  // kernel's y > 0 rule), so no finite differences across it.
  OpCase relu_zeros = relu;
  relu_zeros.name = "relu with zeros 3x4";
  relu_zeros.make_inputs = [](DType dtype, CaseSize, Generator& gen) {
    Tensor x = uniform({3, 4}, DType::F64, gen);
    for (int i = 0; i < 12; i += 3) x.data<double>()[i] = 0.0;
    return Inputs{x.to(dtype)};
  };
  relu_zeros.timed = false;
  rows.push_back(relu_zeros);

  OpCase sum;
  sum.name = "sum " + shape_name(small);
  sum.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    return Inputs{uniform(size == CaseSize::Perf ? perf : small, dtype, gen)};
  };
  sum.run = [](const Inputs& in) { return Inputs{ops::sum(in[0])}; };
  sum.reference = [](const Inputs& in) {
    double s = 0;
    for (double v : in[0].to_vector()) s += v;
    return HostValues{{s}};
  };
  sum.grad_inputs = {0};
  sum.bytes = [](const Inputs& in) { return bytes_of(in); };
  sum.flops = [](const Inputs& in) { return double(in[0].numel()); };
  rows.push_back(sum);
  // A long sum: float32 accumulation order matters.
  OpCase long_sum = sum;
  long_sum.name = "sum 100000";
  long_sum.make_inputs = [](DType dtype, CaseSize, Generator& gen) { return Inputs{uniform({100000}, dtype, gen)}; };
  long_sum.grad_inputs = {};
  long_sum.timed = false;
  long_sum.f32 = {1e-3, 1e-5};
  long_sum.backends = {1e-3, 1e-5};
  rows.push_back(long_sum);
  return rows;
}

}  // namespace posenet::optable
