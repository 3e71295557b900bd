#include "kernels/cast.h"

#include "core/autograd.h"
#include "kernels/cast_kernels.h"

// The registry entries of this family's kernels (kernels/cast_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_CAST_KERNELS)

namespace posenet::ops {

namespace {

struct CastNode final : Node {
  DType source = DType::F32;
  const char* name() const override { return "cast"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {cast(g, source)}; }
};

bool castable(DType t) { return t == DType::F32 || t == DType::F64 || t == DType::BF16; }

}  // namespace

Tensor cast(const Tensor& x, DType dtype) {
  PN_CHECK(x.defined(), "cast: undefined tensor");
  PN_CHECK(castable(x.dtype()) && castable(dtype), "cast: ", dtype_name(x.dtype()), " to ", dtype_name(dtype),
           " is not supported (float32, float64 and bfloat16 only)");
  if (x.dtype() == dtype) return x;
  Tensor y = Tensor::empty(x.shape(), dtype, x.device());
  if (x.numel() > 0) PN_DISPATCH(x.device(), cast_copy, x, y);
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<CastNode>();
    node->source = x.dtype();
    record(y, node, {&x});
  }
  return y;
}

}  // namespace posenet::ops
