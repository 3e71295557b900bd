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

namespace posenet::kernels {
// supports() sees the geometry of a convolution call too (kernels/op_registry.h).
inline void describe_arg(OpArgs& args, const ConvGeometry& g) {
  args.params = {g.N, g.H, g.W, g.C, g.K, g.R, g.S, g.P, g.Q, g.stride_h, g.stride_w, g.pad_h, g.pad_w,
                 g.dilation_h, g.dilation_w};
}
// The geometry describe_arg recorded; false when the call had none.
inline bool geometry_of(const OpArgs& args, ConvGeometry* g) {
  if (args.params.size() != 15) return false;
  const auto& p = args.params;
  g->N = p[0], g->H = p[1], g->W = p[2], g->C = p[3], g->K = p[4], g->R = p[5], g->S = p[6], g->P = p[7], g->Q = p[8];
  g->stride_h = int(p[9]), g->stride_w = int(p[10]), g->pad_h = int(p[11]), g->pad_w = int(p[12]);
  g->dilation_h = int(p[13]), g->dilation_w = int(p[14]);
  return true;
}
}  // namespace posenet::kernels
