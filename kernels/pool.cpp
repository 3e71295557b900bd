#include "kernels/pool.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>

#include "core/autograd.h"
#include "kernels/pool_kernels.h"
#include "kernels/dispatch.h"

// The registry entries of this family's kernels (kernels/pool_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_POOL_KERNELS)

namespace posenet::ops {

namespace {

// The argmax indices are int32, which no tensor dtype describes, so they
// live in a raw Storage on the input's device (allocated through its
// backend, freed with the node), never in a mislabelled float tensor.
struct MaxPoolNode final : Node {
  std::shared_ptr<Storage> argmax;
  Shape input_shape;
  MaxPool2dParams params;
  const char* name() const override { return "max_pool2d"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dx = Tensor::empty(input_shape, g.dtype(), g.device());
    PN_DISPATCH(g.device(), max_pool2d_backward, g, static_cast<const int32_t*>(argmax->data()), params, dx);
    return {dx};
  }
  void release() override { argmax.reset(); }
};

}  // namespace

Tensor max_pool2d(const Tensor& x, const MaxPool2dParams& p) {
  PN_CHECK(x.defined(), "max_pool2d: undefined input");
  check_rank(x, 4, "max_pool2d", "input");
  PN_CHECK(p.kernel_h > 0 && p.kernel_w > 0, "max_pool2d: kernel must be positive, got ", p.kernel_h, "x", p.kernel_w);
  PN_CHECK(p.stride_h > 0 && p.stride_w > 0, "max_pool2d: stride must be positive, got ", p.stride_h, "x",
           p.stride_w);
  PN_CHECK(p.pad_h >= 0 && p.pad_w >= 0 && 2 * p.pad_h <= p.kernel_h && 2 * p.pad_w <= p.kernel_w,
           "max_pool2d: padding must be between 0 and half the kernel, got pad ", p.pad_h, "x", p.pad_w,
           " for kernel ", p.kernel_h, "x", p.kernel_w);
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  PN_CHECK(H * W <= std::numeric_limits<int32_t>::max(), "max_pool2d: input plane ", H, "x", W,
           " too large for int32 indices");
  const int64_t P = (H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
  const int64_t Q = (W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  PN_CHECK(H + 2 * p.pad_h >= p.kernel_h && W + 2 * p.pad_w >= p.kernel_w && P > 0 && Q > 0,
           "max_pool2d: input ", shape_str(x.shape()), " is smaller than the ", p.kernel_h, "x", p.kernel_w,
           " kernel (padding ", p.pad_h, "x", p.pad_w, ")");
  Tensor y = Tensor::empty({N, P, Q, C}, x.dtype(), x.device());
  const bool need_grad = any_requires_grad({&x});
  std::shared_ptr<Storage> argmax;
  if (need_grad)
    argmax = std::make_shared<Storage>(size_t(std::max<int64_t>(y.numel(), 1)) * sizeof(int32_t), x.device());
  PN_DISPATCH(x.device(), max_pool2d_forward, x, p, y, argmax ? static_cast<int32_t*>(argmax->data()) : nullptr);
  if (need_grad) {
    auto node = std::make_shared<MaxPoolNode>();
    node->argmax = std::move(argmax);
    node->input_shape = x.shape();
    node->params = p;
    record(y, node, {&x});
  }
  return y;
}

}  // namespace posenet::ops
