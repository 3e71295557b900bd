// Whole training steps (forward of every stage, the multi-stage loss,
// backward, Adam) of the paper's models: images/s and peak tensor memory.
// CPU: hourglass:r18 at 64x64, batch 8 (DESIGN.md's CPU target, compared
// with PyTorch by bench/compare_train_step.sh). CUDA (when a device is
// present): simplebaseline:r50 and multistage:r101,r50,r50 at 256x256,
// batch 32, against bench/pytorch_train_step.py's tf32 rows in the GPU check
// (scripts/gpu-bundle.sh). The CUDA rows are labelled by precision: tf32,
// float32 with TF32 convolutions (CUDA's default, kernels/cuda/conv.h), and
// bf16, mixed precision (docs/precision.md) against PyTorch's AMP bf16 rows.
#include <benchmark/benchmark.h>

#include <exception>

#include "core/device.h"
#include "core/rng.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/optim.h"
#include "models/pose_model.h"
#include "models/spec.h"

namespace posenet {
namespace {

void run_train_steps(benchmark::State& state, const std::string& name, int input, int batch, Device device,
                     DType activations);

// An error inside a step (out of memory on a smaller GPU, a cuDNN failure)
// fails this benchmark with its message; escaping into Google Benchmark it
// would terminate posenet-bench and lose every other result.
void train_step_benchmark(benchmark::State& state, const std::string& name, int input, int batch, Device device,
                          DType activations) {
  if (device.is_cuda() && !cuda_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  try {
    run_train_steps(state, name, input, batch, device, activations);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void run_train_steps(benchmark::State& state, const std::string& name, int input, int batch, Device device,
                     DType activations) {
  models::ModelOptions options;
  options.input_h = options.input_w = input;
  models::ModelSpec spec = models::parse_model_spec(name, options);
  Generator gen(1);
  auto model = models::build_model(spec, gen);
  model->to(device);
  model->train();
  model->set_activation_dtype(activations);
  Adam adam(model->parameters(), AdamOptions{});
  Tensor x = Tensor::full({batch, input, input, 3}, 0.5, DType::F32, device);
  std::vector<Tensor> targets;
  for (int s = 0; s < spec.stages(); ++s)
    targets.push_back(Tensor::full({batch, spec.heatmap_h(), spec.heatmap_w(), spec.joints}, 0.1, DType::F32, device));
  Tensor weight = Tensor::full({batch, spec.joints}, 1.0, DType::F32, device);
  Backend& backend = backend_for(device);
  auto step = [&] {
    std::vector<Tensor> heatmaps = model->forward_heatmaps(x);
    Tensor loss;
    for (size_t s = 0; s < heatmaps.size(); ++s) {
      Tensor l = ops::weighted_mse(heatmaps[s], targets[s], weight);
      loss = loss.defined() ? ops::add(loss, l) : l;
    }
    adam.zero_grad();
    loss.backward();
    adam.step();
    backend.synchronize();
  };
  step();  // warm-up: algorithm choices, allocator cache
  backend.reset_peak();
  for (auto _ : state) step();
  state.counters["img/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_MiB"] = double(backend.peak_bytes()) / 1048576.0;
}

int register_train_steps() {
  benchmark::RegisterBenchmark("train_step/cpu/hourglass:r18/64x64/b8", train_step_benchmark, "hourglass:r18", 64, 8,
                               Device::cpu(), DType::F32)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(2.0);
  if (cuda_available()) {
    for (const char* name : {"simplebaseline:r50", "multistage:r101,r50,r50"})
      for (const auto& [label, activations] : {std::pair{"tf32", DType::F32}, std::pair{"bf16", DType::BF16}})
        benchmark::RegisterBenchmark((std::string("train_step/cuda/") + name + "/256x256/b32/" + label).c_str(),
                                     train_step_benchmark, std::string(name), 256, 32, Device::cuda(0), activations)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(5.0);
  }
  return 0;
}
const int registered = register_train_steps();

}  // namespace
}  // namespace posenet
