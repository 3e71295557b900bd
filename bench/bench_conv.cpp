// Convolution benchmarks at ResNet-50 / decoder layer shapes.
//
// CPU: conv2d forward, backward (data + weight), the decoder's 4x4/2
// deconvolution, and OpenBLAS sgemm alone on each layer's equivalent GEMM
// (M = N*P*Q, N = K, K = R*S*C) in the same run, so the ratio of the two
// GFLOP/s counters shows what im2col and the chunking cost.
// CUDA (registered only when a device is present): the same layers at
// batch 32 and the 256x256 training resolution, through cuDNN.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/device.h"
#include "core/rng.h"
#include "kernels/conv.h"
#include "kernels/conv_geometry.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/conv.h"

namespace posenet {
namespace {

using kernels::ConvGeometry;

struct Layer {
  std::string name;
  int64_t N, H, W, C, K, R, S;
  int stride, pad;
  bool transposed;  // conv_transpose2d with Cin = C, Cout = K
};

// ResNet-50 at 224x224 (CPU, batch 2) and the first decoder deconvolution.
std::vector<Layer> cpu_layers() {
  return {
      {"stem_7x7s2_224x224x3_64", 2, 224, 224, 3, 64, 7, 7, 2, 3, false},
      {"1x1_56x56_64_64", 2, 56, 56, 64, 64, 1, 1, 1, 0, false},
      {"3x3_56x56_64_64", 2, 56, 56, 64, 64, 3, 3, 1, 1, false},
      {"3x3_28x28_128_128", 2, 28, 28, 128, 128, 3, 3, 1, 1, false},
      {"3x3_14x14_256_256", 2, 14, 14, 256, 256, 3, 3, 1, 1, false},
      {"3x3_7x7_512_512", 2, 7, 7, 512, 512, 3, 3, 1, 1, false},
      {"deconv_4x4s2_8x8_256_256", 2, 8, 8, 256, 256, 4, 4, 2, 1, true},
  };
}

// The same layers at the 256x256 training input, batch 32.
std::vector<Layer> cuda_layers() {
  return {
      {"stem_7x7s2_256x256x3_64", 32, 256, 256, 3, 64, 7, 7, 2, 3, false},
      {"1x1_64x64_64_64", 32, 64, 64, 64, 64, 1, 1, 1, 0, false},
      {"3x3_64x64_64_64", 32, 64, 64, 64, 64, 3, 3, 1, 1, false},
      {"3x3_32x32_128_128", 32, 32, 32, 128, 128, 3, 3, 1, 1, false},
      {"3x3_16x16_256_256", 32, 16, 16, 256, 256, 3, 3, 1, 1, false},
      {"3x3_8x8_512_512", 32, 8, 8, 512, 512, 3, 3, 1, 1, false},
      {"deconv_4x4s2_8x8_256_256", 32, 8, 8, 256, 256, 4, 4, 2, 1, true},
  };
}

// The conv2d geometry the kernels run (for a deconvolution: its adjoint).
ConvGeometry geometry(const Layer& l) {
  ConvGeometry g;
  g.R = l.R, g.S = l.S;
  g.stride_h = g.stride_w = l.stride;
  g.pad_h = g.pad_w = l.pad;
  g.N = l.N;
  if (!l.transposed) {
    g.H = l.H, g.W = l.W, g.C = l.C, g.K = l.K;
    g.P = ops::conv_output_size(l.H, l.R, l.stride, l.pad, 1);
    g.Q = ops::conv_output_size(l.W, l.S, l.stride, l.pad, 1);
  } else {
    g.P = l.H, g.Q = l.W, g.K = l.C, g.C = l.K;
    g.H = ops::conv_transpose_output_size(l.H, l.R, l.stride, l.pad, 0, 1);
    g.W = ops::conv_transpose_output_size(l.W, l.S, l.stride, l.pad, 0, 1);
  }
  return g;
}

Tensor random_input(const Shape& shape, uint64_t seed, Device device) {
  Generator gen(seed);
  std::vector<float> v(size_t(shape_numel(shape)));
  for (auto& x : v) x = float(gen.uniform(-1.0, 1.0));
  return Tensor::from_data(shape, v, DType::F32, device);
}

void set_rate(benchmark::State& state, double flops_per_iteration) {
  // Shown as FLOP=<n>G/s: floating-point operations per second of wall time.
  state.counters["FLOP"] = benchmark::Counter(flops_per_iteration * double(state.iterations()),
                                              benchmark::Counter::kIsRate);
}

// CUDA work is queued: each timed iteration runs `repeats` calls and waits.
constexpr int kCudaRepeats = 10;

void run_forward(benchmark::State& state, const Layer& l, Device device) {
  const ConvGeometry g = geometry(l);
  NoGradGuard no_grad;
  Tensor x = random_input({l.N, l.H, l.W, l.C}, 1, device);
  const int repeats = device.is_cpu() ? 1 : kCudaRepeats;
  if (!l.transposed) {
    Tensor w = random_input({l.K, l.R, l.S, l.C}, 2, device);
    const auto p = ops::Conv2dParams::square(l.stride, l.pad);
    for (auto _ : state) {
      for (int i = 0; i < repeats; ++i) benchmark::DoNotOptimize(ops::conv2d(x, w, Tensor(), p));
      backend_for(device).synchronize();
    }
  } else {
    Tensor w = random_input({l.C, l.R, l.S, l.K}, 2, device);
    const auto p = ops::ConvTranspose2dParams::square(l.stride, l.pad);
    for (auto _ : state) {
      for (int i = 0; i < repeats; ++i) benchmark::DoNotOptimize(ops::conv_transpose2d(x, w, Tensor(), p));
      backend_for(device).synchronize();
    }
  }
  set_rate(state, g.flops() * repeats);
}

// Gradients of x and w through autograd (the op's backward node).
void run_backward(benchmark::State& state, const Layer& l, Device device) {
  const ConvGeometry g = geometry(l);
  Tensor x = random_input({l.N, l.H, l.W, l.C}, 1, device).set_requires_grad(true);
  Tensor w = (l.transposed ? random_input({l.C, l.R, l.S, l.K}, 2, device)
                           : random_input({l.K, l.R, l.S, l.C}, 2, device))
                 .set_requires_grad(true);
  Tensor y = l.transposed ? ops::conv_transpose2d(x, w, Tensor(), ops::ConvTranspose2dParams::square(l.stride, l.pad))
                          : ops::conv2d(x, w, Tensor(), ops::Conv2dParams::square(l.stride, l.pad));
  Tensor dy = random_input(y.shape(), 3, device);
  auto node = y.grad_fn();
  const int repeats = device.is_cpu() ? 1 : kCudaRepeats;
  for (auto _ : state) {
    for (int i = 0; i < repeats; ++i) benchmark::DoNotOptimize(node->backward(dy));
    backend_for(device).synchronize();
  }
  set_rate(state, 2.0 * g.flops() * repeats);
}

// OpenBLAS sgemm on the forward pass's GEMM, without im2col.
void run_sgemm(benchmark::State& state, const Layer& l) {
  const ConvGeometry g = geometry(l);
  const int64_t M = g.output_pixels(), N = g.K, K = g.patch_size();
  Tensor a = random_input({M, K}, 1, Device::cpu()), b = random_input({N, K}, 2, Device::cpu());
  Tensor c = Tensor::empty({M, N});
  for (auto _ : state) {
    kernels::cpu::gemm(false, true, M, N, K, 1.0f, a.data<float>(), K, b.data<float>(), K, 0.0f, c.data<float>(), N);
    benchmark::ClobberMemory();
  }
  set_rate(state, g.flops());
}

// The machine's sgemm rate on a large square product: the ceiling the
// per-layer GEMMs are measured against.
void run_sgemm_square(benchmark::State& state, int64_t n) {
  Tensor a = random_input({n, n}, 1, Device::cpu()), b = random_input({n, n}, 2, Device::cpu());
  Tensor c = Tensor::empty({n, n});
  for (auto _ : state) {
    kernels::cpu::gemm(false, true, n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n, 0.0f, c.data<float>(), n);
    benchmark::ClobberMemory();
  }
  set_rate(state, 2.0 * double(n) * double(n) * double(n));
}

int register_all() {
  benchmark::RegisterBenchmark("conv_cpu_sgemm_only/square_2048", [](benchmark::State& s) { run_sgemm_square(s, 2048); })
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const Layer& l : cpu_layers()) {
    benchmark::RegisterBenchmark(("conv_cpu_forward/" + l.name).c_str(),
                                 [l](benchmark::State& s) { run_forward(s, l, Device::cpu()); })
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("conv_cpu_backward/" + l.name).c_str(),
                                 [l](benchmark::State& s) { run_backward(s, l, Device::cpu()); })
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("conv_cpu_sgemm_only/" + l.name).c_str(),
                                 [l](benchmark::State& s) { run_sgemm(s, l); })
        ->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  if (cuda_available()) {
    for (const Layer& l : cuda_layers()) {
      benchmark::RegisterBenchmark(("conv_cuda_forward/" + l.name).c_str(),
                                   [l](benchmark::State& s) { run_forward(s, l, Device::cuda()); })
          ->Unit(benchmark::kMillisecond)->UseRealTime();
      benchmark::RegisterBenchmark(("conv_cuda_backward/" + l.name).c_str(),
                                   [l](benchmark::State& s) { run_backward(s, l, Device::cuda()); })
          ->Unit(benchmark::kMillisecond)->UseRealTime();
    }
  }
  return 0;
}

// Registered before main runs (bench/main.cpp is BENCHMARK_MAIN); the CUDA
// cases exist only where a device does.
const int registered = register_all();

}  // namespace
}  // namespace posenet
