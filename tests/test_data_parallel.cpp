// Data parallelism without --sync-bn against the computation done by hand:
// every global batch of 16 split into its two halves, each half's forward
// and backward on its own (with its own batch statistics), the gradients and
// the running statistics averaged, one update. `mpirun -np 2 posenet train
// --batch-size 8` of the same settings must log the same losses.
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "core/rng.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/normalize.h"
#include "kernels/targets.h"
#include "models/spec.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/loader.h"
#include "train/targets.h"
#include "train/training_data.h"

namespace posenet::train {
namespace {

namespace fs = std::filesystem;

// Rows [begin, begin + count) of a [N, ...] CPU tensor, copied.
Tensor rows_of(const Tensor& t, int64_t begin, int64_t count) {
  Shape shape = t.shape();
  const size_t row_bytes = t.nbytes() / size_t(shape[0]);
  shape[0] = count;
  Tensor out = Tensor::empty(shape, t.dtype());
  std::memcpy(out.raw_data(), static_cast<const char*>(t.raw_data()) + size_t(begin) * row_bytes,
              size_t(count) * row_bytes);
  return out;
}

std::vector<double> logged_losses(const fs::path& log) {
  std::vector<double> out;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["type"] == "step") out.push_back(record["loss"].get<double>());
  }
  return out;
}

TEST(DataParallel, WorldSizeComesFromTheLauncherEnvironment) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr) GTEST_SKIP() << "runs outside mpirun";
  const char* before = std::getenv("PMI_SIZE");
  const std::string saved = before ? before : "";
  ::setenv("PMI_SIZE", "3", 1);
  const int three = dist::launcher_world_size();
  ::setenv("PMI_SIZE", "not a number", 1);
  const int unreadable = dist::launcher_world_size();
  if (before) {
    ::setenv("PMI_SIZE", saved.c_str(), 1);
  } else {
    ::unsetenv("PMI_SIZE");
  }
  EXPECT_EQ(three, 3);
  EXPECT_EQ(unreadable, 1);
}

// A build without MPI started by a launcher with several ranks refuses,
// instead of training N unrelated copies into one folder.
TEST(DataParallel, BuildWithoutMpiRefusesSeveralRanks) {
  if (dist::mpi_compiled_in()) GTEST_SKIP() << "this build has MPI (a -DPOSENET_MPI=OFF build runs this)";
  const fs::path out = fs::temp_directory_path() / ("posenet_no_mpi_" + std::to_string(getpid()));
  const testing::CliRun run =
      testing::cli("train --model tiny --synthetic-count 20 --out " + out.string(), 60, "OMPI_COMM_WORLD_SIZE=2");
  EXPECT_EQ(run.code, 1) << run.out;
  EXPECT_NE(run.out.find("launched as one of 2 ranks, but this posenet was built without MPI"), std::string::npos)
      << run.out;
  EXPECT_FALSE(fs::exists(out)) << "nothing is written";
}

// Two ranks holding the same values, in one process: a sum doubles.
class TwinCommunicator final : public dist::Communicator {
 public:
  int starts = 0;
  bool first_param_done_at_first_start = false;
  Tensor first_param;
  dist::World world() const override { return {0, 2, 0}; }
  std::string kind() const override { return "twin"; }
  void all_reduce_sum(Tensor& t) override { t.add_(t.clone()); }
  std::unique_ptr<dist::PendingReduce> start_all_reduce_sum(Tensor& t) override {
    if (starts++ == 0) first_param_done_at_first_start = first_param.grad().defined();
    return Communicator::start_all_reduce_sum(t);
  }
  Tensor all_gather(const Tensor& t) override { return t.clone(); }
  void broadcast(Tensor&, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message) override { throw Error(message); }
};

TEST(DataParallel, GradientsAreAveragedInBucketsWhileBackwardRuns) {
  Generator gen(7);
  std::shared_ptr<models::PoseModel> model = models::build_model(models::parse_model_spec("tiny"), gen);
  model->train();
  const std::vector<Tensor> params = model->parameters();
  Generator data(8);
  const Tensor images = Tensor::from_data({2, 64, 64, 3}, [&] {
    std::vector<float> v(2 * 64 * 64 * 3);
    for (float& x : v) x = float(data.uniform(-1.0, 1.0));
    return v;
  }());
  auto loss_of = [&] { return ops::sum(model->forward_heatmaps(images).back()); };
  // Plain backward: the reference gradients.
  loss_of().backward();
  std::vector<Tensor> expected;
  for (const Tensor& p : params) expected.push_back(p.grad().clone());
  for (Tensor p : params) p.set_grad(Tensor());

  TwinCommunicator twin;
  twin.first_param = params.front();  // the stem's first weight: its gradient is complete last
  DataParallel parallel(twin, false, 64 << 10);
  parallel.backward(loss_of(), params);
  EXPECT_GT(twin.starts, 2) << "64 KiB buckets: the tiny model's gradients take several";
  EXPECT_FALSE(twin.first_param_done_at_first_start) << "the first all-reduce waited for the end of backward";
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(params[i].grad().to_vector(), expected[i].to_vector()) << "parameter " << i;  // (g + g) / 2 == g
}

