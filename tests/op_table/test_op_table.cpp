// The op table's four modes over every row (op_case.h). One gtest per case
// and mode: OpTable/OpTableCase.<Mode>/<case>, and OpTable.Perf.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "core/autograd.h"
#include "core/device.h"
#include "kernels/elementwise.h"
#ifdef POSENET_WITH_CUDA
#include "kernels/cuda/conv.h"
#endif
#include "op_case.h"

namespace posenet::optable {
namespace {

constexpr uint64_t kSeed = 2024;

Inputs copy_to(const Inputs& inputs, Device device) {
  Inputs out;
  for (const Tensor& t : inputs) out.push_back(!t.defined() ? Tensor() : device.is_cpu() && t.is_cpu() ? t.clone() : t.to(device));
  return out;
}

// What one run of a case gives: its outputs and, for differentiable cases,
// the gradients of L = sum_k sum(out_k * R_k) with respect to grad_inputs.
struct RunResult {
  Inputs outputs, grads;
};

// The fixed random weights R of the loss, one per output that has a graph.
Inputs loss_weights(const Inputs& outputs, Device device) {
  Generator gen(kSeed + 1);
  Inputs r;
  for (const Tensor& out : outputs) r.push_back(uniform(out.shape(), out.dtype(), gen).to(device));
  return r;
}

RunResult run_case(const OpCase& c, const Inputs& made, Device device) {
  Inputs inputs = copy_to(made, device);
  for (size_t g : c.grad_inputs) inputs[g].set_requires_grad(true);
  RunResult result;
  result.outputs = c.run(inputs);
  if (c.grad_inputs.empty()) return result;
  const Inputs weights = loss_weights(result.outputs, device);
  Tensor loss;
  for (size_t k = 0; k < result.outputs.size(); ++k) {
    if (!result.outputs[k].grad_fn()) continue;
    Tensor term = ops::sum(ops::mul(result.outputs[k], weights[k]));
    loss = loss.defined() ? ops::add(loss, term) : term;
  }
  EXPECT_TRUE(loss.defined()) << c.name << ": grad_inputs given but no output has a graph";
  if (!loss.defined()) return result;
  loss.backward();
  for (size_t g : c.grad_inputs) result.grads.push_back(inputs[g].grad());
  return result;
}

// Largest |a - b| / (atol + rtol |b|), NaN counted as a failure; the index of the worst.
std::pair<double, size_t> worst_error(const std::vector<double>& a, const std::vector<double>& b, Tolerance tol) {
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::abs(a[i] - b[i]) / (tol.atol + tol.rtol * std::abs(b[i]));
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e, at = i;
  }
  return {worst, at};
}

void expect_values_near(const std::vector<double>& got, const std::vector<double>& want, Tolerance tol,
                        const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what << ": element counts differ";
  auto [err, at] = worst_error(got, want, tol);
  EXPECT_LE(err, 1.0) << what << ": worst |a-b|/(atol+rtol|b|) = " << err << " at element " << at << " (got "
                      << got[at] << ", want " << want[at] << ")";
}

class OpTableCase : public ::testing::TestWithParam<size_t> {
 protected:
  const OpCase& op_case() const { return all_cases()[GetParam()]; }
};

TEST_P(OpTableCase, Reference) {
  const OpCase& c = op_case();
  ASSERT_TRUE(c.reference) << c.name << " has no reference";
  for (DType dtype : {DType::F64, DType::F32, DType::BF16}) {
    if (dtype == DType::BF16 && !c.bf16) continue;
    SCOPED_TRACE(std::string(dtype_name(dtype)));
    Generator gen(kSeed);
    const Inputs made = c.make_inputs(dtype, CaseSize::Test, gen);
    const HostValues want = c.reference(copy_to(made, Device::cpu()));
    NoGradGuard no_grad;
    const Inputs got = c.run(copy_to(made, Device::cpu()));
    ASSERT_EQ(got.size(), want.size()) << c.name << ": the reference gives another number of outputs";
    for (size_t k = 0; k < got.size(); ++k)
      expect_values_near(got[k].to_vector(), want[k],
                         dtype == DType::F64 ? c.f64 : dtype == DType::BF16 ? c.bf16_reference : c.f32,
                         c.name + " output " + std::to_string(k));
  }
}

#ifdef POSENET_WITH_CUDA
// The CPU computes float32 in float32: compare with TF32 off.
struct Tf32Off {
  bool saved = kernels::cuda::allow_tf32();
  Tf32Off() { kernels::cuda::set_allow_tf32(false); }
  ~Tf32Off() { kernels::cuda::set_allow_tf32(saved); }
};
#else
struct Tf32Off {
  Tf32Off() {}  // nothing to switch without CUDA
};
#endif

// Outputs and gradients of the CUDA backend against the CPU's; a second
// run on CUDA must give the same bits.
void expect_cuda_matches_cpu(const OpCase& c, DType dtype) {
  const Tolerance tol = dtype == DType::F32 ? c.backends : dtype == DType::BF16 ? c.backends_bf16 : c.backends_f64;
  Generator gen(kSeed);
  const Inputs made = c.make_inputs(dtype, CaseSize::Test, gen);
  const RunResult cpu = run_case(c, made, Device::cpu());
  const RunResult other = run_case(c, made, Device::cuda());
  const RunResult again = run_case(c, made, Device::cuda());
  ASSERT_EQ(cpu.outputs.size(), other.outputs.size());
  ASSERT_EQ(cpu.grads.size(), other.grads.size());
  for (size_t k = 0; k < cpu.outputs.size(); ++k) {
    const std::vector<double> got = other.outputs[k].to_vector();
    expect_values_near(got, cpu.outputs[k].to_vector(), tol, c.name + " cuda output " + std::to_string(k));
    EXPECT_EQ(got, again.outputs[k].to_vector()) << c.name << " output " << k << " differs between two cuda runs";
  }
  for (size_t k = 0; k < cpu.grads.size(); ++k) {
    const std::vector<double> got = other.grads[k].to_vector();
    const std::string what = c.name + " cuda gradient of input " + std::to_string(c.grad_inputs[k]);
    expect_values_near(got, cpu.grads[k].to_vector(), tol, what);
    EXPECT_EQ(got, again.grads[k].to_vector()) << what << " differs between two cuda runs";
  }
}

// Every other backend against the CPU, float32 (TF32 off), float64 and
// bfloat16, under each of the row's backend settings.
TEST_P(OpTableCase, BackendsMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no backend besides the CPU to compare: " << cuda_unavailable_reason();
  const OpCase& c = op_case();
  if (!c.backends_skip.empty()) {
    // A case the backend declines must be refused by name, not run: that is
    // the check here (a skip would read as a failure in the GPU report).
    Generator gen(kSeed);
    const Inputs made = c.make_inputs(DType::F32, CaseSize::Test, gen);
    NoGradGuard no_grad;
    try {
      c.run(copy_to(made, Device::cuda()));
      ADD_FAILURE() << c.name << " ran on cuda, but the row says: " << c.backends_skip;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("does not support"), std::string::npos) << e.what();
    }
    return;
  }
  Tf32Off tf32_off;
  std::vector<BackendSetting> settings = c.backend_settings;
  if (settings.empty()) settings.push_back({"default settings", [] { return std::function<void()>([] {}); }});
  for (const BackendSetting& setting : settings) {
    struct Restore {
      std::function<void()> undo;
      ~Restore() { undo(); }
    } restore{setting.apply()};
    for (DType dtype : {DType::F32, DType::F64, DType::BF16}) {
      if (dtype == DType::BF16 && !c.bf16) continue;
      SCOPED_TRACE(std::string(dtype_name(dtype)) + ", " + setting.name);
      expect_cuda_matches_cpu(c, dtype);
    }
  }
}

