#include "kernels/conv_epilogue.h"

#include "core/autograd.h"
#include "kernels/conv_epilogue_kernels.h"
#include "kernels/dispatch.h"

// The registry entries of this family's kernels (kernels/conv_epilogue_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_CONV_EPILOGUE_KERNELS)

namespace posenet::ops {

Tensor& conv_bias_residual_relu_(Tensor& y, const Tensor& bias, const Tensor& residual, bool relu) {
  const char* op = "conv_bias_residual_relu";
  PN_CHECK(y.defined() && bias.defined(), op, ": the convolution output and the bias must be defined");
  PN_CHECK(y.ndim() >= 1 && bias.ndim() == 1 && bias.dim(0) == y.dim(y.ndim() - 1), op, ": bias must have shape [",
           y.ndim() >= 1 ? y.dim(y.ndim() - 1) : 0, "] (one per channel of ", shape_str(y.shape()), "), got ",
           shape_str(bias.shape()));
  PN_CHECK(!grad_enabled() ||
               (!y.requires_grad() && !bias.requires_grad() && !(residual.defined() && residual.requires_grad())),
           op, ": inference only, but an input requires a gradient (train with the batch norm unfolded)");
  PN_CHECK(bias.device() == y.device() && bias.dtype() == y.dtype(), op, ": bias is ", dtype_name(bias.dtype()),
           " on ", bias.device().str(), " but the output is ", dtype_name(y.dtype()), " on ", y.device().str());
  if (residual.defined()) {
    PN_CHECK(residual.shape() == y.shape(), op, ": residual shape ", shape_str(residual.shape()),
             " differs from the output's ", shape_str(y.shape()));
    PN_CHECK(residual.device() == y.device() && residual.dtype() == y.dtype(), op, ": residual is ",
             dtype_name(residual.dtype()), " on ", residual.device().str(), " but the output is ",
             dtype_name(y.dtype()), " on ", y.device().str());
  }
  PN_DISPATCH(y.device(), conv_bias_residual_relu, y, bias, residual, relu);
  return y;
}

}  // namespace posenet::ops
