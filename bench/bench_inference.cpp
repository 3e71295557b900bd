// Inference with batch norm folded into the convolutions (layers/fold_batch_norm.h),
// against the unfolded model, on CUDA (registered only when a device is present):
//   BM_CudaEpilogue/<fused|unfused>/shape:<i>  the folded convolution's epilogue
//       y = ReLU(y + bias + residual) in one pass, against the sequence it
//       replaces (bias add, add, ReLU), on ResNet-50's block outputs at batch
//       32, 256x256 (GB/s of the fused pass's minimum traffic);
//   BM_CudaInference/simplebaseline:r50/<unfolded|folded>  eval forward at
//       batch 32, 256x256, float32 (img/s).
// The names start with BM_Cuda so that the GPU bundle's kernel step
// (scripts/gpu-run.sh) runs them.
#ifdef POSENET_WITH_CUDA
#include <benchmark/benchmark.h>

#include <exception>
#include <functional>
#include <vector>

#include "core/autograd.h"
#include "core/cuda_check.h"
#include "core/device.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "kernels/conv_epilogue_kernels.h"
#include "kernels/conv_kernels.h"
#include "kernels/elementwise_kernels.h"
#include "layers/fold_batch_norm.h"
#include "models/pose_model.h"
#include "models/spec.h"

namespace posenet {
namespace {

namespace kc = kernels::cuda;

Tensor random_on_gpu(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  std::vector<float> v(size_t(shape_numel(shape)));
  for (auto& x : v) x = float(gen.uniform(-1.0, 1.0));
  return Tensor::from_data(shape, v, DType::F32, Device::cuda());
}

// Times fn per iteration with CUDA events (after one warm-up call).
void time_on_gpu(benchmark::State& state, const std::function<void()>& fn) {
  fn();
  PN_CUDA_CHECK(cudaStreamSynchronize(current_stream()));
  cudaEvent_t start = nullptr, stop = nullptr;
  PN_CUDA_CHECK(cudaEventCreate(&start));
  PN_CUDA_CHECK(cudaEventCreate(&stop));
  for (auto _ : state) {
    PN_CUDA_CHECK(cudaEventRecord(start, current_stream()));
    fn();
    PN_CUDA_CHECK(cudaEventRecord(stop, current_stream()));
    PN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    PN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(double(ms) / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

void BM_CudaEpilogue(benchmark::State& state, bool fused) {
  static const Shape shapes[2] = {{32, 64, 64, 256}, {32, 32, 32, 512}};
  const Shape s = shapes[state.range(0)];
  Tensor y = random_on_gpu(s, 1), residual = random_on_gpu(s, 2), bias = random_on_gpu({s[3]}, 3);
  Tensor sum = Tensor::empty(s, DType::F32, Device::cuda());
  time_on_gpu(state, [&] {
    if (fused) return kc::conv_bias_residual_relu(y, bias, residual, true);
    kc::conv_bias_add(y, bias);
    kc::add_forward(y, residual, sum);
    kc::relu_forward(sum, y);
  });
  const double bytes = 3.0 * double(shape_numel(s)) * sizeof(float);  // y read and written, residual read
  state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_CudaInference(benchmark::State& state, bool folded) {
  const int batch = 32, input = 256;
  models::ModelOptions options;
  options.input_h = options.input_w = input;
  Generator gen(1);
  auto model = models::build_model(models::parse_model_spec("simplebaseline:r50", options), gen);
  model->to(Device::cuda());
  model->eval();
  if (folded) fold_batch_norm(*model);
  const Tensor x = Tensor::full({batch, input, input, 3}, 0.5, DType::F32, Device::cuda());
  const NoGradGuard no_grad;
  time_on_gpu(state, [&] { benchmark::DoNotOptimize(model->forward_heatmaps(x).back().raw_data()); });
  state.counters["img/s"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
}

benchmark::internal::Benchmark* register_guarded(const char* name, void (*fn)(benchmark::State&, bool), bool arg) {
  return benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State& state) {
    try {
      fn(state, arg);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  });
}

bool register_all() {
  if (!cuda_available()) return false;
  for (bool fused : {true, false})
    register_guarded(fused ? "BM_CudaEpilogue/fused" : "BM_CudaEpilogue/unfused", BM_CudaEpilogue, fused)
        ->DenseRange(0, 1)
        ->ArgName("shape")
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  for (bool folded : {false, true})
    register_guarded(folded ? "BM_CudaInference/simplebaseline:r50/folded"
                            : "BM_CudaInference/simplebaseline:r50/unfolded",
                     BM_CudaInference, folded)
        ->Iterations(10)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
}  // namespace posenet
#endif
