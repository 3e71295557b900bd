// The choice between cuDNN and the hand-written 4x4 stride-2 deconvolution
// (kernels/cuda/deconv.h), and the conv2d entries the CUDA backend registers.
#include <atomic>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/deconv.h"

namespace posenet::kernels::cuda {

namespace {

// -1: not yet read from the environment.
std::atomic<int> g_deconv_backend{-1};

}  // namespace

DeconvBackend parse_deconv_backend(std::string_view value, std::string_view source) {
  if (value == "hand") return DeconvBackend::Hand;
  if (value == "cudnn") return DeconvBackend::CuDNN;
  PN_FAIL(source, ": unknown deconvolution backend '", value, "' (expected 'hand' or 'cudnn')");
}

void set_deconv_backend(DeconvBackend backend) { g_deconv_backend.store(int(backend)); }

DeconvBackend deconv_backend() {
  int b = g_deconv_backend.load();
  if (b < 0) {
    const char* env = std::getenv("POSENET_DECONV");
    const DeconvBackend parsed =
        env != nullptr && *env != '\0' ? parse_deconv_backend(env, "POSENET_DECONV") : DeconvBackend::CuDNN;
    int unset = -1;
    g_deconv_backend.compare_exchange_strong(unset, int(parsed));  // a set_ in between wins
    b = g_deconv_backend.load();
  }
  return DeconvBackend(b);
}

bool is_k4s2_deconv(const ConvGeometry& g) {
  return g.R == 4 && g.S == 4 && g.stride_h == 2 && g.stride_w == 2 && g.pad_h == 1 && g.pad_w == 1 &&
         g.dilation_h == 1 && g.dilation_w == 1 && g.H == 2 * g.P && g.W == 2 * g.Q;
}

bool use_hand_deconv(const ConvGeometry& g, DType dtype) {
  return (dtype == DType::F32 || dtype == DType::F64) && is_k4s2_deconv(g) &&
         deconv_backend() == DeconvBackend::Hand;
}

void routed_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g) {
  if (use_hand_deconv(g, x.dtype())) return k4s2_conv2d_forward(x, w, y, g);
  conv2d_forward(x, w, y, g);
}

void routed_conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g) {
  if (use_hand_deconv(g, dy.dtype())) return k4s2_conv2d_backward_data(dy, w, dx, g);
  conv2d_backward_data(dy, w, dx, g);
}

void routed_conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g) {
  if (use_hand_deconv(g, x.dtype())) return k4s2_conv2d_backward_weight(x, dy, dw, g);
  conv2d_backward_weight(x, dy, dw, g);
}

}  // namespace posenet::kernels::cuda
