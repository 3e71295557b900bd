// Elementwise ops and simple reductions (differentiable).
#pragma once
#include "core/tensor.h"

namespace posenet::ops {

Tensor add(const Tensor& a, const Tensor& b);        // same shape, dtype, device
Tensor mul(const Tensor& a, const Tensor& b);        // elementwise product, same shape
Tensor relu(const Tensor& x);
Tensor scale(const Tensor& x, double factor);        // x * factor
Tensor sum(const Tensor& x);                         // all elements -> scalar
Tensor reshape(const Tensor& x, const Shape& shape); // same storage, new shape

}  // namespace posenet::ops
