// What the optimizer kernels receive: one slot per parameter that has a
// gradient (buffers undefined where the optimizer keeps none), and the
// hyper-parameters of the step.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace posenet::kernels {

struct SgdSlot {
  Tensor param, grad, momentum;  // momentum undefined when momentum == 0
  bool first = false;            // the momentum buffer starts as the gradient
};

// scalars: the step's learning rate and 1-based step count as float64
// {lr, step} on the parameters' device (kernels::kOptimizerScalars), read by
// the kernels from there and not passed by value, so that a captured step
// replays with the values written before each launch.
//
// skip: undefined, or one float32 element on the parameters' device; when
// it holds a non-zero value the kernels leave every parameter and buffer as
// it was (AMP's found_inf, read by the kernels, never by the host).
inline constexpr int kOptimizerScalars = 2;  // {lr, step}

struct SgdStepArgs {
  double momentum = 0, weight_decay = 0;
  bool nesterov = false;
  Tensor scalars, skip;
};

struct AdamSlot {
  Tensor param, grad, exp_avg, exp_avg_sq;
};

struct AdamStepArgs {
  double beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  Tensor scalars, skip;  // as SgdStepArgs
};

}  // namespace posenet::kernels
