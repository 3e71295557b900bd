// Op table rows: the non-finite flag of a training step (kernels/finite.h).
// One row per kind of bad value (and one without), the bad value placed in
// the last of three tensors so that the flag must survive the first two.
#include <cmath>
#include <limits>

#include "kernels/finite.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

// bad: the value written into the last tensor (none when finite).
OpCase flag_row(const std::string& what, double bad) {
  OpCase c;
  c.name = "flag_non_finite " + what;
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    const int64_t n = size == CaseSize::Perf ? 25'000'000 : 1000;
    Inputs in{uniform({3, 5}, dtype, gen), uniform({7}, dtype, gen), uniform({n}, DType::F64, gen, -1e30, 1e30)};
    if (!std::isfinite(bad)) in[2].data<double>()[n - 3] = bad;
    in[2] = in[2].to(dtype);
    return in;
  };
  c.run = [](const Inputs& in) {
    Tensor flag = Tensor::zeros({1}, DType::F32, in[0].device());
    ops::flag_non_finite(in, flag);
    return Inputs{flag};
  };
  c.reference = [](const Inputs& in) {
    double flag = 0;
    for (const Tensor& t : in)
      for (double v : t.to_vector()) flag = std::isfinite(v) ? flag : 1.0;
    return HostValues{{flag}};
  };
  c.finite_differences = false;
  c.bf16 = false;  // it reads the float32 master weights' gradients and the float32 loss
  c.timed = what == "none";
  c.bytes = [](const Inputs& in) { return bytes_of(in); };
  c.flops = [](const Inputs& in) { return double(in[2].numel()); };
  c.backends = c.backends_f64 = {1e-12, 0};  // exact: 0 or 1
  return c;
}

}  // namespace

std::vector<OpCase> finite_cases() {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  return {flag_row("none", 0.0), flag_row("nan", std::numeric_limits<double>::quiet_NaN()), flag_row("inf", kInf),
          flag_row("minus inf", -kInf)};
}

}  // namespace posenet::optable
