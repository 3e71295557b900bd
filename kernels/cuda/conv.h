// CUDA convolution kernels: cuDNN in NHWC (filters KRSC), same contract as
// kernels/cpu/conv.h. Algorithms are chosen once per shape and cached.
#pragma once
#include "core/tensor.h"
#include "kernels/conv_geometry.h"

namespace posenet::kernels::cuda {

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g);
void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g);
void conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g);
void conv_bias_add(Tensor& y, const Tensor& bias);
void conv_bias_backward(const Tensor& dy, Tensor& db);

// Whether float32 convolutions may use TF32 tensor cores (default: yes, as
// in PyTorch's cuDNN default). Parity tests turn it off to compare with the
// CPU at float32 precision. The algorithm cache is keyed on this setting.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace posenet::kernels::cuda
