// The device-side non-finite check of a training step (AMP's found_inf):
// a flag that a kernel sets when any element of a tensor is NaN or
// infinite, so the host never has to read the tensors to know, and the
// optimizer kernels can skip their update when it is set.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace posenet::ops {

// Sets flag (one float32 element, on the tensors' device) to 1 when any
// element of any of `tensors` is NaN or +-inf; leaves it unchanged
// otherwise, so it accumulates over calls until the caller clears it.
// Undefined and empty tensors are skipped. Not differentiable.
void flag_non_finite(const std::vector<Tensor>& tensors, const Tensor& flag);

}  // namespace posenet::ops
