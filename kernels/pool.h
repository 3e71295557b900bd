// Max pooling over NHWC activations, differentiable. Padding is -inf (a
// padded position never wins); the gradient goes to the first maximum of
// each window, as in PyTorch.
#pragma once
#include "core/tensor.h"

namespace posenet::ops {

struct MaxPool2dParams {
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 2, stride_w = 2;
  int pad_h = 1, pad_w = 1;
  static MaxPool2dParams square(int kernel, int stride, int pad) { return {kernel, kernel, stride, stride, pad, pad}; }
};

// x [N, H, W, C] -> y [N, P, Q, C]
Tensor max_pool2d(const Tensor& x, const MaxPool2dParams& p);

}  // namespace posenet::ops
