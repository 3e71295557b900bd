// Op table rows: the normalisation of 8-bit crops on the device
// (kernels/normalize.h). The input is uint8 whatever the row's dtype; the
// output float32.
#include "kernels/normalize.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

OpCase normalize_row(const Shape& shape) {
  OpCase c;
  c.name = "normalize_images " + shape_name(shape);
  const auto n = ops::ImageNormalization::from_mean_std({0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
  c.make_inputs = [=](DType, CaseSize size, Generator& gen) {
    const Shape s = size == CaseSize::Perf ? Shape{32, 256, 256, 3} : shape;
    Tensor pixels = uniform(s, DType::F64, gen, 0.0, 255.0);
    pixels.data<double>()[0] = 0.0;  // both ends of the range
    pixels.data<double>()[1] = 255.0;
    return Inputs{pixels.to(DType::U8)};
  };
  c.run = [=](const Inputs& in) { return Inputs{ops::normalize_images(in[0], n)}; };
  c.reference = [=](const Inputs& in) {
    const std::vector<double> x = in[0].to_vector();
    std::vector<double> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = double(float(x[i]) * n.mul[i % 3] + n.add[i % 3]);
    return HostValues{out};
  };
  c.finite_differences = false;
  c.bytes = [](const Inputs& in) { return double(in[0].numel()) * 5.0; };  // 1 byte read, 4 written
  c.flops = [](const Inputs& in) { return 2.0 * double(in[0].numel()); };
  c.f64 = c.f32 = {1e-6, 1e-6};  // float32 arithmetic whatever the row's dtype
  c.backends = c.backends_f64 = {1e-6, 1e-6};  // a GPU may fuse the multiply-add
  return c;
}

}  // namespace

std::vector<OpCase> normalize_cases() { return {normalize_row({2, 5, 4, 3}), normalize_row({1, 1, 1, 3})}; }

}  // namespace posenet::optable
