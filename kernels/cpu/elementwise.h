#pragma once
#include "core/tensor.h"

namespace posenet::kernels::cpu {
void add_forward(const Tensor& a, const Tensor& b, Tensor& out);
void mul_forward(const Tensor& a, const Tensor& b, Tensor& out);
void relu_forward(const Tensor& x, Tensor& y);
// dx = dy where y > 0 (y is relu's output; the kink at 0 has gradient 0).
void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx);
void scale_forward(const Tensor& x, double factor, Tensor& y);
void sum_forward(const Tensor& x, Tensor& out);  // out: one element
void fill_like_scalar(const Tensor& scalar, Tensor& out);  // out[:] = scalar
}  // namespace posenet::kernels::cpu
