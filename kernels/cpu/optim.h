// Optimizer CPU kernels: one pass per parameter, in place.
#pragma once
#include <vector>

#include "kernels/optim_slots.h"

namespace posenet::kernels::cpu {
void sgd_step(const std::vector<SgdSlot>& slots, const SgdStepArgs& args);
void adam_step(const std::vector<AdamSlot>& slots, const AdamStepArgs& args);
}  // namespace posenet::kernels::cpu