// True when one of the kink quantities has another sign (-, 0, +) at a
// than at b: the step from one to the other touches or crosses its kink.
bool crosses_kink(const std::vector<double>& a, const std::vector<double>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] < 0) != (b[i] < 0) || (a[i] > 0) != (b[i] > 0)) return true;
  return false;
}

TEST_P(OpTableCase, FiniteDifferences) {
  const OpCase& c = op_case();
  if (c.grad_inputs.empty()) GTEST_SKIP() << c.name << " has no backward pass";
  if (!c.finite_differences) GTEST_SKIP() << c.name << " is checked by finite differences at a smaller size";
  Generator gen(kSeed);
  const Inputs made = c.make_inputs(DType::F64, CaseSize::Test, gen);
  const RunResult analytic = run_case(c, made, Device::cpu());
  const Inputs weights = loss_weights(analytic.outputs, Device::cpu());
  constexpr double h = 1e-6;
  NoGradGuard no_grad;
  auto loss_at = [&](const Inputs& inputs) {
    Inputs outputs = c.run(copy_to(inputs, Device::cpu()));
    double total = 0;
    for (size_t k = 0; k < outputs.size(); ++k)
      if (analytic.outputs[k].grad_fn()) total += ops::sum(ops::mul(outputs[k], weights[k])).item();
    return total;
  };
  for (size_t gi = 0; gi < c.grad_inputs.size(); ++gi) {
    SCOPED_TRACE("input " + std::to_string(c.grad_inputs[gi]));
    Inputs inputs = copy_to(made, Device::cpu());
    double* px = inputs[c.grad_inputs[gi]].data<double>();
    const std::vector<double> ga = analytic.grads[gi].to_vector();
    double diff = 0, norm_a = 0, norm_n = 0;
    size_t checked = 0, skipped = 0;
    for (size_t i = 0; i < ga.size(); ++i) {
      const double saved = px[i];
      px[i] = saved + h;
      const double lp = loss_at(inputs);
      const std::vector<double> kp = c.kinks ? c.kinks(inputs) : std::vector<double>();
      px[i] = saved - h;
      const double lm = loss_at(inputs);
      const std::vector<double> km = c.kinks ? c.kinks(inputs) : std::vector<double>();
      px[i] = saved;
      if (crosses_kink(kp, km)) {
        ++skipped;
        continue;
      }
      const double gn = (lp - lm) / (2 * h);
      diff += (ga[i] - gn) * (ga[i] - gn);
      norm_a += ga[i] * ga[i];
      norm_n += gn * gn;
      ++checked;
    }
    EXPECT_GE(checked, 2 * skipped) << c.name << ": most elements sit at a kink; move the row's inputs";
    // ||analytic - numeric|| / max(||analytic||, ||numeric||) over the checked elements.
    const double rel = std::sqrt(diff) / std::max({std::sqrt(norm_a), std::sqrt(norm_n), 1e-12});
    EXPECT_LE(rel, 1e-6) << c.name << ": autograd and central differences disagree (" << checked << " elements, "
                         << skipped << " at kinks)";
  }
}

