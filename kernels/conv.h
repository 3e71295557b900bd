// Convolutions (differentiable), NHWC activations.
//
// conv2d:           x [N, H, W, C], w [K, R, S, C] (KRSC), bias [K] or undefined
//                   -> y [N, P, Q, K]
// conv_transpose2d: x [N, H, W, Cin], w [Cin, R, S, Cout], bias [Cout] or undefined
//                   -> y [N, Ho, Wo, Cout], Ho = (H - 1) * stride - 2 * pad + dilation * (R - 1) + output_padding + 1
//   The transposed convolution is the adjoint of conv2d with the same
//   weight tensor read as [K = Cin, R, S, C = Cout]; PyTorch's ConvTranspose2d
//   weight [Cin, Cout, R, S] maps onto it by moving Cout last.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace posenet::ops {

struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation_h = 1, dilation_w = 1;
  static Conv2dParams square(int stride, int pad, int dilation = 1) {
    return {stride, stride, pad, pad, dilation, dilation};
  }
};

struct ConvTranspose2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int output_pad_h = 0, output_pad_w = 0;
  int dilation_h = 1, dilation_w = 1;
  static ConvTranspose2dParams square(int stride, int pad, int output_pad = 0, int dilation = 1) {
    return {stride, stride, pad, pad, output_pad, output_pad, dilation, dilation};
  }
};

// Output extent of a convolution along one axis (throws when not positive).
int64_t conv_output_size(int64_t in, int64_t kernel, int stride, int pad, int dilation);
int64_t conv_transpose_output_size(int64_t in, int64_t kernel, int stride, int pad, int output_pad, int dilation);

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p);
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvTranspose2dParams& p);

}  // namespace posenet::ops
