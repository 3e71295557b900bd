// The inference epilogue of a convolution whose batch norm was folded into
// it (layers/fold_batch_norm.h): one pass over the convolution's output,
// y[m, c] = [ReLU](y[m, c] + bias[c] [+ residual[m, c]]), in place.
// residual may be undefined. Signatures every backend implements
// (kernels/op_registry.h).
#pragma once
#include "core/tensor.h"
#include "kernels/op_registry.h"

#define PN_CONV_EPILOGUE_KERNELS(X) \
  X(conv_bias_residual_relu, (Tensor& y, const Tensor& bias, const Tensor& residual, bool relu))

PN_DECLARE_KERNELS(PN_CONV_EPILOGUE_KERNELS)
