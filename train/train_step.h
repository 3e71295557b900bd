// One optimisation step: forward pass of every stage, the summed per-stage
// weighted MSE (targets made inside the loss), backward pass, a device-side
// non-finite check and the optimizer update it allows. Steps are queued
// without the host waiting; each step's values are read back while the next
// one runs.
#pragma once
#include <optional>
#include <vector>

#include "core/device.h"
#include "kernels/normalize.h"
#include "kernels/optim.h"
#include "models/pose_model.h"
#include "train/data_parallel.h"
#include "train/loader.h"

namespace posenet::train {

enum class NonFinite { kNone, kLoss, kGradient, kWeight };

struct StepOutcome {
  double loss = 0.0;                 // the summed loss of all stages
  std::vector<double> stage_losses;  // one per stage
  // What went non-finite: the loss or a gradient (the update was skipped on
  // the device), or a weight after the update (the update was applied; the
  // model must not be saved). After a non-finite loss or gradient every
  // later update is skipped too; after a non-finite weight the next step's
  // gradients are non-finite in practice, which then skips its update.
  NonFinite non_finite = NonFinite::kNone;
  bool ok() const { return non_finite == NonFinite::kNone; }
};

// True when every element of every tensor (undefined ones skipped) is
// finite. Works on CPU and CUDA tensors, reading back one number.
bool all_finite(const std::vector<Tensor>& tensors);

// Queues training steps on one device and hands back each step's outcome
// one step late: step(k) returns step k-1's, flush() the last one's. The
// host waits once per step, for the previous step's few values (loss,
// stage losses, the non-finite flags), never for the step it just queued.
//
// The non-finite check is AMP's found_inf: a device flag set when the loss
// or any gradient is non-finite, read by the optimizer kernels, which then
// change nothing. The flags are sticky: after the first non-finite step no
// update is applied any more, so the weights stay those from before it even
// though the next step was already queued when the host learns of it.
class TrainStepper {
 public:
  // normalization: how a batch of uint8 images becomes the network's input
  // (on the device); float32 batches are used as they are. With `parallel`
  // (data-parallel runs) the gradients are averaged across the ranks before
  // the update, the non-finite flag is set on all ranks when set on any,
  // and the losses handed back are the means over the ranks.
  TrainStepper(models::PoseModel& model, Optimizer& optimizer, Device device,
               const ops::ImageNormalization& normalization, DataParallel* parallel = nullptr);
  TrainStepper(const TrainStepper&) = delete;
  TrainStepper& operator=(const TrainStepper&) = delete;

  // Queues one step on `batch` (uploaded without waiting) and returns the
  // outcome of the step queued before it (nullopt for the first).
  std::optional<StepOutcome> step(const Batch& batch);
  // Waits for the last queued step and returns its outcome (nullopt when
  // every queued step has been handed back).
  std::optional<StepOutcome> flush();

 private:
  StepOutcome read_back(int slot, size_t stages);

  models::PoseModel& model_;
  Optimizer& optimizer_;
  Device device_;
  ops::ImageNormalization normalization_;
  DataParallel* parallel_ = nullptr;
  Tensor found_inf_;    // [1] float32: the loss or a gradient was non-finite
  Tensor bad_weights_;  // [1] float32: a weight was non-finite after an update
  int64_t queued_ = 0;  // steps queued; step k's values go to slot k % kReadbackSlots
  bool pending_ = false;
  size_t pending_stages_ = 0;
};

}  // namespace posenet::train
