// Op table rows: the differentiable dtype conversion (kernels/cast.h). Each
// row converts its input to another dtype, chosen per input dtype so that
// every mode sees a real conversion (a cast to the input's own dtype is the
// input itself, with no graph).
#include "kernels/cast.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

// The value v takes in dtype (rounded as core/dtype.h: into bfloat16 through float32).
double rounded(double v, DType dtype) {
  switch (dtype) {
    case DType::F32: return double(float(v));
    case DType::BF16: return double(bf16_to_float(float_to_bf16(float(v))));
    default: return v;
  }
}

OpCase cast_row(const std::string& name, DType (*target)(DType), const Shape& small = {2, 3, 4, 5}) {
  const Shape perf{32, 64, 64, 64};
  OpCase c;
  c.name = name + " " + shape_name(small);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    return Inputs{uniform(size == CaseSize::Perf ? perf : small, dtype, gen, -3.0, 3.0)};
  };
  c.run = [target](const Inputs& in) { return Inputs{ops::cast(in[0], target(in[0].dtype()))}; };
  c.reference = [target](const Inputs& in) {
    std::vector<double> v = in[0].to_vector();
    for (double& x : v) x = rounded(x, target(in[0].dtype()));
    return HostValues{v};
  };
  c.grad_inputs = {0};
  // The forward rounds: central differences of a staircase say nothing.
  // The backward (the gradient cast back) is checked by BackendsMatchCpu
  // and tests/test_cast.cpp.
  c.finite_differences = false;
  c.bytes = [target](const Inputs& in) {
    return bytes_of(in) * (1.0 + double(dtype_size(target(in[0].dtype()))) / double(dtype_size(in[0].dtype())));
  };
  c.backends_bf16 = {1e-12, 0};  // one rounding of the same float: bit-identical
  return c;
}

}  // namespace

std::vector<OpCase> cast_cases() {
  std::vector<OpCase> rows;
  // float32 and float64 to bfloat16 (the weights' cast); bfloat16 to float32 (the heatmaps').
  rows.push_back(cast_row("cast to bfloat16 or from it to float32",
                          [](DType t) { return t == DType::BF16 ? DType::F32 : DType::BF16; }));
  // 77 elements: the CUDA kernel's 16-byte packs and the scalar tail after them.
  OpCase tail = cast_row("cast to bfloat16 or from it to float32",
                         [](DType t) { return t == DType::BF16 ? DType::F32 : DType::BF16; }, {7, 11});
  tail.timed = false;
  rows.push_back(tail);
  // Between the wide types, and bfloat16 to float64.
  rows.push_back(cast_row("cast to the other wide type",
                          [](DType t) { return t == DType::F64 ? DType::F32 : DType::F64; }));
  return rows;
}

}  // namespace posenet::optable
