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
// The kernels' signatures are in kernels/conv_kernels.h; this header adds
// the CPU backend's own setting.
#pragma once
#include <cstddef>

#include "core/tensor.h"
#include "kernels/conv_kernels.h"

namespace posenet::kernels::cpu {

// Bound on the im2col buffer. Settable so that tests can force many chunks.
size_t column_buffer_bytes();
void set_column_buffer_bytes(size_t bytes);

}  // namespace posenet::kernels::cpu
