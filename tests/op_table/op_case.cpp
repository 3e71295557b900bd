#include "op_case.h"

#include <cmath>

namespace posenet::optable {

Tensor uniform(const Shape& shape, DType dtype, Generator& gen, double lo, double hi) {
  std::vector<double> v(size_t(shape_numel(shape)));
  for (double& x : v) x = gen.uniform(lo, hi);
  return Tensor::from_data(shape, v, DType::F64).to(dtype);
}

Tensor uniform_away_from_zero(const Shape& shape, DType dtype, Generator& gen, double gap) {
  std::vector<double> v(size_t(shape_numel(shape)));
  for (double& x : v) {
    x = gen.uniform(-1.0, 1.0);
    if (std::abs(x) < gap) x = x < 0 ? -gap : gap;
  }
  return Tensor::from_data(shape, v, DType::F64).to(dtype);
}

double bytes_of(const Inputs& tensors) {
  double total = 0;
  for (const Tensor& t : tensors)
    if (t.defined()) total += double(t.numel()) * double(dtype_size(t.dtype()));
  return total;
}

std::string shape_name(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string out = std::to_string(shape[0]);
  for (size_t i = 1; i < shape.size(); ++i) out.append("x").append(std::to_string(shape[i]));
  return out;
}

const std::vector<OpCase>& all_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> all;
    for (auto family : {elementwise_cases, batchnorm_cases, conv_cases, pool_cases, loss_cases, targets_cases,
                        optim_cases, cast_cases, deconv_k4s2_cases, conv_epilogue_cases, finite_cases,
                        normalize_cases}) {
      std::vector<OpCase> rows = family();
      all.insert(all.end(), rows.begin(), rows.end());
    }
    return all;
  }();
  return cases;
}

}  // namespace posenet::optable
