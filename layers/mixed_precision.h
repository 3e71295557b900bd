// Mixed precision in the layers: a layer follows the dtype of its input.
// Given bfloat16 activations, a convolution casts its float32 master weight
// (and bias) to bfloat16 once per forward, through the differentiable cast,
// so the gradient reaches the float32 parameter as float32. Batch norm needs
// nothing: it takes bfloat16 activations with its float32 parameters and
// statistics directly (kernels/batchnorm.h).
#pragma once
#include "core/tensor.h"
#include "kernels/cast.h"

namespace posenet {

// param in the dtype of the activations x when those are bfloat16; param
// itself otherwise (so a genuine dtype mismatch still fails in the op).
inline Tensor param_for(const Tensor& param, const Tensor& x) {
  if (!param.defined() || x.dtype() != DType::BF16) return param;
  return ops::cast(param, DType::BF16);
}

}  // namespace posenet
