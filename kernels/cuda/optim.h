// Optimizer CUDA kernels: one multi-tensor launch per dtype updates every
// parameter (a table of pointers and sizes split into fixed-size chunks).
#pragma once
#include <vector>

#include "kernels/optim_slots.h"

namespace posenet::kernels::cuda {
void sgd_step(const std::vector<SgdSlot>& slots, const SgdStepArgs& args);
void adam_step(const std::vector<AdamSlot>& slots, const AdamStepArgs& args);
}  // namespace posenet::kernels::cuda
