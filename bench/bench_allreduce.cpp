// Data-parallel communication, under `mpirun -np N posenet-bench
// --benchmark_filter=all_reduce` (every rank runs the same benchmarks with
// fixed iteration counts, so their collectives pair up):
//   all_reduce/<device>/<MiB>   algbw = bytes / time and busbw = algbw *
//                               2 (n - 1) / n, as nccl-tests defines them
//                               (float32 sums in place; MPI on CPU tensors,
//                               NCCL on CUDA ones where built);
//   all_reduce_share/<model>    a training step with its gradient average
//                               run after backward (not overlapped): the
//                               all-reduce's milliseconds and its share of
//                               the step.
// A single process has nothing to reduce: the benchmarks say so and skip.
#include <benchmark/benchmark.h>

#include <chrono>
#include <exception>
#include <string>

#include "core/device.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/optim.h"
#include "models/pose_model.h"
#include "models/spec.h"
#include "train/data_parallel.h"

namespace posenet {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

dist::Communicator* several_ranks(benchmark::State& state) {
  dist::Communicator& comm = dist::process_communicator();
  if (comm.size() < 2) {
    state.SkipWithError("one process: run under mpirun -np N (N >= 2) to measure all-reduce");
    return nullptr;
  }
  return &comm;
}

Device rank_device(const dist::Communicator& comm, bool cuda) {
  return cuda ? Device::cuda(comm.world().local_rank) : Device::cpu();
}

void all_reduce_bandwidth(benchmark::State& state, bool cuda) {
  dist::Communicator* comm = several_ranks(state);
  if (comm == nullptr) return;
  try {
    const int64_t bytes = state.range(0) << 20;
    const Device device = rank_device(*comm, cuda);
    Tensor t = Tensor::full({bytes / 4}, 1.0, DType::F32, device);
    Backend& backend = backend_for(device);
    comm->all_reduce_sum(t);  // warm-up (NCCL creates its communicator here)
    backend.synchronize();
    comm->barrier();
    double total = 0;
    for (auto _ : state) {
      const auto t0 = clock_type::now();
      comm->all_reduce_sum(t);
      backend.synchronize();
      const double s = seconds_since(t0);
      state.SetIterationTime(s);
      total += s;
    }
    const double n = comm->size(), algbw = double(bytes) * double(state.iterations()) / total / 1e9;
    state.counters["algbw_GBps"] = algbw;
    state.counters["busbw_GBps"] = algbw * 2 * (n - 1) / n;
    state.counters["ranks"] = n;
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void all_reduce_share(benchmark::State& state, const std::string& name, int input, int batch, bool cuda) {
  dist::Communicator* comm = several_ranks(state);
  if (comm == nullptr) return;
  try {
    const Device device = rank_device(*comm, cuda);
    models::ModelOptions options;
    options.input_h = options.input_w = input;
    const models::ModelSpec spec = models::parse_model_spec(name, options);
    Generator gen(1);
    auto model = models::build_model(spec, gen);
    model->to(device);
    model->train();
    Adam adam(model->parameters(), AdamOptions{});
    train::DataParallel parallel(*comm, false);
    const Tensor x = Tensor::full({batch, input, input, 3}, 0.5, DType::F32, device);
    const Tensor target = Tensor::full({batch, spec.heatmap_h(), spec.heatmap_w(), spec.joints}, 0.1, DType::F32, device);
    const Tensor weight = Tensor::full({batch, spec.joints}, 1.0, DType::F32, device);
    Backend& backend = backend_for(device);
    double compute = 0, reduce = 0;
    auto step = [&](bool timed) {
      auto t0 = clock_type::now();
      Tensor loss;
      for (const Tensor& h : model->forward_heatmaps(x)) {
        Tensor l = ops::weighted_mse(h, target, weight);
        loss = loss.defined() ? ops::add(loss, l) : l;
      }
      adam.zero_grad();
      loss.backward();
      backend.synchronize();
      const double forward_backward = seconds_since(t0);
      comm->barrier();  // the all-reduce alone, not a wait for a slower rank
      t0 = clock_type::now();
      parallel.average_gradients(adam.params());
      backend.synchronize();
      const double all_reduce = seconds_since(t0);
      t0 = clock_type::now();
      adam.step();
      backend.synchronize();
      if (timed) compute += forward_backward + seconds_since(t0), reduce += all_reduce;
      return forward_backward + all_reduce;
    };
    step(false);  // warm-up
    for (auto _ : state) state.SetIterationTime(step(true));
    const double steps = double(state.iterations());
    state.counters["step_ms"] = 1e3 * compute / steps;
    state.counters["all_reduce_ms"] = 1e3 * reduce / steps;
    state.counters["share"] = reduce / (compute + reduce);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

int register_all_reduce() {
  std::vector<bool> devices{false};
  if (cuda_available()) devices.push_back(true);
  for (bool cuda : devices) {
    benchmark::RegisterBenchmark(cuda ? "all_reduce/cuda/MiB" : "all_reduce/cpu/MiB", all_reduce_bandwidth, cuda)
        ->RangeMultiplier(4)
        ->Range(1, cuda ? 1024 : 64)
        ->Iterations(cuda ? 20 : 5)  // fixed: every rank must run the same collectives
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("all_reduce_share/cpu/hourglass:r18/64x64/b8", all_reduce_share, "hourglass:r18", 64, 8,
                               false)
      ->Iterations(3)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  if (cuda_available())
    for (const char* name : {"simplebaseline:r50", "multistage:r101,r50,r50"})
      benchmark::RegisterBenchmark((std::string("all_reduce_share/cuda/") + name + "/256x256/b32").c_str(),
                                   all_reduce_share, std::string(name), 256, 32, true)
          ->Iterations(10)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
  return 0;
}
const int registered = register_all_reduce();

}  // namespace
}  // namespace posenet
