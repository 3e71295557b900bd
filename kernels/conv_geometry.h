// The shape of one 2-D convolution as the raw kernels see it.
//
// Every convolution kernel (CPU and CUDA) works on this one description of
// conv2d: x [N, H, W, C] * w [K, R, S, C] -> y [N, P, Q, K]. A transposed
// convolution runs on the same kernels with the roles swapped (its input is
// the conv2d's y, its output the conv2d's x), so P and Q are carried
// explicitly: with output padding the conv2d's x has rows that no output
// pixel reads, and P = conv_output_size(H, ...) need not hold with equality.
#pragma once
#include <cstdint>

namespace posenet::kernels {

struct ConvGeometry {
  int64_t N = 0, H = 0, W = 0, C = 0;  // conv2d input x
  int64_t K = 0, R = 0, S = 0;         // filters, kernel height and width
  int64_t P = 0, Q = 0;                // conv2d output y
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation_h = 1, dilation_w = 1;

  int64_t output_pixels() const { return N * P * Q; }     // GEMM rows
  int64_t patch_size() const { return R * S * C; }         // GEMM reduction length
  // 1x1, stride 1, no padding, same extent: y is one GEMM of x and w.
  bool is_pointwise() const {
    return R == 1 && S == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0 && P == H && Q == W;
  }
  // Multiply-adds of one forward pass, times 2.
  double flops() const { return 2.0 * double(output_pixels()) * double(K) * double(patch_size()); }
};

}  // namespace posenet::kernels
