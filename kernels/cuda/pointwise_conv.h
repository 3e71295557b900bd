// 1x1, stride-1, unpadded NHWC convolutions as single cuBLAS GEMMs
// (x [M = N*H*W, C], w [K, C], y [M, K]); conv.cu routes is_pointwise()
// problems here when the 1x1 backend is cuBLAS.
#pragma once
#include "core/tensor.h"
#include "kernels/conv_geometry.h"

namespace posenet::kernels::cuda {

void pointwise_conv_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g);        // y = x w^T
void pointwise_conv_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g);  // dx = dy w
void pointwise_conv_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw,
                                    const ConvGeometry& g);  // dw = dy^T x

}  // namespace posenet::kernels::cuda
