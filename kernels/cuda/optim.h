// Optimizer CUDA kernels: one multi-tensor launch per dtype (and per 320
// parameters) updates every parameter from a table of pointers and sizes
// passed as the kernel argument.
#pragma once
#include <vector>

#include "kernels/optim_slots.h"

namespace posenet::kernels::cuda {
void sgd_step(const std::vector<SgdSlot>& slots, const SgdStepArgs& args);
void adam_step(const std::vector<AdamSlot>& slots, const AdamStepArgs& args);
}  // namespace posenet::kernels::cuda
