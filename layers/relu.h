// ReLU as a module (no parameters), for Sequential.
#pragma once
#include "kernels/elementwise.h"
#include "layers/module.h"

namespace posenet {

class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override { return ops::relu(x); }
};

}  // namespace posenet
