// CUDA memory-bound report: each hand-written kernel at ResNet-50 sizes
// (batch 32, 256x256 input) timed with CUDA events on a cold L2 (a 100 MB
// buffer is written between repeats), with
//   GB/s        minimum traffic (every tensor read or written once) / GPU time
//   copy_share  GB/s over the device's copy bandwidth (cudaMemcpyAsync D2D of
//               512 MiB, read + write, best of 10), measured once per run
// and, beside them, cuDNN's way of the same work and the TFLOP/s of the
// deconvolution head and of 1x1 convolutions under both backends.
// Registered only when a CUDA device is present.
#ifdef POSENET_WITH_CUDA
#include <benchmark/benchmark.h>

#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/cuda_check.h"
#include "core/device.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "kernels/batchnorm_kernels.h"
#include "kernels/conv.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/cudnn_reference.h"
#include "kernels/elementwise_kernels.h"
#include "kernels/loss_kernels.h"
#include "kernels/optim_kernels.h"
#include "kernels/pool_kernels.h"
#include "kernels/targets_kernels.h"

namespace posenet {
namespace {

namespace kc = kernels::cuda;
constexpr double kGB = 1e9;

Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator gen(seed);
  std::vector<float> v(size_t(shape_numel(shape)));
  for (auto& x : v) x = float(gen.uniform(lo, hi));
  return Tensor::from_data(shape, v, DType::F32, Device::cuda());
}

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  Events() {
    PN_CUDA_CHECK(cudaEventCreate(&start));
    PN_CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~Events() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  double seconds() const {
    float ms = 0;
    PN_CUDA_CHECK(cudaEventSynchronize(stop));
    PN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return double(ms) / 1e3;
  }
};

// Device copy bandwidth in bytes/s (read + write), measured once.
double copy_bandwidth() {
  static const double bw = [] {
    const int64_t n = int64_t(512) << 20 >> 2;  // 512 MiB of floats
    Tensor a = Tensor::zeros({n}, DType::F32, Device::cuda()), b = Tensor::empty({n}, DType::F32, Device::cuda());
    Events ev;
    cudaStream_t s = current_stream();
    double best = 1e30;
    for (int i = 0; i < 11; ++i) {  // the first is a warm-up
      PN_CUDA_CHECK(cudaEventRecord(ev.start, s));
      PN_CUDA_CHECK(cudaMemcpyAsync(b.raw_data(), a.raw_data(), size_t(a.nbytes()), cudaMemcpyDeviceToDevice, s));
      PN_CUDA_CHECK(cudaEventRecord(ev.stop, s));
      const double t = ev.seconds();
      if (i > 0) best = std::min(best, t);
    }
    return 2.0 * double(a.nbytes()) / best;
  }();
  return bw;
}

// Written between repeats so that no operand is still in L2 (50 MB on H100).
void flush_l2(int iteration) {
  // Never freed: no device memory is released during static destruction.
  static Tensor* buffer = new Tensor(Tensor::empty({int64_t(25) << 20}, DType::F32, Device::cuda()));  // 100 MiB
  PN_CUDA_CHECK(cudaMemsetAsync(buffer->raw_data(), iteration & 0xff, size_t(buffer->nbytes()), current_stream()));
}

// Times fn per iteration (GPU time between events, cold L2) and reports the
// rate of `bytes` moved per call, or of `flops` when given.
template <typename Fn>
void time_gpu(benchmark::State& state, double bytes, double flops, Fn&& fn) {
  fn();  // warm-up: algorithm caches, allocator
  PN_CUDA_CHECK(cudaStreamSynchronize(current_stream()));
  Events ev;
  double total = 0;
  int i = 0;
  for (auto _ : state) {
    flush_l2(i++);
    PN_CUDA_CHECK(cudaEventRecord(ev.start, current_stream()));
    fn();
    PN_CUDA_CHECK(cudaEventRecord(ev.stop, current_stream()));
    const double t = ev.seconds();
    state.SetIterationTime(t);
    total += t;
  }
  const double calls = double(state.iterations());
  if (bytes > 0) {
    state.counters["GB/s"] = bytes * calls / total / kGB;
    state.counters["copy_share"] = bytes * calls / total / copy_bandwidth();
  }
  if (flops > 0) state.counters["TFLOP/s"] = flops * calls / total / 1e12;
}

// The activations timed: block outputs of ResNet-50's first two stages at
// batch 32 for a 256x256 input.
const std::vector<Shape>& activation_shapes() {
  static const std::vector<Shape> shapes{{32, 64, 64, 256}, {32, 32, 32, 512}};
  return shapes;
}
Shape shape_arg(const benchmark::State& state) { return activation_shapes()[size_t(state.range(0))]; }
double nbytes(const Shape& s) { return double(shape_numel(s)) * sizeof(float); }

void BM_CudaCopyBandwidth(benchmark::State& state) {
  for (auto _ : state) state.SetIterationTime(1e-3);
  state.counters["GB/s"] = copy_bandwidth() / kGB;
}

void BM_CudaRelu(benchmark::State& state) {
  const Shape s = shape_arg(state);
  Tensor x = uniform(s, 1), y = Tensor::empty(s, DType::F32, Device::cuda());
  time_gpu(state, 2 * nbytes(s), 0, [&] { kc::relu_forward(x, y); });
}

void BM_CudaAdd(benchmark::State& state, bool cudnn) {
  const Shape s = shape_arg(state);
  Tensor a = uniform(s, 1), b = uniform(s, 2), c = Tensor::empty(s, DType::F32, Device::cuda());
  // Both read two tensors and write one (cuDNN: c += a in place).
  if (cudnn) time_gpu(state, 3 * nbytes(s), 0, [&] { kc::cudnn_add_tensor(a, b); });
  else time_gpu(state, 3 * nbytes(s), 0, [&] { kc::add_forward(a, b, c); });
}

struct BnOperands {
  Tensor x, z, y, dy, dx, dz, weight, bias, running_mean, running_var, mean, invstd, dweight, dbias;
  explicit BnOperands(const Shape& s) {
    const Shape c{s[3]};
    const Device d = Device::cuda();
    x = uniform(s, 1);
    z = uniform(s, 2);
    dy = uniform(s, 3);
    y = Tensor::empty(s, DType::F32, d);
    dx = Tensor::empty(s, DType::F32, d);
    dz = Tensor::empty(s, DType::F32, d);
    weight = Tensor::full(c, 1.0, DType::F32, d);
    bias = Tensor::zeros(c, DType::F32, d);
    running_mean = Tensor::zeros(c, DType::F32, d);
    running_var = Tensor::full(c, 1.0, DType::F32, d);
    mean = Tensor::empty(c, DType::F32, d);
    invstd = Tensor::empty(c, DType::F32, d);
    dweight = Tensor::empty(c, DType::F32, d);
    dbias = Tensor::empty(c, DType::F32, d);
  }
  void stats() { kc::batch_norm_train_stats(x, 1e-5, 0.1, mean, invstd, running_mean, running_var); }
  void apply() { kc::batch_norm_apply(x, mean, invstd, weight, bias, z, true, y); }
};

void BM_CudaBnStats(benchmark::State& state) {
  const Shape s = shape_arg(state);
  BnOperands bn(s);
  time_gpu(state, nbytes(s), 0, [&] { bn.stats(); });
}

void BM_CudaBnApplyAddRelu(benchmark::State& state) {
  const Shape s = shape_arg(state);
  BnOperands bn(s);
  bn.stats();
  time_gpu(state, 3 * nbytes(s), 0, [&] { bn.apply(); });  // x, z read; y written
}

// Training forward of relu(bn(x) + z) as a whole: posenet's statistics +
// fused apply, or cuDNN's BN_ADD_ACTIVATION (persistent, NHWC). Minimum
// traffic: x, z read, y written.
void BM_CudaBnAddReluTrainForward(benchmark::State& state, bool cudnn) {
  const Shape s = shape_arg(state);
  BnOperands bn(s);
  if (cudnn)
    time_gpu(state, 3 * nbytes(s), 0, [&] {
      kc::cudnn_bn_add_relu_forward_training(bn.x, bn.z, bn.weight, bn.bias, bn.running_mean, bn.running_var, 1e-5,
                                             0.1, bn.y, bn.mean, bn.invstd);
    });
  else
    time_gpu(state, 3 * nbytes(s), 0, [&] {
      bn.stats();
      bn.apply();
    });
}

void BM_CudaBnAddReluBackward(benchmark::State& state) {
  const Shape s = shape_arg(state);
  BnOperands bn(s);
  bn.stats();
  bn.apply();
  // x, y, dy read; dx, dz written.
  time_gpu(state, 5 * nbytes(s), 0, [&] {
    kc::batch_norm_backward(bn.x, bn.y, bn.dy, bn.mean, bn.invstd, bn.weight, true, true, bn.dx, bn.dweight,
                            bn.dbias, bn.dz);
  });
}

// The stem's 3x3/2 max-pool: [32, 128, 128, 64] -> [32, 64, 64, 64], with argmax.
void BM_CudaMaxPool(benchmark::State& state) {
  const Shape xs{32, 128, 128, 64}, ys{32, 64, 64, 64};
  Tensor x = uniform(xs, 1), y = Tensor::empty(ys, DType::F32, Device::cuda());
  Storage argmax(size_t(shape_numel(ys)) * sizeof(int32_t), Device::cuda());
  const auto p = ops::MaxPool2dParams::square(3, 2, 1);
  time_gpu(state, nbytes(xs) + 2 * nbytes(ys), 0,
           [&] { kc::max_pool2d_forward(x, p, y, static_cast<int32_t*>(argmax.data())); });
}

// Heatmap loss at [32, 64, 64, 16]: stored targets (pred and target read)
// against the targets computed in place (pred read only).
void BM_CudaWeightedMse(benchmark::State& state, bool backward, bool fused) {
  const Shape s{32, 64, 64, 16};
  Tensor pred = uniform(s, 1, 0.0, 1.0), target = uniform(s, 2, 0.0, 1.0), dpred = Tensor::empty(s, DType::F32, Device::cuda());
  Tensor weight = Tensor::full({32, 16}, 1.0, DType::F32, Device::cuda());
  Tensor joints = uniform({32, 16, 2}, 3, 0.0, 256.0);
  Tensor out = Tensor::empty({}, DType::F32, Device::cuda()), g = Tensor::full({}, 1.0, DType::F32, Device::cuda());
  ops::GaussianTargetSpec spec;  // 64x64, stride 4, sigma 2
  const double reads = fused ? 1 : 2;
  if (!backward && !fused) time_gpu(state, reads * nbytes(s), 0, [&] { kc::weighted_mse_forward(pred, target, weight, out); });
  if (!backward && fused)
    time_gpu(state, reads * nbytes(s), 0, [&] { kc::gaussian_weighted_mse_forward(pred, joints, weight, spec, out); });
  if (backward && !fused)
    time_gpu(state, (reads + 1) * nbytes(s), 0,
             [&] { kc::weighted_mse_backward(pred, target, weight, g, dpred); });
  if (backward && fused)
    time_gpu(state, (reads + 1) * nbytes(s), 0,
             [&] { kc::gaussian_weighted_mse_backward(pred, joints, weight, spec, g, dpred); });
}

// Adam over 25M parameters in 100 tensors of 250k: param, m, v read and
// written, grad read.
void BM_CudaAdam(benchmark::State& state) {
  std::vector<kernels::AdamSlot> slots;
  for (int i = 0; i < 100; ++i)
    slots.push_back({uniform({250000}, 4 * uint64_t(i)), uniform({250000}, 4 * uint64_t(i) + 1),
                     Tensor::zeros({250000}, DType::F32, Device::cuda()),
                     Tensor::zeros({250000}, DType::F32, Device::cuda())});
  kernels::AdamStepArgs args;
  args.scalars = Tensor::from_data({2}, std::vector<double>{1e-3, 1.0}, DType::F64, Device::cuda());  // {lr, step}
  args.beta1 = 0.9;
  args.beta2 = 0.999;
  args.eps = 1e-8;
  time_gpu(state, 7.0 * 25e6 * sizeof(float), 0, [&] { kc::adam_step(slots, args); });
}

// The head's 4x4/2 deconvolutions (posenet runs them as cuDNN backward-data).
void BM_CudaDeconvHead(benchmark::State& state) {
  static const Shape inputs[3] = {{32, 8, 8, 2048}, {32, 16, 16, 256}, {32, 32, 32, 256}};
  const Shape xs = inputs[state.range(0)];
  Tensor x = uniform(xs, 1), w = uniform({xs[3], 4, 4, 256}, 2, -0.05, 0.05);
  const auto p = ops::ConvTranspose2dParams::square(2, 1);
  const double flops = 2.0 * double(shape_numel(xs)) * 256 * 16;
  NoGradGuard no_grad;
  time_gpu(state, 0, flops, [&] { benchmark::DoNotOptimize(ops::conv_transpose2d(x, w, Tensor(), p).raw_data()); });
}

// ResNet-50's 1x1 convolutions at batch 32 (256x256 input): forward,
// backward-data and backward-weight together, cuDNN or cuBLAS. The default
// backend (kernels/cuda/conv.h) should be the faster one summed over these.
void BM_CudaConv1x1(benchmark::State& state, kc::Conv1x1Backend backend) {
  static const int64_t shapes[8][3] = {{64, 256, 64},   {64, 64, 256},   {32, 512, 128},  {32, 128, 512},
                                       {16, 1024, 256}, {16, 256, 1024}, {8, 2048, 512}, {8, 512, 2048}};
  const int64_t* sh = shapes[state.range(0)];
  kernels::ConvGeometry g;
  g.N = 32;
  g.H = g.W = g.P = g.Q = sh[0];
  g.C = sh[1];
  g.K = sh[2];
  g.R = g.S = 1;
  Tensor x = uniform({g.N, g.H, g.W, g.C}, 1), w = uniform({g.K, 1, 1, g.C}, 2);
  Tensor y = Tensor::empty({g.N, g.P, g.Q, g.K}, DType::F32, Device::cuda()), dy = uniform(y.shape(), 3);
  Tensor dx = Tensor::empty(x.shape(), DType::F32, Device::cuda()), dw = Tensor::empty(w.shape(), DType::F32, Device::cuda());
  struct Restore {  // also when a call throws
    kc::Conv1x1Backend saved = kc::conv1x1_backend();
    ~Restore() { kc::set_conv1x1_backend(saved); }
  } restore;
  kc::set_conv1x1_backend(backend);
  time_gpu(state, 0, 3 * g.flops(), [&] {
    kc::conv2d_forward(x, w, y, g);
    kc::conv2d_backward_data(dy, w, dx, g);
    kc::conv2d_backward_weight(x, dy, dw, g);
  });
}

// Registers fn(state, args...) so that an exception inside it (a cuDNN
// configuration this GPU or library does not support, out of memory) marks
// that one benchmark as failed, with the message, instead of escaping into
// Google Benchmark, which would terminate posenet-bench and lose every
// later result and the JSON file.
template <typename... Params, typename... Args>
benchmark::internal::Benchmark* register_guarded(const char* name, void (*fn)(benchmark::State&, Params...),
                                                 Args... args) {
  return benchmark::RegisterBenchmark(name, [fn, args...](benchmark::State& state) {
    try {
      fn(state, args...);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  });
}

bool register_all() {
  if (!cuda_available()) return false;
  auto common = [](benchmark::internal::Benchmark* b) {
    b->UseManualTime()->Unit(benchmark::kMicrosecond);
  };
  auto activations = [&](benchmark::internal::Benchmark* b) {
    common(b);
    b->Arg(0)->Arg(1)->ArgName("shape");
  };
  common(register_guarded("BM_CudaCopyBandwidth", BM_CudaCopyBandwidth)->Iterations(1));
  activations(register_guarded("BM_CudaRelu", BM_CudaRelu));
  activations(register_guarded("BM_CudaAdd/posenet", BM_CudaAdd, false));
  activations(register_guarded("BM_CudaAdd/cudnn", BM_CudaAdd, true));
  activations(register_guarded("BM_CudaBnStats", BM_CudaBnStats));
  activations(register_guarded("BM_CudaBnApplyAddRelu", BM_CudaBnApplyAddRelu));
  activations(register_guarded("BM_CudaBnAddReluTrainForward/posenet", BM_CudaBnAddReluTrainForward, false));
  activations(register_guarded("BM_CudaBnAddReluTrainForward/cudnn", BM_CudaBnAddReluTrainForward, true));
  activations(register_guarded("BM_CudaBnAddReluBackward", BM_CudaBnAddReluBackward));
  common(register_guarded("BM_CudaMaxPool", BM_CudaMaxPool));
  common(register_guarded("BM_CudaWeightedMse/forward/stored", BM_CudaWeightedMse, false, false));
  common(register_guarded("BM_CudaWeightedMse/forward/gaussian", BM_CudaWeightedMse, false, true));
  common(register_guarded("BM_CudaWeightedMse/backward/stored", BM_CudaWeightedMse, true, false));
  common(register_guarded("BM_CudaWeightedMse/backward/gaussian", BM_CudaWeightedMse, true, true));
  common(register_guarded("BM_CudaAdam/25M", BM_CudaAdam));
  common(register_guarded("BM_CudaDeconvHead", BM_CudaDeconvHead)->DenseRange(0, 2)->ArgName("layer"));
  for (auto [name, backend] : {std::pair{"BM_CudaConv1x1/cudnn", kc::Conv1x1Backend::CuDNN},
                               std::pair{"BM_CudaConv1x1/cublas", kc::Conv1x1Backend::CuBLAS}})
    common(register_guarded(name, BM_CudaConv1x1, backend)->DenseRange(0, 7)->ArgName("shape"));
  return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
}  // namespace posenet
#endif
