// Learning-rate schedules. The standard MPII recipe is a step schedule:
// 1e-3, multiplied by 0.1 at epochs 90 and 120, 140 epochs in all.
#pragma once
#include <vector>

#include "core/error.h"

namespace posenet {

struct StepSchedule {
  double base_lr = 1e-3;
  std::vector<int> milestones{90, 120};  // epochs (0-based epoch index at which the drop applies)
  double factor = 0.1;
  int warmup_steps = 0;  // linear warm-up from 0 over the first steps (0: none)

  void validate() const {
    PN_CHECK(base_lr > 0, "learning rate must be positive, got ", base_lr);
    PN_CHECK(factor > 0, "learning-rate factor must be positive, got ", factor);
    for (size_t i = 1; i < milestones.size(); ++i)
      PN_CHECK(milestones[i] > milestones[i - 1], "learning-rate milestones must increase");
    PN_CHECK(warmup_steps >= 0, "warm-up steps must not be negative");
  }

  double lr(int epoch, long global_step) const {
    double lr = base_lr;
    for (int m : milestones)
      if (epoch >= m) lr *= factor;
    if (warmup_steps > 0 && global_step < warmup_steps) lr *= double(global_step + 1) / double(warmup_steps);
    return lr;
  }
};

}  // namespace posenet
