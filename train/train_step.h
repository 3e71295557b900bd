// One optimisation step: forward pass of every stage, the summed per-stage
// weighted MSE, backward pass and optimizer update.
#pragma once
#include <vector>

#include "core/device.h"
#include "kernels/optim.h"
#include "models/pose_model.h"
#include "train/loader.h"

namespace posenet::train {

struct StepOutcome {
  double loss = 0.0;                 // the summed loss of all stages
  std::vector<double> stage_losses;  // one per stage
  bool applied = false;              // false: the loss was not finite and nothing was changed
};

// Runs one step on `device`. A non-finite loss returns before the backward
// pass, leaving the weights and optimizer state as they were.
StepOutcome train_step(models::PoseModel& model, Optimizer& optimizer, const Batch& batch, Device device);

}  // namespace posenet::train
