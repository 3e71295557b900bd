// `posenet train --device cuda` against `--device cpu`: the same tiny
// synthetic run (same seed, data, augmentation) must log the same loss at
// every step, to float32 tolerance. In an EMU build the CUDA kernels run in
// the emulator (and the convolutions on the CPU kernels), so the losses
// differ only by the kernels' summation orders.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace posenet {
namespace {

namespace fs = std::filesystem;

std::vector<double> train_step_losses(const std::string& device, const fs::path& out) {
  const std::string cmd = std::string(POSENET_CLI_PATH) +
                          " train --model tiny --width 0.125 --decoder-channels 16 --input-size 32"
                          " --synthetic-count 16 --synthetic-size 48 --epochs 2 --batch-size 4 --max-steps 3"
                          " --lr 0.001 --sigmas 1 --workers 0 --seed 11 --val-every 0 --progress false --device " +
                          device + " --out " + out.string() + " > " + (out.string() + ".txt") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<double> losses;
  std::ifstream in(out / "log.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == "step") losses.push_back(j["loss"].get<double>());
  }
  return losses;
}

TEST(TrainCuda, StepLossesEqualTheCpuRun) {
  PN_REQUIRE_CUDA();
  const fs::path dir = testing::temp_dir("train_cuda");
  const std::vector<double> cpu = train_step_losses("cpu", dir / "cpu");
  const std::vector<double> cuda = train_step_losses("cuda", dir / "cuda");
  ASSERT_EQ(cpu.size(), 6u);
  ASSERT_EQ(cuda.size(), cpu.size());
  // The first step sees the same weights on both devices: only summation
  // orders differ. Later steps compound those differences through the
  // optimizer (measured: at most 7e-5 relative after six steps in EMU).
#ifdef POSENET_CUDA_EMU
  const double first_rtol = 1e-6, rtol = 3e-4;
#else
  const double first_rtol = 2e-2, rtol = 2e-2;  // a real GPU's convolutions use TF32 by default
#endif
  for (size_t i = 0; i < cpu.size(); ++i) {
    EXPECT_TRUE(std::isfinite(cuda[i])) << "step " << i + 1;
    EXPECT_NEAR(cuda[i], cpu[i], (i == 0 ? first_rtol : rtol) * std::abs(cpu[i])) << "step " << i + 1;
  }
}

}  // namespace
}  // namespace posenet
