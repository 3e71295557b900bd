#pragma once
#include "core/tensor.h"

namespace posenet::kernels::cuda {
void add_forward(const Tensor& a, const Tensor& b, Tensor& out);
void mul_forward(const Tensor& a, const Tensor& b, Tensor& out);
void relu_forward(const Tensor& x, Tensor& y);
void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx);
void scale_forward(const Tensor& x, double factor, Tensor& y);
void sum_forward(const Tensor& x, Tensor& out);
void fill_like_scalar(const Tensor& scalar, Tensor& out);
}  // namespace posenet::kernels::cuda
