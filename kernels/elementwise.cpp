#include "kernels/elementwise.h"

#include "core/autograd.h"
#include "kernels/elementwise_kernels.h"
#include "kernels/dispatch.h"

// The registry entries of this family's kernels (kernels/elementwise_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_ELEMENTWISE_KERNELS)

namespace posenet::ops {

namespace {

struct AddNode final : Node {
  const char* name() const override { return "add"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g, g}; }
};

struct MulNode final : Node {
  Tensor a, b;  // saved only where the other side needs a gradient
  const char* name() const override { return "mul"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor da, db;
    if (b.defined()) da = mul(g, b);
    if (a.defined()) db = mul(g, a);
    return {da, db};
  }
  void release() override { a = b = Tensor(); }
};

struct ReluNode final : Node {
  Tensor y;
  const char* name() const override { return "relu"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
    PN_DISPATCH(g.device(), relu_backward, y, g, dx);
    return {dx};
  }
  void release() override { y = Tensor(); }
};

struct ScaleNode final : Node {
  double factor = 1.0;
  const char* name() const override { return "scale"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {scale(g, factor)}; }
};

struct SumNode final : Node {
  Shape shape;
  const char* name() const override { return "sum"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    Tensor dx = Tensor::empty(shape, g.dtype(), g.device());
    PN_DISPATCH(g.device(), fill_like_scalar, g, dx);
    return {dx};
  }
};

struct ReshapeNode final : Node {
  Shape shape;
  const char* name() const override { return "reshape"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g.view(shape)}; }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_same_device_dtype(a, b, "add");
  PN_CHECK(a.shape() == b.shape(), "add: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()), " differ");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  PN_DISPATCH(a.device(), add_forward, a, b, out);
  if (any_requires_grad({&a, &b})) record(out, std::make_shared<AddNode>(), {&a, &b});
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_same_device_dtype(a, b, "mul");
  PN_CHECK(a.shape() == b.shape(), "mul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()), " differ");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  PN_DISPATCH(a.device(), mul_forward, a, b, out);
  if (any_requires_grad({&a, &b})) {
    auto node = std::make_shared<MulNode>();
    if (a.requires_grad()) node->b = b.detach();
    if (b.requires_grad()) node->a = a.detach();
    record(out, node, {&a, &b});
  }
  return out;
}

Tensor relu(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  PN_DISPATCH(x.device(), relu_forward, x, y);
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<ReluNode>();
    node->y = y.detach();
    record(y, node, {&x});
  }
  return y;
}

Tensor scale(const Tensor& x, double factor) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  PN_DISPATCH(x.device(), scale_forward, x, factor, y);
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<ScaleNode>();
    node->factor = factor;
    record(y, node, {&x});
  }
  return y;
}

Tensor sum(const Tensor& x) {
  Tensor out = Tensor::empty({}, x.dtype(), x.device());
  PN_DISPATCH(x.device(), sum_forward, x, out);
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<SumNode>();
    node->shape = x.shape();
    record(out, node, {&x});
  }
  return out;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor y = x.view(shape);
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<ReshapeNode>();
    node->shape = x.shape();
    record(y, node, {&x});
  }
  return y;
}

}  // namespace posenet::ops
