// The hand-written 4x4 stride-2 deconvolution (kernels/cuda/deconv.h) against
// cuDNN on the decoder's real shapes: simplebaseline:r50 at 256x256, batch
// 32, float32: 2048 -> 256 at 8x8, 256 -> 256 at 16x16 and at 32x32.
// BM_CudaDeconvVsCudnn/<pass>/layer:<i> times both backends in one run (CUDA events,
// best of 10 after 2 warm-up runs) and reports
//   hand_ms, cudnn_ms, cudnn_tf32_ms   GPU time of one pass
//   speedup         cudnn_ms / hand_ms (above 1: the hand-written one is faster)
//   speedup_tf32    cudnn_tf32_ms / hand_ms (cuDNN's default float32 math)
//   TFLOP/s         the hand-written pass's rate
// The name starts with BM_Cuda so that the GPU bundle's kernel step
// (scripts/gpu-run.sh) runs it with the other CUDA kernels.
// forward is the deconvolution's forward pass; backward its backward-data
// and backward-weight together. Registered only when a CUDA device is present.
#ifdef POSENET_WITH_CUDA
#include <benchmark/benchmark.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <limits>
#include <vector>

#include "core/cuda_check.h"
#include "core/device.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/deconv.h"

namespace posenet {
namespace {

namespace kc = kernels::cuda;

Tensor uniform_on_gpu(const Shape& shape, uint64_t seed, double scale) {
  Generator gen(seed);
  std::vector<float> v(size_t(shape_numel(shape)));
  for (auto& x : v) x = float(gen.uniform(-scale, scale));
  return Tensor::from_data(shape, v, DType::F32, Device::cuda());
}

// Best GPU time of fn over 10 runs, in milliseconds.
double best_ms(const std::function<void()>& fn) {
  cudaEvent_t start = nullptr, stop = nullptr;
  PN_CUDA_CHECK(cudaEventCreate(&start));
  PN_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 2; ++i) fn();
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 10; ++i) {
    PN_CUDA_CHECK(cudaEventRecord(start, current_stream()));
    fn();
    PN_CUDA_CHECK(cudaEventRecord(stop, current_stream()));
    PN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    PN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    best = std::min(best, double(ms));
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

void BM_Deconv(benchmark::State& state, bool backward) {
  static const int64_t layers[3][3] = {{8, 2048, 256}, {16, 256, 256}, {32, 256, 256}};  // side, Cin, Cout
  const int64_t* l = layers[state.range(0)];
  // The deconvolution's input [32, side, side, Cin] is the adjoint conv2d's y.
  kernels::ConvGeometry g;
  g.N = 32, g.P = g.Q = l[0], g.K = l[1], g.C = l[2], g.H = g.W = 2 * l[0], g.R = g.S = 4;
  g.stride_h = g.stride_w = 2, g.pad_h = g.pad_w = 1;
  const Tensor small = uniform_on_gpu({g.N, g.P, g.Q, g.K}, 1, 1.0), w = uniform_on_gpu({g.K, 4, 4, g.C}, 2, 0.05);
  const Tensor large_grad = uniform_on_gpu({g.N, g.H, g.W, g.C}, 3, 1.0);
  Tensor large = Tensor::empty({g.N, g.H, g.W, g.C}, DType::F32, Device::cuda());
  Tensor small_grad = Tensor::empty(small.shape(), DType::F32, Device::cuda());
  Tensor dw = Tensor::empty(w.shape(), DType::F32, Device::cuda());
  auto pass = [&] {
    if (!backward) return kc::routed_conv2d_backward_data(small, w, large, g);
    kc::routed_conv2d_forward(large_grad, w, small_grad, g);
    kc::routed_conv2d_backward_weight(large_grad, small, dw, g);
  };
  struct Restore {  // also when a call throws
    kc::DeconvBackend backend = kc::deconv_backend();
    bool tf32 = kc::allow_tf32();
    ~Restore() {
      kc::set_deconv_backend(backend);
      kc::set_allow_tf32(tf32);
    }
  } restore;
  double hand = 0, cudnn = 0, cudnn_tf32 = 0;
  for (auto _ : state) {
    kc::set_deconv_backend(kc::DeconvBackend::Hand);
    hand = best_ms(pass);
    kc::set_deconv_backend(kc::DeconvBackend::CuDNN);
    kc::set_allow_tf32(false);
    cudnn = best_ms(pass);
    kc::set_allow_tf32(true);
    cudnn_tf32 = best_ms(pass);
    state.SetIterationTime(hand / 1e3);
  }
  state.counters["hand_ms"] = hand;
  state.counters["cudnn_ms"] = cudnn;
  state.counters["cudnn_tf32_ms"] = cudnn_tf32;
  state.counters["speedup"] = cudnn / hand;
  state.counters["speedup_tf32"] = cudnn_tf32 / hand;
  state.counters["TFLOP/s"] = (backward ? 2 : 1) * g.flops() / (hand * 1e-3) / 1e12;
}

bool register_all() {
  if (!cuda_available()) return false;
  for (auto [name, backward] : {std::pair{"BM_CudaDeconvVsCudnn/forward", false},
                                 std::pair{"BM_CudaDeconvVsCudnn/backward", true}})
    benchmark::RegisterBenchmark(name,
                                 [backward = backward](benchmark::State& state) {
                                   try {
                                     BM_Deconv(state, backward);
                                   } catch (const std::exception& e) {
                                     state.SkipWithError(e.what());
                                   }
                                 })
        ->DenseRange(0, 2)
        ->ArgName("layer")
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
}  // namespace posenet
#endif
