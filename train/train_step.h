// One optimisation step: forward pass of every stage, the summed per-stage
// weighted MSE, backward pass and optimizer update.
#pragma once
#include <vector>

#include "core/device.h"
#include "kernels/optim.h"
#include "models/pose_model.h"
#include "train/data_parallel.h"
#include "train/loader.h"

namespace posenet::train {

enum class NonFinite { kNone, kLoss, kGradient, kWeight };

struct StepOutcome {
  double loss = 0.0;                 // the summed loss of all stages
  std::vector<double> stage_losses;  // one per stage
  // What went non-finite: the loss (nothing was changed), a gradient
  // (nothing was changed), or a weight after the update (the update is
  // applied; the model must not be saved).
  NonFinite non_finite = NonFinite::kNone;
  bool ok() const { return non_finite == NonFinite::kNone; }
};

// Runs one step on `device`. A non-finite loss or gradient returns before
// the update, leaving the weights and optimizer state as they were; a
// non-finite weight after the update is reported.
// True when every element of every tensor (undefined ones skipped) is
// finite. Works on CPU and CUDA tensors, reading back one number.
bool all_finite(const std::vector<Tensor>& tensors);

// With `parallel` (data-parallel runs), the losses are the means over the
// ranks and the gradients are averaged across ranks before the update.
StepOutcome train_step(models::PoseModel& model, Optimizer& optimizer, const Batch& batch, Device device,
                       DataParallel* parallel = nullptr);

}  // namespace posenet::train
