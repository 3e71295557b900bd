// Optimizer kernels: the signatures every backend implements
// (kernels/op_registry.h). One pass per step over every slot, in place.
#pragma once
#include <vector>

#include "kernels/op_registry.h"
#include "kernels/optim_slots.h"

namespace posenet::kernels {
// supports() sees the parameters' shapes and the first one's dtype.
inline void describe_arg(OpArgs& args, const std::vector<SgdSlot>& slots) {
  for (const SgdSlot& s : slots) args.add(s.param);
}
inline void describe_arg(OpArgs& args, const std::vector<AdamSlot>& slots) {
  for (const AdamSlot& s : slots) args.add(s.param);
}
}  // namespace posenet::kernels

#define PN_OPTIM_KERNELS(X)                                                   \
  X(sgd_step, (const std::vector<SgdSlot>& slots, const SgdStepArgs& args))   \
  X(adam_step, (const std::vector<AdamSlot>& slots, const AdamStepArgs& args))

PN_DECLARE_KERNELS(PN_OPTIM_KERNELS)
