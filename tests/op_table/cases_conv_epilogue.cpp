// Op table rows: the folded convolution's inference epilogue
// (kernels/conv_epilogue.h), y = [ReLU](y + bias [+ residual]) in place.
// Inputs y, bias, residual (undefined without); no gradient (inference only).
#include "kernels/conv_epilogue.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

OpCase epilogue_row(const Shape& y, bool residual, bool relu, const Shape& perf_y = {}) {
  OpCase c;
  c.name = std::string("conv_bias_residual_relu") + (residual ? " residual" : "") + (relu ? " relu" : "") + " " +
           shape_name(y);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    const Shape ys = size == CaseSize::Perf && !perf_y.empty() ? perf_y : y;
    // Away from zero: a sum within rounding of 0 could flip ReLU's mask between backends.
    return Inputs{uniform_away_from_zero(ys, dtype, gen, 1e-2), uniform({ys.back()}, dtype, gen, -0.5, 0.5),
                  residual ? uniform(ys, dtype, gen, -0.5, 0.5) : Tensor()};
  };
  c.run = [relu](const Inputs& in) {
    Tensor y = in[0].clone();
    return Inputs{ops::conv_bias_residual_relu_(y, in[1], in[2], relu)};
  };
  c.reference = [relu](const Inputs& in) {
    const auto y = in[0].to_vector(), b = in[1].to_vector();
    const auto r = in[2].defined() ? in[2].to_vector() : std::vector<double>(y.size(), 0.0);
    std::vector<double> out(y.size());
    for (size_t i = 0; i < y.size(); ++i) {
      const double v = y[i] + b[i % b.size()] + r[i];
      out[i] = relu && v <= 0 ? 0.0 : v;
    }
    return HostValues{out};
  };
  c.bytes = [](const Inputs& in) { return bytes_of(in) + bytes_of({in[0]}); };  // y read and written
  c.timed = !perf_y.empty();
  c.bf16 = false;  // folded inference (eval, predict) runs in float32 only
  return c;
}

}  // namespace

std::vector<OpCase> conv_epilogue_cases() {
  const Shape bottleneck_perf{32, 56, 56, 256};  // ResNet-50's first stage output at 224x224, batch 32
  return {
      epilogue_row({2, 5, 3, 7}, true, true, bottleneck_perf),
      epilogue_row({2, 5, 3, 7}, false, true),
      epilogue_row({1, 4, 4, 3}, true, false),
      epilogue_row({3, 2, 9, 70}, false, false),
      epilogue_row({1, 1, 1, 1}, true, true),
  };
}

}  // namespace posenet::optable