TEST(DataParallel, TwoRanksWithoutSyncBnMatchHalfBatchesByHand) {
  if (std::string(POSENET_MPIRUN).empty()) GTEST_SKIP() << POSENET_MPIRUN_SKIPPED;
  const fs::path out = fs::temp_directory_path() / ("posenet_data_parallel_" + std::to_string(getpid()));
  fs::remove_all(out);
  constexpr int kSteps = 4;
  const testing::CliRun run = testing::cli(
      "train --model tiny --data synthetic --synthetic-count 120 --synthetic-size 64 --input-size 64 --epochs 1 "
      "--max-steps 4 --val-every 0 --workers 1 --lr 0.002 --sigmas 1.0 --seed 5 --progress false --batch-size 8 "
      "--out " + out.string(),
      300,
      // The ranks use this process's thread count: the CPU kernels sum in
      // the same order then, and the losses agree to the last bits.
      "OMP_NUM_THREADS=" + std::to_string(omp_get_max_threads()) +
          " OMPI_MCA_btl_vader_single_copy_mechanism=none " + POSENET_MPIRUN + " -np 2");
  ASSERT_EQ(run.code, 0) << run.out;
  const std::vector<double> logged = logged_losses(out / "log.jsonl");
  ASSERT_EQ(logged.size(), size_t(kSteps)) << run.out;

  TrainConfig c;
  c.model = "tiny";
  c.synthetic_count = 120;
  c.synthetic_size = 64;
  c.input_size = 64;
  c.sigmas = {1.0};
  c.seed = 5;
  c.lr = 0.002;
  c.batch_size = 16;  // the global batch
  c.workers = 0;
  const TrainingData data = prepare_training_data(c, out);  // the run's rendered images
  const models::ModelSpec spec = model_spec_of(c);
  Generator gen = Generator(c.seed).fork(0x6d6f64656cULL);  // as the trainer initialises its model
  std::shared_ptr<models::PoseModel> model = models::build_model(spec, gen);
  model->train();
  AdamOptions options;
  options.lr = c.lr;
  Adam adam(model->parameters(), options);
  DataLoader loader(data.train, training_loader_config(c, spec));
  const ops::ImageNormalization normalization =
      ops::ImageNormalization::from_mean_std(loader.config().crop.mean, loader.config().crop.std);
  loader.start_epoch(0);
  const std::vector<Tensor> params = model->parameters();
  std::vector<Tensor> buffers;
  for (const auto& [name, b] : model->named_buffers()) buffers.push_back(b);

  for (int step = 0; step < kSteps; ++step) {
    const Batch batch = *loader.next();
    std::vector<Tensor> before;
    for (const Tensor& b : buffers) before.push_back(b.clone());
    std::vector<std::vector<Tensor>> grads(2), stats(2);
    double loss_sum = 0;
    for (int half = 0; half < 2; ++half) {
      for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(before[i]);
      Tensor images = rows_of(batch.images, 8 * half, 8);
      if (images.dtype() == DType::U8) images = ops::normalize_images(images, normalization);
      std::vector<Tensor> heatmaps = model->forward_heatmaps(images);
      const Tensor joints = rows_of(batch.joints, 8 * half, 8), weights = rows_of(batch.joint_weights, 8 * half, 8);
      Tensor loss;
      for (size_t s = 0; s < heatmaps.size(); ++s) {
        const HeatmapGeometry geometry{int(images.dim(2)), int(images.dim(1)), int(heatmaps[s].dim(2)),
                                       int(heatmaps[s].dim(1)), int(joints.dim(1))};
        Tensor l = ops::gaussian_weighted_mse(heatmaps[s], joints, weights, stage_target_spec(geometry, batch.sigmas, s));
        loss = loss.defined() ? ops::add(loss, l) : l;
      }
      loss_sum += loss.item();
      adam.zero_grad();
      loss.backward();
      for (const Tensor& p : params) grads[size_t(half)].push_back(p.grad().clone());
      for (const Tensor& b : buffers) stats[size_t(half)].push_back(b.clone());
    }
    EXPECT_NEAR(logged[size_t(step)], loss_sum / 2, 1e-6 * std::abs(loss_sum / 2)) << "step " << step + 1;
    for (size_t i = 0; i < params.size(); ++i) params[i].grad().copy_(ops::scale(ops::add(grads[0][i], grads[1][i]), 0.5));
    for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(ops::scale(ops::add(stats[0][i], stats[1][i]), 0.5));
    adam.step();
  }
  fs::remove_all(out);
}

}  // namespace
}  // namespace posenet::train
