#include "kernels/conv.h"

#include <algorithm>

#include "core/autograd.h"
#include "kernels/conv_geometry.h"
#include "kernels/conv_kernels.h"
#include "kernels/dispatch.h"

// The registry entries of this family's kernels (kernels/conv_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_CONV_KERNELS)

namespace posenet::ops {

using kernels::ConvGeometry;

namespace {

void check_conv_params(const char* op, int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h,
                       int dilation_w) {
  PN_CHECK(stride_h >= 1 && stride_w >= 1, op, ": stride must be at least 1, got (", stride_h, ", ", stride_w, ")");
  PN_CHECK(pad_h >= 0 && pad_w >= 0, op, ": padding must not be negative, got (", pad_h, ", ", pad_w, ")");
  PN_CHECK(dilation_h >= 1 && dilation_w >= 1, op, ": dilation must be at least 1, got (", dilation_h, ", ",
           dilation_w, ")");
}

// Rank, device, dtype and extent checks shared by conv2d and conv_transpose2d:
// weight axis w_in_axis must match x's channels, w_out_axis sizes the bias.
void check_conv_operands(const char* op, const Tensor& x, const Tensor& w, const Tensor& bias, int64_t w_in_axis,
                         int64_t w_out_axis, const char* w_layout) {
  PN_CHECK(x.defined(), op, ": input is undefined");
  PN_CHECK(w.defined(), op, ": weight is undefined");
  PN_CHECK(x.ndim() == 4, op, ": input must be 4-D NHWC [N, H, W, C], got shape ", shape_str(x.shape()));
  PN_CHECK(w.ndim() == 4, op, ": weight must be 4-D ", w_layout, ", got shape ", shape_str(w.shape()));
  PN_CHECK(x.device() == w.device(), op, ": input is on ", x.device().str(), " but weight is on ", w.device().str());
  PN_CHECK(x.dtype() == w.dtype(), op, ": input is ", dtype_name(x.dtype()), " but weight is ",
           dtype_name(w.dtype()));
  for (int i = 0; i < 4; ++i) {
    PN_CHECK(x.dim(i) > 0, op, ": input shape ", shape_str(x.shape()), " has an empty dimension");
    PN_CHECK(w.dim(i) > 0, op, ": weight shape ", shape_str(w.shape()), " has an empty dimension");
  }
  PN_CHECK(x.dim(3) == w.dim(w_in_axis), op, ": input has ", x.dim(3), " channels but weight expects ",
           w.dim(w_in_axis), " (input ", shape_str(x.shape()), ", weight ", w_layout, " ", shape_str(w.shape()), ")");
  if (bias.defined()) {
    PN_CHECK(bias.ndim() == 1 && bias.dim(0) == w.dim(w_out_axis), op, ": bias must have shape [",
             w.dim(w_out_axis), "] (one per output channel), got ", shape_str(bias.shape()));
    PN_CHECK(bias.device() == x.device(), op, ": bias is on ", bias.device().str(), " but input is on ",
             x.device().str());
    PN_CHECK(bias.dtype() == x.dtype(), op, ": bias is ", dtype_name(bias.dtype()), " but input is ",
             dtype_name(x.dtype()));
  }
}

struct Conv2dNode final : Node {
  ConvGeometry g;
  Tensor x, w;  // x kept only when w needs a gradient, w only when x does
  bool need_x = false, need_w = false, need_bias = false;
  const char* name() const override { return "conv2d"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx, dw, db;
    if (need_x) {
      dx = Tensor::empty({g.N, g.H, g.W, g.C}, dy.dtype(), dy.device());
      PN_DISPATCH(dy.device(), conv2d_backward_data, dy, w, dx, g);
    }
    if (need_w) {
      dw = Tensor::empty({g.K, g.R, g.S, g.C}, dy.dtype(), dy.device());
      PN_DISPATCH(dy.device(), conv2d_backward_weight, x, dy, dw, g);
    }
    if (need_bias) {
      db = Tensor::empty({g.K}, dy.dtype(), dy.device());
      PN_DISPATCH(dy.device(), conv_bias_backward, dy, db);
    }
    return {dx, dw, db};
  }
  void release() override { x = w = Tensor(); }
};

// Geometry g is that of the adjoint conv2d: its x is this op's output
// [N, Ho, Wo, Cout], its y this op's input [N, H, W, Cin].
struct ConvTranspose2dNode final : Node {
  ConvGeometry g;
  Tensor x, w;  // x kept only when w needs a gradient, w only when x does
  bool need_x = false, need_w = false, need_bias = false;
  const char* name() const override { return "conv_transpose2d"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx, dw, db;
    if (need_x) {
      dx = Tensor::empty({g.N, g.P, g.Q, g.K}, dy.dtype(), dy.device());
      PN_DISPATCH(dy.device(), conv2d_forward, dy, w, dx, g);
    }
    if (need_w) {
      dw = Tensor::empty({g.K, g.R, g.S, g.C}, dy.dtype(), dy.device());
      PN_DISPATCH(dy.device(), conv2d_backward_weight, dy, x, dw, g);
    }
    if (need_bias) {
      db = Tensor::empty({g.C}, dy.dtype(), dy.device());
      PN_DISPATCH(dy.device(), conv_bias_backward, dy, db);
    }
    return {dx, dw, db};
  }
  void release() override { x = w = Tensor(); }
};

}  // namespace

int64_t conv_output_size(int64_t in, int64_t kernel, int stride, int pad, int dilation) {
  PN_CHECK(in >= 1, "conv: input extent must be positive, got ", in);
  PN_CHECK(kernel >= 1, "conv: kernel extent must be positive, got ", kernel);
  PN_CHECK(stride >= 1, "conv: stride must be at least 1, got ", stride);
  PN_CHECK(pad >= 0, "conv: padding must not be negative, got ", pad);
  PN_CHECK(dilation >= 1, "conv: dilation must be at least 1, got ", dilation);
  const int64_t span = int64_t(dilation) * (kernel - 1) + 1;
  PN_CHECK(in + 2 * int64_t(pad) >= span, "conv: input extent ", in, " plus padding 2*", pad,
           " is smaller than the kernel's extent ", span, " (kernel ", kernel, ", dilation ", dilation,
           "): the output would be empty");
  return (in + 2 * int64_t(pad) - span) / stride + 1;
}

int64_t conv_transpose_output_size(int64_t in, int64_t kernel, int stride, int pad, int output_pad, int dilation) {
  PN_CHECK(in >= 1, "conv_transpose: input extent must be positive, got ", in);
  PN_CHECK(kernel >= 1, "conv_transpose: kernel extent must be positive, got ", kernel);
  PN_CHECK(stride >= 1, "conv_transpose: stride must be at least 1, got ", stride);
  PN_CHECK(pad >= 0, "conv_transpose: padding must not be negative, got ", pad);
  PN_CHECK(dilation >= 1, "conv_transpose: dilation must be at least 1, got ", dilation);
  PN_CHECK(output_pad >= 0 && output_pad < std::max(stride, dilation), "conv_transpose: output padding ", output_pad,
           " must be non-negative and smaller than the stride (", stride, ") or the dilation (", dilation, ")");
  const int64_t out =
      (in - 1) * stride - 2 * int64_t(pad) + int64_t(dilation) * (kernel - 1) + output_pad + 1;
  PN_CHECK(out >= 1, "conv_transpose: output extent would be ", out, " (input ", in, ", kernel ", kernel,
           ", stride ", stride, ", padding ", pad, ", dilation ", dilation, ", output padding ", output_pad,
           "): the padding is too large");
  return out;
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  check_conv_operands("conv2d", x, w, bias, 3, 0, "KRSC [K, R, S, C]");
  check_conv_params("conv2d", p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w);
  ConvGeometry g;
  g.N = x.dim(0), g.H = x.dim(1), g.W = x.dim(2), g.C = x.dim(3);
  g.K = w.dim(0), g.R = w.dim(1), g.S = w.dim(2);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.pad_h = p.pad_h, g.pad_w = p.pad_w;
  g.dilation_h = p.dilation_h, g.dilation_w = p.dilation_w;
  g.P = conv_output_size(g.H, g.R, p.stride_h, p.pad_h, p.dilation_h);
  g.Q = conv_output_size(g.W, g.S, p.stride_w, p.pad_w, p.dilation_w);

  Tensor y = Tensor::empty({g.N, g.P, g.Q, g.K}, x.dtype(), x.device());
  PN_DISPATCH(x.device(), conv2d_forward, x, w, y, g);
  if (bias.defined()) PN_DISPATCH(x.device(), conv_bias_add, y, bias);

  if (any_requires_grad({&x, &w, &bias})) {
    auto node = std::make_shared<Conv2dNode>();
    node->g = g;
    node->need_x = x.requires_grad();
    node->need_w = w.requires_grad();
    node->need_bias = bias.defined() && bias.requires_grad();
    if (node->need_x) node->w = w.detach();
    if (node->need_w) node->x = x.detach();
    record(y, node, {&x, &w, &bias});
  }
  return y;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvTranspose2dParams& p) {
  check_conv_operands("conv_transpose2d", x, w, bias, 0, 3, "[Cin, R, S, Cout]");
  check_conv_params("conv_transpose2d", p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w);
  // The adjoint conv2d: its input is our output, its filters K = Cin.
  ConvGeometry g;
  g.N = x.dim(0), g.P = x.dim(1), g.Q = x.dim(2), g.K = x.dim(3);
  g.R = w.dim(1), g.S = w.dim(2), g.C = w.dim(3);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.pad_h = p.pad_h, g.pad_w = p.pad_w;
  g.dilation_h = p.dilation_h, g.dilation_w = p.dilation_w;
  g.H = conv_transpose_output_size(g.P, g.R, p.stride_h, p.pad_h, p.output_pad_h, p.dilation_h);
  g.W = conv_transpose_output_size(g.Q, g.S, p.stride_w, p.pad_w, p.output_pad_w, p.dilation_w);

  Tensor y = Tensor::empty({g.N, g.H, g.W, g.C}, x.dtype(), x.device());
  PN_DISPATCH(x.device(), conv2d_backward_data, x, w, y, g);
  if (bias.defined()) PN_DISPATCH(x.device(), conv_bias_add, y, bias);

  if (any_requires_grad({&x, &w, &bias})) {
    auto node = std::make_shared<ConvTranspose2dNode>();
    node->g = g;
    node->need_x = x.requires_grad();
    node->need_w = w.requires_grad();
    node->need_bias = bias.defined() && bias.requires_grad();
    if (node->need_x) node->w = w.detach();
    if (node->need_w) node->x = x.detach();
    record(y, node, {&x, &w, &bias});
  }
  return y;
}

}  // namespace posenet::ops