std::string gtest_name(const std::string& name) {
  std::string out;
  for (char ch : name) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

std::vector<size_t> case_indices() {
  std::vector<size_t> out(all_cases().size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = i;
  return out;
}

INSTANTIATE_TEST_SUITE_P(OpTable, OpTableCase, ::testing::ValuesIn(case_indices()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return gtest_name(all_cases()[info.param].name);
                         });

TEST(OpTable, CaseNamesAreUnique) {
  std::vector<std::string> names;
  for (const OpCase& c : all_cases()) names.push_back(gtest_name(c.name));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

// Median time of `runs` runs of the case on inputs already on `device`,
// after one warm-up run (caches of algorithms and allocations), with a
// buffer larger than any L2 rewritten before each.
double median_run_ms(const OpCase& c, const Inputs& inputs, Device device, int runs) {
  Tensor flush = Tensor::empty({int64_t(64) << 20}, DType::F32, device);  // 256 MiB
  NoGradGuard no_grad;
  Backend& backend = backend_for(device);
  std::vector<double> ms;
  for (int r = 0; r <= runs; ++r) {
    flush.fill_(double(r));
    backend.synchronize();
    const auto start = std::chrono::steady_clock::now();
    c.run(inputs);
    backend.synchronize();
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Perf: median of a few runs per case and backend at the perf size, float32,
// forward only, with a buffer larger than any L2 rewritten before each run.
TEST(OpTable, Perf) {
  const char* enabled = std::getenv("POSENET_OPTABLE_PERF");
  if (!enabled || std::string(enabled) != "1") GTEST_SKIP() << "set POSENET_OPTABLE_PERF=1 to time the op table";
  std::vector<Device> devices{Device::cpu()};
  if (cuda_available()) devices.push_back(Device::cuda());
  std::ostringstream table;
  table << "| case | perf input | backend | time (ms) | GB/s | TFLOP/s |\n|---|---|---|---:|---:|---:|\n";
  constexpr int kRuns = 5;
  const char* filter = std::getenv("POSENET_OPTABLE_PERF_FILTER");  // a substring of the case names
  for (const OpCase& c : all_cases()) {
    if (!c.timed || (filter && c.name.find(filter) == std::string::npos)) continue;
    for (Device device : devices) {
      // CUDA is timed under each of the row's settings (which library runs
      // a convolution), labelled with it.
      std::vector<BackendSetting> settings;
      if (device.is_cuda()) settings = c.backend_settings;
      if (settings.empty()) settings.push_back({"", [] { return std::function<void()>([] {}); }});
      for (const BackendSetting& setting : settings) {
        struct Restore {
          std::function<void()> undo;
          ~Restore() { undo(); }
        } restore{setting.apply()};
        Generator gen(kSeed);
        const Inputs made = c.make_inputs(DType::F32, CaseSize::Perf, gen);
        const double med = median_run_ms(c, copy_to(made, device), device, kRuns);
        const double bytes = c.bytes ? c.bytes(made) : 0, flops = c.flops ? c.flops(made) : 0;
        std::ostringstream gbs, tflops;
        if (bytes > 0) gbs << std::fixed << std::setprecision(1) << bytes / med / 1e6;
        if (flops > 0) tflops << std::setprecision(3) << flops / med / 1e9;
        const std::string label = setting.name.empty() ? device.str() : device.str() + ", " + setting.name;
        table << "| " << c.name << " | " << shape_name(made[0].shape()) << " | " << label << " | " << std::fixed
              << std::setprecision(3) << med << " | " << gbs.str() << " | " << tflops.str() << " |\n";
      }
    }
  }
  std::cout << table.str();
  if (const char* out = std::getenv("POSENET_OPTABLE_PERF_OUT")) {
    std::ofstream file(out);
    ASSERT_TRUE(file) << "POSENET_OPTABLE_PERF_OUT: cannot write " << out;
    file << table.str();
  }
}

}  // namespace
}  // namespace posenet::optable
