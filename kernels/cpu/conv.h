// CPU convolution kernels (float32, float64): NHWC im2col + OpenBLAS GEMM.
//
// With M = N*P*Q output pixels and patch = R*S*C, conv2d is
//   y[M, K] = col[M, patch] * w[K, patch]^T
// where row m of col holds the input patch under output pixel m. The
// backward passes are the two other GEMMs of the same product:
//   dcol = dy * w  (then col2im adds dcol back onto dx),  dw = dy^T * col.
// A 1x1 stride-1 unpadded convolution skips im2col: col is x itself.
// The batch is processed in chunks of output pixels so that the column
// buffer stays under column_buffer_bytes() (64 MiB), whatever the batch size.
#pragma once
#include <cstddef>

#include "core/tensor.h"
#include "kernels/conv_geometry.h"

namespace posenet::kernels::cpu {

// Bound on the im2col buffer. Settable so that tests can force many chunks.
size_t column_buffer_bytes();
void set_column_buffer_bytes(size_t bytes);

// y [N, P, Q, K] = conv2d(x [N, H, W, C], w [K, R, S, C]); y is overwritten.
void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g);
// dx [N, H, W, C] = gradient of conv2d with respect to x; dx is overwritten.
void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g);
// dw [K, R, S, C] = gradient of conv2d with respect to w; dw is overwritten.
void conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g);
// y[..., k] += bias[k] over the last (channel) axis.
void conv_bias_add(Tensor& y, const Tensor& bias);
// db[k] = sum of dy[..., k]; db is overwritten.
void conv_bias_backward(const Tensor& dy, Tensor& db);

}  // namespace posenet::kernels::cpu
