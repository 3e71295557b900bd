// Batch-norm microbenchmarks at ResNet-50 activation sizes (NHWC, float32):
// training forward (statistics + apply), the fused BN + residual + ReLU
// forward, and the backward passes. bytes_per_second counts the minimum
// traffic of each op (every tensor read or written once); the CPU kernels
// read x more than once, so their rate is an effective one. Read the rates
// against BM_CopyReference of the same run (the machine's copy bandwidth).
#include <benchmark/benchmark.h>

#include "core/device.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "kernels/batchnorm.h"
#include "kernels/batchnorm_kernels.h"
#include "kernels/dispatch.h"

namespace posenet {
namespace {

// [H, W, C] of the block outputs of ResNet-50's four stages.
constexpr int64_t kStages[4][3] = {{56, 56, 256}, {28, 28, 512}, {14, 14, 1024}, {7, 7, 2048}};
constexpr int64_t kCpuBatch = 8;
constexpr int64_t kCudaBatch = 32;

Tensor random_f32(const Shape& shape, Generator& gen, Device device) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = float(gen.uniform(-1.0, 1.0));
  return Tensor::from_data(shape, v, DType::F32, device);
}

struct BnInputs {
  Tensor x, residual, dy, weight, bias, running_mean, running_var;
  BnInputs(int64_t batch, int stage, Device device) {
    Generator gen(7);
    const Shape shape{batch, kStages[stage][0], kStages[stage][1], kStages[stage][2]};
    const Shape c{kStages[stage][2]};
    x = random_f32(shape, gen, device);
    residual = random_f32(shape, gen, device);
    dy = random_f32(shape, gen, device);
    weight = Tensor::full(c, 1.0, DType::F32, device);
    bias = Tensor::zeros(c, DType::F32, device);
    running_mean = Tensor::zeros(c, DType::F32, device);
    running_var = Tensor::full(c, 1.0, DType::F32, device);
  }
};

bool device_ready(benchmark::State& state, Device device) {
  if (device.is_cuda() && !cuda_available()) {
    state.SkipWithError("no CUDA device");
    return false;
  }
  return true;
}

void sync(Device device) {
  if (device.is_cuda()) backend_for(device).synchronize();
}

void report(benchmark::State& state, const Tensor& x, int tensors_moved) {
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(x.nbytes()) * tensors_moved);
  state.counters["elements"] = double(x.numel());
}

void BM_BatchNormForward(benchmark::State& state, Device device, bool fused) {
  if (!device_ready(state, device)) return;
  BnInputs in(device.is_cuda() ? kCudaBatch : kCpuBatch, int(state.range(0)), device);
  const Tensor none;
  for (auto _ : state) {
    Tensor y = ops::batch_norm_add_relu(in.x, in.weight, in.bias, in.running_mean, in.running_var, {},
                                        fused ? in.residual : none, fused);
    sync(device);
    benchmark::DoNotOptimize(y.raw_data());
  }
  report(state, in.x, fused ? 3 : 2);  // x (+ residual) read, y written
}

void BM_BatchNormBackward(benchmark::State& state, Device device, bool fused) {
  if (!device_ready(state, device)) return;
  BnInputs in(device.is_cuda() ? kCudaBatch : kCpuBatch, int(state.range(0)), device);
  const Shape cshape{in.x.dim(-1)};
  Tensor mean = Tensor::empty(cshape, DType::F32, device), invstd = Tensor::empty(cshape, DType::F32, device);
  PN_DISPATCH(device, batch_norm_train_stats, in.x, 1e-5, 0.1, mean, invstd, in.running_mean, in.running_var);
  Tensor y = Tensor::empty(in.x.shape(), DType::F32, device);
  PN_DISPATCH(device, batch_norm_apply, in.x, mean, invstd, in.weight, in.bias, fused ? in.residual : Tensor(), fused,
              y);
  Tensor dx = Tensor::empty(in.x.shape(), DType::F32, device);
  Tensor dres = fused ? Tensor::empty(in.x.shape(), DType::F32, device) : Tensor();
  Tensor dw = Tensor::empty(cshape, DType::F32, device), db = Tensor::empty(cshape, DType::F32, device);
  for (auto _ : state) {
    PN_DISPATCH(device, batch_norm_backward, in.x, y, in.dy, mean, invstd, in.weight, fused, true, dx, dw, db, dres);
    sync(device);
    benchmark::DoNotOptimize(dx.raw_data());
  }
  report(state, in.x, fused ? 5 : 3);  // x, dy (+ y) read; dx (+ dresidual) written
}

// The reference the rates above are read against: a plain copy of the same
// activation (one read, one write) on the same device in the same run.
void BM_CopyReference(benchmark::State& state, Device device) {
  if (!device_ready(state, device)) return;
  BnInputs in(device.is_cuda() ? kCudaBatch : kCpuBatch, int(state.range(0)), device);
  Tensor y = Tensor::empty(in.x.shape(), DType::F32, device);
  for (auto _ : state) {
    y.copy_(in.x);
    sync(device);
    benchmark::DoNotOptimize(y.raw_data());
  }
  report(state, in.x, 2);
}

void stages(benchmark::internal::Benchmark* b) {
  for (int s = 0; s < 4; ++s) b->Arg(s);
  b->ArgName("stage")->Unit(benchmark::kMicrosecond)->UseRealTime();
}

BENCHMARK_CAPTURE(BM_CopyReference, cpu, Device::cpu())->Apply(stages);
BENCHMARK_CAPTURE(BM_BatchNormForward, cpu, Device::cpu(), false)->Apply(stages);
BENCHMARK_CAPTURE(BM_BatchNormForward, cpu_add_relu, Device::cpu(), true)->Apply(stages);
BENCHMARK_CAPTURE(BM_BatchNormBackward, cpu, Device::cpu(), false)->Apply(stages);
BENCHMARK_CAPTURE(BM_BatchNormBackward, cpu_add_relu, Device::cpu(), true)->Apply(stages);
#ifdef POSENET_WITH_CUDA
BENCHMARK_CAPTURE(BM_CopyReference, cuda, Device::cuda())->Apply(stages);
BENCHMARK_CAPTURE(BM_BatchNormForward, cuda, Device::cuda(), false)->Apply(stages);
BENCHMARK_CAPTURE(BM_BatchNormForward, cuda_add_relu, Device::cuda(), true)->Apply(stages);
BENCHMARK_CAPTURE(BM_BatchNormBackward, cuda, Device::cuda(), false)->Apply(stages);
BENCHMARK_CAPTURE(BM_BatchNormBackward, cuda_add_relu, Device::cuda(), true)->Apply(stages);
#endif

}  // namespace
}  // namespace posenet
