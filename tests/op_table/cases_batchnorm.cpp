// Op table rows: batch norm (kernels/batchnorm.h), training and eval, plain
// and fused with a residual add and ReLU. Outputs: y, running_mean,
// running_var; gradients to x, weight, bias (and the residual).
#include <cmath>

#include "kernels/batchnorm.h"
#include "kernels/batchnorm_sync.h"
#include "op_case.h"

namespace posenet::optable {

namespace {

constexpr double kEps = 1e-5, kMomentum = 0.1;

// Naive per-channel loops; pre_activation leaves out the ReLU. copies: the
// batch seen that many times over (sync-BN's processes holding the same
// batch), which changes only the unbiased variance of running_var.
HostValues naive_batch_norm(const Inputs& in, bool training, bool residual, bool relu, int copies = 1) {
  const auto x = in[0].to_vector(), w = in[1].to_vector(), b = in[2].to_vector();
  auto rm = in[3].to_vector(), rv = in[4].to_vector();
  const auto res = residual ? in[5].to_vector() : std::vector<double>(x.size(), 0.0);
  const size_t C = w.size(), rows = x.size() / C;
  std::vector<double> mean(C), var(C);
  for (size_t c = 0; c < C; ++c) {
    double s = 0, q = 0;
    for (size_t r = 0; r < rows; ++r) s += x[r * C + c];
    const double m = s / double(rows);
    for (size_t r = 0; r < rows; ++r) q += (x[r * C + c] - m) * (x[r * C + c] - m);
    if (training) {
      mean[c] = m, var[c] = q / double(rows);
      rm[c] = (1 - kMomentum) * rm[c] + kMomentum * m;
      rv[c] = (1 - kMomentum) * rv[c] + kMomentum * copies * q / double(copies * rows - 1);
    } else {
      mean[c] = rm[c], var[c] = rv[c];
    }
  }
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = i % C;
    const double z = (x[i] - mean[c]) / std::sqrt(var[c] + kEps) * w[c] + b[c] + res[i];
    y[i] = relu ? std::max(z, 0.0) : z;
  }
  return {y, rm, rv};
}

OpCase batchnorm_row(const Shape& shape, bool training, bool residual, bool relu) {
  OpCase c;
  c.name = std::string("batch_norm") + (residual ? "_add" : "") + (relu ? "_relu" : "") +
           (training ? " train " : " eval ") + shape_name(shape);
  const Shape perf{32, 56, 56, 64};
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    const Shape s = size == CaseSize::Perf ? perf : shape;
    const int64_t C = s.back();
    const DType per_channel = compute_dtype(dtype);  // float32 statistics under bfloat16
    Inputs in{uniform(s, dtype, gen, -1.0, 3.0), uniform({C}, per_channel, gen, 0.5, 1.5),
              uniform({C}, per_channel, gen), uniform({C}, per_channel, gen),
              uniform({C}, per_channel, gen, 0.5, 2.0)};
    if (residual) in.push_back(uniform(s, dtype, gen));
    if (relu && residual) {
      // Keep pre-activations away from the ReLU kink so that backends agree on the mask.
      const auto z = naive_batch_norm(in, training, residual, false)[0];
      std::vector<double> r = in[5].to_vector();
      for (size_t i = 0; i < z.size(); ++i)
        if (std::abs(z[i]) < 1e-3) r[i] += 0.01;
      in[5] = Tensor::from_data(s, r, DType::F64).to(dtype);
    }
    return in;
  };
  c.run = [=](const Inputs& in) {
    Tensor rm = in[3], rv = in[4];
    ops::BatchNormParams p;
    p.training = training;
    Tensor y = residual || relu ? ops::batch_norm_add_relu(in[0], in[1], in[2], rm, rv, p, residual ? in[5] : Tensor(), relu)
                                : ops::batch_norm(in[0], in[1], in[2], rm, rv, p);
    return Inputs{y, rm, rv};
  };
  c.reference = [=](const Inputs& in) { return naive_batch_norm(in, training, residual, relu); };
  c.grad_inputs = {0, 1, 2};
  if (residual) c.grad_inputs.push_back(5);
  if (relu) c.kinks = [=](const Inputs& in) { return naive_batch_norm(in, training, residual, false)[0]; };
  c.bytes = [](const Inputs& in) { return 3 * bytes_of({in[0]}); };  // x read twice (stats, apply), y written
  c.flops = [](const Inputs& in) { return 8.0 * double(in[0].numel()); };
  c.f32 = {1e-5, 1e-4};
  c.backends = {2e-4, 2e-4};  // gradients sum many float terms on the GPU
  return c;
}

// The row under sync-BN (kernels/batchnorm_sync.h) with a cross-process sum
// that doubles, as if a second process held the same batch: the output and
// every gradient must be those of one process; running_var takes the
// unbiased variance of the doubled count.
OpCase sync_row(OpCase c, bool residual, bool relu) {
  c.name = "sync_" + c.name;
  c.reference = [=](const Inputs& in) { return naive_batch_norm(in, true, residual, relu, 2); };
  c.run = [run = c.run](const Inputs& in) {
    ops::SyncBatchNormScope scope([](Tensor& t) { t.add_(t.clone()); });
    return run(in);
  };
  c.timed = false;
  c.bf16 = false;  // the cross-process statistics kernels take float32 and float64 only
  return c;
}

}  // namespace

std::vector<OpCase> batchnorm_cases() {
  std::vector<OpCase> rows;
  // Every combination of training, residual and ReLU.
  for (bool training : {true, false}) {
    rows.push_back(batchnorm_row({2, 3, 4, 5}, training, false, false));
    rows.push_back(batchnorm_row({2, 3, 4, 5}, training, true, true));
    rows.push_back(batchnorm_row({3, 5, 7}, training, true, false));
    rows.push_back(batchnorm_row({2, 3, 3, 4}, training, false, true));
    rows[rows.size() - 2].timed = rows.back().timed = false;
  }
  // Shapes the GPU kernels tile differently (the former CUDA parity suite);
  // no finite differences there: too many elements for float64 loops.
  for (const Shape& s : {Shape{2, 7, 9, 13}, Shape{4, 16, 16, 64}, Shape{1, 3, 3, 300}})
    for (bool training : {true, false}) {
      OpCase big = batchnorm_row(s, training, true, true);
      big.finite_differences = false;
      big.timed = false;
      big.name += " parity";
      rows.push_back(big);
    }
  rows.push_back(sync_row(batchnorm_row({2, 3, 4, 5}, true, false, false), false, false));
  rows.push_back(sync_row(batchnorm_row({2, 3, 4, 5}, true, true, true), true, true));
  OpCase big = sync_row(batchnorm_row({4, 16, 16, 64}, true, true, true), true, true);
  big.finite_differences = false;
  big.name += " parity";
  rows.push_back(big);
  return rows;
}

}  // namespace posenet::optable
