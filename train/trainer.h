// The training loop: data, model, optimizer, schedule, per-stage Gaussian
// targets and the multi-stage loss, validation PCKh each epoch, atomic
// `last`/`best` checkpoints, exact resume, and clean stops. The pieces live
// in their own files: resume policy (resume.h), the output folder
// (output_dir.h), data preparation (training_data.h), the step
// (train_step.h) and the validation report (validation_report.h); this
// class sequences them and owns the checkpoint policy.
#pragma once
#include <filesystem>
#include <memory>
#include <ostream>
#include <optional>
#include <string>
#include <vector>

#include "core/folder_lock.h"
#include "eval/pckh.h"
#include "kernels/optim.h"
#include "models/pose_model.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/dataset.h"
#include "train/loader.h"
#include "train/progress.h"
#include "train/train_step.h"
#include "train/training_data.h"
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
  double best_score = -1.0;
};

class Trainer {
 public:
  explicit Trainer(TrainConfig config);
  ~Trainer();
  TrainResult run();

  const TrainConfig& config() const { return config_; }
  Device device() const { return device_; }
  models::PoseModel& model() { return *model_; }
  // Rank 0 of a data-parallel run (or the only process): it alone writes
  // files and reports.
  bool writes_files() const { return comm_->is_root(); }
  std::filesystem::path last_checkpoint() const { return out_dir_ / "last.safetensors"; }
  std::filesystem::path best_checkpoint() const { return out_dir_ / "best.safetensors"; }

 private:
  // Everything that can fail on the settings alone, before any data is read
  // (for a new run, before its folder is created).
  void check_settings(bool resuming);
  void require_the_same_data_on_every_rank();
  void build_model(const Checkpoint* resume_from);
  void build_optimizer();
  void save(const std::filesystem::path& path);
  // A non-finite loss, gradient or weight at step global_step (1-based),
  // learnt one step late: logged, and an Error that says the last good
  // checkpoint is intact (nothing is saved after it).
  [[noreturn]] void stop_on_non_finite(const StepOutcome& step, int64_t epoch, int64_t batch, int64_t global_step);
  // Saves last.safetensors and logs the stop (a signal or --stop-after).
  void stop_with_checkpoint(int64_t epoch);
  // A resume on another number of processes: where the epoch continues.
  void continue_on_this_world_size(int64_t steps_per_epoch);
  // After an epoch: validation when due, then best/last checkpoints and the
  // epoch's log record.
  void finish_epoch(int64_t epoch, nlohmann::json epoch_record, TrainResult& result);
  // Validates, reports, writes pred_valid.mat and keeps the best checkpoint.
  void validate_epoch(int64_t epoch, nlohmann::json& epoch_record, TrainResult& result);

  TrainConfig config_;
  Device device_;
  std::filesystem::path out_dir_;
  FolderLock lock_;  // one run per --out, held from before the first write to the end
  TrainingData data_;
  std::shared_ptr<models::PoseModel> model_;
  std::unique_ptr<Optimizer> optimizer_;
  TrainingState state_;
  RunLog log_;
  // Data parallelism (train/data_parallel.h): the process's communicator;
  // parallel_ only with several ranks. Only rank 0 writes files.
  dist::Communicator* comm_ = nullptr;
  std::unique_ptr<DataParallel> parallel_;
  // Where this process prints run reports: std::cout on rank 0, nowhere on others.
  std::ostream& report_stream();
};

}  // namespace posenet::train
