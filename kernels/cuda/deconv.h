// The decoder's deconvolution by hand: ConvTranspose2d with a 4x4 kernel,
// stride 2, padding 1, no dilation and no output padding (Simple Baselines'
// and the multi-stage decoder's upsampling layers), NHWC activations.
//
// A transposed convolution runs through the conv2d ops of the registry with
// the roles swapped (kernels/conv.cpp), so the three passes here are named by
// the conv2d op they implement, in its geometry g (x [N, H, W, C] with
// H = 2P, W = 2Q; w [K, 4, 4, C]; y [N, P, Q, K]):
//   k4s2_conv2d_backward_data   the deconvolution's forward pass:
//                               small [N, P, Q, K] -> large [N, 2P, 2Q, C];
//   k4s2_conv2d_forward         its backward-data (an ordinary stride-2 4x4
//                               convolution): large -> small;
//   k4s2_conv2d_backward_weight its backward-weight, a reduction over N*P*Q.
// docs/deconvolution.md describes the tiling.
//
// Which one runs the geometry on CUDA, cuDNN or these kernels, is a
// process-wide setting (default cuDNN until posenet-bench's BM_Deconv on the
// target GPU shows the hand-written one faster); the environment variable
// POSENET_DECONV=hand|cudnn sets it at the first convolution.
#pragma once
#include <string_view>

#include "core/tensor.h"
#include "kernels/conv_geometry.h"

namespace posenet::kernels::cuda {

enum class DeconvBackend { CuDNN, Hand };
void set_deconv_backend(DeconvBackend backend);
DeconvBackend deconv_backend();  // the first call reads POSENET_DECONV
// "hand" or "cudnn"; anything else throws, naming `source` (the variable or option).
DeconvBackend parse_deconv_backend(std::string_view value, std::string_view source);

// The geometry the hand-written kernels take: 4x4, stride 2, padding 1,
// dilation 1, H = 2P and W = 2Q (output padding 0).
bool is_k4s2_deconv(const ConvGeometry& g);
// Whether a call of this geometry and dtype runs the hand-written kernels now.
bool use_hand_deconv(const ConvGeometry& g, DType dtype);

void k4s2_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g);
void k4s2_conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g);
void k4s2_conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g);

// The CUDA backend's registered conv2d kernels: the hand-written ones where
// use_hand_deconv, the library ones (cuDNN; CPU stand-ins in EMU) otherwise.
void routed_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g);
void routed_conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g);
void routed_conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g);

}  // namespace posenet::kernels::cuda
