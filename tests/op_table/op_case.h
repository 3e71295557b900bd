// One row of the op table: everything the four test modes need to know
// about one op case. Adding an op = its kernels + one row in the family's
// cases_<family>.cpp (docs/kernels.md).
//
// The modes (test_op_table.cpp):
//   Reference          the op on the CPU, float64, float32 and bfloat16,
//                      against a float64 naive loop;
//   BackendsMatchCpu   every other registered backend available at run time
//                      against the CPU, outputs and gradients, float32 (TF32
//                      off), float64 and bfloat16 (the CPU computing bfloat16
//                      in float32 and rounding, kernels/cpu/via_float.h),
//                      under each of the row's settings;
//   FiniteDifferences  autograd against central differences in float64,
//                      skipping elements whose step crosses a declared kink;
//   Perf               time, GB/s or TFLOP/s per backend at a larger size,
//                      L2 flushed before each run (POSENET_OPTABLE_PERF=1).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "kernels/conv.h"

namespace posenet::optable {

using Inputs = std::vector<Tensor>;
using HostValues = std::vector<std::vector<double>>;  // one vector per tensor, row-major

// Scaled error bound: |a - b| <= atol + rtol * |b|.
struct Tolerance {
  double atol = 0, rtol = 0;
};

// Which inputs to make: the small ones the tests use, or the perf ones.
enum class CaseSize { Test, Perf };

// A setting of the other backends that a row is also compared under (which
// library runs 1x1 convolutions): apply() switches it on and returns what
// switches it back.
struct BackendSetting {
  std::string name;
  std::function<std::function<void()>()> apply;
};

struct OpCase {
  std::string name;  // "relu [2, 3, 4, 5]": gtest names are derived from it
  // The inputs, on the CPU, in dtype (integer-valued data such as joints
  // stays in dtype too; batch norm's per-channel tensors are in
  // compute_dtype(dtype), float32 for bfloat16), seeded by gen. Tensors may be moved to a device.
  std::function<Inputs(DType dtype, CaseSize size, Generator& gen)> make_inputs;
  // The op under test on inputs that all live on one device. Returns its
  // outputs; ops with state (optimizers, running statistics) return the
  // state they update. Runs through the differentiable ops, so that
  // gradients flow where the op has a backward pass.
  std::function<Inputs(const Inputs& inputs)> run;
  // Naive float64 loops over the inputs' values: the expected outputs.
  std::function<HostValues(const Inputs& inputs)> reference;
  // Inputs that receive gradients (empty: no backward pass to check).
  std::vector<size_t> grad_inputs;
  // Off for rows too large for float64 loops over every element.
  bool finite_differences = true;
  // Off for rows whose perf size would repeat another row's timing.
  bool timed = true;
  // Quantities whose zero is a kink of the op, computed from float64 CPU
  // inputs: finite differences skip an element whose +-step changes the
  // sign (-, 0, +) of one of them. Unset: the op is smooth.
  std::function<std::vector<double>(const Inputs& inputs)> kinks;
  // Bytes read + written and floating-point operations of one run
  // (forward only), for the perf mode's rates.
  std::function<double(const Inputs& inputs)> bytes, flops;
  Tolerance f64{1e-12, 1e-10}, f32{1e-5, 1e-4};
  // The CPU's bfloat16 (inputs rounded to bfloat16, computed in float32,
  // each output rounded once) against the float64 reference on the same
  // rounded inputs: half an ulp of the 8-bit mantissa, 2^-8 relative, plus
  // float32's error.
  Tolerance bf16_reference{1e-4, 4e-3};
  // Backend against CPU, float32 (reductions in another order, cuDNN's
  // algorithms); float64 uses backends_f64.
  Tolerance backends{1e-5, 1e-4}, backends_f64{1e-10, 1e-10};
  // bfloat16 against the CPU's bfloat16: both compute in float32 and round
  // once to bfloat16's 8-bit mantissa, so values agree but where float
  // rounding differences (another summation order) flip the last bit: one
  // ulp is 2^-8 to 2^-7 relative, hence rtol 1e-2; atol covers results that
  // cancel to near 0. Rows whose backends keep intermediates in bfloat16
  // (cuDNN's convolutions) state a wider bound.
  Tolerance backends_bf16{1e-3, 1e-2};
  // Off for rows whose op has no bfloat16 kernels (the optimizers: master
  // weights and their state stay float32).
  bool bf16 = true;
  // Why the CUDA backend declines the row ("" = it takes it): BackendsMatchCpu
  // then checks that running it there fails naming the op instead.
  std::string backends_skip;
  // Settings to compare under one after the other (empty: the default only).
  std::vector<BackendSetting> backend_settings;
};

// Every row, from the cases_*.cpp files.
std::vector<OpCase> elementwise_cases();
std::vector<OpCase> batchnorm_cases();
std::vector<OpCase> conv_cases();
std::vector<OpCase> pool_cases();
std::vector<OpCase> loss_cases();
std::vector<OpCase> targets_cases();
std::vector<OpCase> optim_cases();
std::vector<OpCase> cast_cases();
std::vector<OpCase> deconv_k4s2_cases();
std::vector<OpCase> conv_epilogue_cases();
std::vector<OpCase> finite_cases();
std::vector<OpCase> normalize_cases();
const std::vector<OpCase>& all_cases();

// Helpers for rows.
Tensor uniform(const Shape& shape, DType dtype, Generator& gen, double lo = -1.0, double hi = 1.0);
// Like uniform but at least `gap` away from zero (for ReLU inputs in
// backend parity: a value within rounding of 0 may flip the mask).
Tensor uniform_away_from_zero(const Shape& shape, DType dtype, Generator& gen, double gap = 1e-3);
double bytes_of(const Inputs& tensors);  // sum of numel * dtype size
std::string shape_name(const Shape& shape);  // "2x3x4x5"
// A conv_transpose2d row: x, w [Cin, R, S, Cout] and bias when asked
// (cases_conv.cpp); perf_x/perf_Cout size the perf mode's run.
OpCase deconv_row(const std::string& label, const Shape& x, int64_t R, int64_t S, int64_t Cout,
                  const ops::ConvTranspose2dParams& p, bool bias, const Shape& perf_x = {}, int64_t perf_Cout = 0);

}  // namespace posenet::optable
