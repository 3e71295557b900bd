// MaxPool2d as a module (no parameters): torch.nn.MaxPool2d over NHWC.
#pragma once
#include "kernels/pool.h"
#include "layers/module.h"

namespace posenet {

class MaxPool2d : public Module {
 public:
  MaxPool2d(int kernel_size, int stride, int padding = 0);
  Tensor forward(const Tensor& x) override { return ops::max_pool2d(x, params_); }
  const ops::MaxPool2dParams& params() const { return params_; }

 private:
  ops::MaxPool2dParams params_;
};

}  // namespace posenet
