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

// skip: undefined, or one float32 element on the parameters' device; when
// it holds a non-zero value the kernels leave every parameter and buffer as
// it was (AMP's found_inf, read by the kernels, never by the host).
struct SgdStepArgs {
  double lr = 0, momentum = 0, weight_decay = 0;
  bool nesterov = false;
  Tensor skip;
};

struct AdamSlot {
  Tensor param, grad, exp_avg, exp_avg_sq;
};

struct AdamStepArgs {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  long long step = 1;  // 1-based, after this step's increment
  Tensor skip;         // as SgdStepArgs::skip
};

}  // namespace posenet::kernels
