// Convolution kernels: the signatures every backend implements
// (kernels/op_registry.h). NHWC activations, KRSC filters.
#pragma once
#include "core/tensor.h"
#include "kernels/conv_geometry.h"
#include "kernels/op_registry.h"

// conv2d_forward: y [N, P, Q, K] = conv2d(x [N, H, W, C], w [K, R, S, C]); y is overwritten.
// conv2d_backward_data: dx [N, H, W, C] = gradient of conv2d with respect to x; overwritten.
// conv2d_backward_weight: dw [K, R, S, C] = gradient with respect to w; overwritten.
// conv_bias_add: y[..., k] += bias[k] over the last (channel) axis.
// conv_bias_backward: db[k] = sum of dy[..., k]; db is overwritten.
#define PN_CONV_KERNELS(X)                                                                      \
  X(conv2d_forward, (const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g))       \
  X(conv2d_backward_data, (const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g)) \
  X(conv2d_backward_weight, (const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g)) \
  X(conv_bias_add, (Tensor& y, const Tensor& bias))                                             \
  X(conv_bias_backward, (const Tensor& dy, Tensor& db))

PN_DECLARE_KERNELS(PN_CONV_KERNELS)
