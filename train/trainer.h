// The training loop: data, model, optimizer, schedule, per-stage Gaussian
// targets and the multi-stage loss, validation PCKh each epoch, atomic
// `last`/`best` checkpoints, exact resume, and clean stops.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "eval/pckh.h"
#include "kernels/optim.h"
#include "models/pose_model.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/dataset.h"
#include "train/loader.h"
#include "train/progress.h"
#include "train/validate.h"

namespace posenet::train {

struct TrainResult {
  bool interrupted = false;      // stopped by a signal (a checkpoint was saved)
  int64_t epochs_done = 0;
  int64_t steps = 0;
  double last_loss = 0.0;
  std::vector<double> step_losses;  // every step's loss in this process, in order
  bool has_validation = false;
  Evaluation last_validation;       // of the last validated epoch
  double best_pckh = -1.0;
};

class Trainer {
 public:
  explicit Trainer(TrainConfig config);
  ~Trainer();
  TrainResult run();

  const TrainConfig& config() const { return config_; }
  models::PoseModel& model() { return *model_; }
  std::filesystem::path last_checkpoint() const { return out_dir_ / "last.safetensors"; }
  std::filesystem::path best_checkpoint() const { return out_dir_ / "best.safetensors"; }

 private:
  void prepare_data();
  void build_model(const Checkpoint* resume_from);
  void build_optimizer();
  double train_step(const Batch& batch, std::vector<double>& stage_losses);
  void save(const std::filesystem::path& path);
  Evaluation validate();

  TrainConfig config_;
  Device device_;
  std::filesystem::path out_dir_;
  std::shared_ptr<Dataset> train_set_, val_set_;
  eval::GroundTruth val_gt_;
  size_t val_gt_persons_ = 0;  // rows of the full ground truth (pred_valid.mat has as many)
  bool has_val_ = false;
  std::shared_ptr<models::PoseModel> model_;
  std::unique_ptr<Optimizer> optimizer_;
  TrainingState state_;
  RunLog log_;
};

}  // namespace posenet::train
