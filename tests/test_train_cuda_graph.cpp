// --cuda-graph: the training step captured once as a CUDA graph and replayed
// (train/train_step.h), against the same run stepped eagerly; the graph's
// memory pool (core/device_graph.h); a host sync refused at capture by name.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device_graph.h"
#include "core/op_scope.h"
#include "cli_run.h"
#include "run_files.h"
#include "test_util.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;

// The CLI's command for a tiny synthetic run of 2 epochs of 6 steps whose
// sigma decreases from epoch to epoch (so the second epoch's graph is a new
// capture), with its output in out + ".txt".
std::string train_command(const fs::path& out, const std::string& extra) {
  return std::string(POSENET_CLI_PATH) +
         " train --model tiny --width 0.125 --decoder-channels 16 --input-size 32"
         " --synthetic-count 28 --synthetic-size 48 --epochs 2 --batch-size 4 --max-steps 6"
         " --lr 0.001 --sigmas 2 --sigmas-final 1.5 --workers 0 --seed 5 --val-every 0 --progress false " +
         extra + " --out " + out.string() + " > " + out.string() + ".txt 2>&1";
}

std::vector<nlohmann::json> step_records(const fs::path& out) {
  std::vector<nlohmann::json> steps;
  for (auto& j : testing::log_records(out / "log.jsonl"))
    if (j.value("type", "") == "step") steps.push_back(std::move(j));
  return steps;
}

// Replaying the captured step runs the same kernels on the same data as the
// eager step: every logged loss is the same number. After each capture
// (batch 3 of each epoch, the fourth step with that epoch's sigma) the
// replays obtain no device memory and wait once, for the previous step.
TEST(TrainCudaGraph, ReplayedStepsLogTheEagerLossesWithoutAllocationsOrExtraWaits) {
  PN_REQUIRE_CUDA();
  const fs::path dir = testing::temp_dir("train_cuda_graph");
  const std::string eager = train_command(dir / "eager", "--device cuda");
  const std::string graph = train_command(dir / "graph", "--device cuda --cuda-graph");
  ASSERT_EQ(std::system(eager.c_str()), 0) << testing::file_bytes(dir / "eager.txt");
  ASSERT_EQ(std::system(graph.c_str()), 0) << testing::file_bytes(dir / "graph.txt");
  const std::vector<nlohmann::json> e = step_records(dir / "eager"), g = step_records(dir / "graph");
  ASSERT_EQ(e.size(), 12u);
  ASSERT_EQ(g.size(), e.size());
  for (size_t i = 0; i < e.size(); ++i) {
    EXPECT_EQ(g[i].at("loss").get<double>(), e[i].at("loss").get<double>()) << "step " << i + 1;
    EXPECT_EQ(g[i].at("stage_losses"), e[i].at("stage_losses")) << "step " << i + 1;
    const int64_t batch = g[i].at("batch").get<int64_t>();
    EXPECT_FALSE(e[i].contains("cuda_graph")) << "eager steps are not marked";
    EXPECT_EQ(g[i].at("cuda_graph"), batch < 3 ? "eager" : batch == 3 ? "capture" : "replay") << "step " << i + 1;
    if (batch > 3) {  // replays
      EXPECT_EQ(g[i].at("alloc_calls").get<uint64_t>(), 0u) << "step " << i + 1 << ": " << g[i].dump();
      EXPECT_LE(g[i].at("host_syncs").get<uint64_t>(), 1u) << "step " << i + 1 << ": " << g[i].dump();
      EXPECT_EQ(g[i].at("h2d_bytes"), e[i].at("h2d_bytes")) << "step " << i + 1;
    }
  }
  // The run's setting is recorded, and may differ on resume.
  std::ifstream config(dir / "graph" / "config.json");
  EXPECT_TRUE(nlohmann::json::parse(config).at("cuda_graph").get<bool>());
}

TEST(TrainCudaGraph, RefusedOnTheCpu) {
  const fs::path dir = testing::temp_dir("train_cuda_graph_cpu");
  const testing::CliRun r = testing::cli(
      "train --model tiny --width 0.125 --input-size 32 --synthetic-count 12 --synthetic-size 48 --epochs 1"
      " --batch-size 4 --workers 0 --val-every 0 --progress false --device cpu --cuda-graph --out " +
      (dir / "cpu").string());
  testing::expect_error_mentioning(r, {"--cuda-graph needs a CUDA device", "--device cpu"});
  EXPECT_FALSE(fs::exists(dir / "cpu" / "log.jsonl"));
}

// A host sync while the step is captured fails at once, naming the op being
// dispatched; the capture is dropped and the device usable afterwards.
TEST(TrainCudaGraph, HostSyncDuringCaptureIsRefusedNamingTheOp) {
  PN_REQUIRE_CUDA();
  const Device cuda = Device::cuda(0);
  const Tensor t = Tensor::full({1}, 3.0, DType::F32, cuda);
  begin_graph_capture(cuda);
  try {
    const OpScope op("example_op");
    (void)t.item();
    ADD_FAILURE() << "item() was not refused during a capture";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("op 'example_op'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--cuda-graph"), std::string::npos) << e.what();
  }
  abort_graph_capture(cuda);
  EXPECT_EQ(t.item(), 3.0);
}

// Memory a capture allocates belongs to the graph: freed during the capture
// it is not handed to eager work while the graph lives (a replay writes it),
// and goes back to the cache with the graph.
TEST(TrainCudaGraph, CapturedAllocationsStayWithTheGraph) {
  PN_REQUIRE_CUDA();
  const Device cuda = Device::cuda(0);
  const Shape shape{1000};
  void* captured = nullptr;
  begin_graph_capture(cuda);
  {
    Tensor scratch = Tensor::zeros(shape, DType::F32, cuda);
    captured = scratch.raw_data();
  }
  std::unique_ptr<DeviceGraph> graph = end_graph_capture(cuda);
  std::vector<Tensor> eager;
  for (int i = 0; i < 8; ++i) {
    eager.push_back(Tensor::empty(shape, DType::F32, cuda));
    EXPECT_NE(eager.back().raw_data(), captured) << "a graph's block given to eager work";
  }
  graph->launch();
  eager.clear();
  graph.reset();
  bool reused = false;
  for (int i = 0; i < 16 && !reused; ++i) {
    eager.push_back(Tensor::empty(shape, DType::F32, cuda));
    reused = eager.back().raw_data() == captured;
  }
  EXPECT_TRUE(reused) << "the graph's block did not return to the cache";
}

TEST(TrainCudaGraph, CpuHasNoGraphs) {
  EXPECT_THROW(begin_graph_capture(Device::cpu()), Error);
}

}  // namespace
}  // namespace posenet
