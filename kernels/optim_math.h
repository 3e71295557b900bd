// The per-element optimizer updates, shared by the CPU and CUDA kernels so
// both follow torch.optim's single-tensor formulas operation by operation
// (each step rounded in T, in torch's order):
//   SGD:  g = g + wd * p; buf = first ? g : buf * momentum + g;
//         g = nesterov ? g + momentum * buf : buf; p = p + (-lr) * g
//   Adam: g = g + wd * p; m = lerp(m, g, 1 - b1); v = v * b2 + (1 - b2) * g * g;
//         p = p + (-step_size) * m / (sqrt(v) / sqrt(bc2) + eps)
// with step_size = lr / (1 - b1^t) and bc2 = 1 - b2^t computed in double.
#pragma once
#include <cmath>

#if defined(__CUDACC__)
#define PN_HOST_DEVICE __host__ __device__
#else
#define PN_HOST_DEVICE
#endif

namespace posenet::kernels {

// at::lerp: the formula switches at |weight| = 0.5 for accuracy.
template <typename T>
PN_HOST_DEVICE inline T torch_lerp(T self, T end, T weight) {
  return (weight < T(0.5) && weight > T(-0.5)) ? self + weight * (end - self) : end - (end - self) * (T(1) - weight);
}

template <typename T>
struct SgdScalars {
  T lr, momentum, weight_decay;
  bool nesterov;
};

template <typename T>
PN_HOST_DEVICE inline void sgd_update_element(T& p, T g, T* buf, bool first, const SgdScalars<T>& s) {
  if (s.weight_decay != T(0)) g = g + s.weight_decay * p;
  if (buf) {
    *buf = first ? g : *buf * s.momentum + g;
    g = s.nesterov ? g + s.momentum * *buf : *buf;
  }
  p = p + (-s.lr) * g;
}

template <typename T>
struct AdamScalars {
  T one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, neg_step_size, bias_correction2_sqrt;
};

template <typename T>
PN_HOST_DEVICE inline void adam_update_element(T& p, T g, T& m, T& v, const AdamScalars<T>& s) {
  if (s.weight_decay != T(0)) g = g + s.weight_decay * p;
  m = torch_lerp(m, g, s.one_minus_beta1);
  v = v * s.beta2;
  v = v + s.one_minus_beta2 * g * g;
#if !defined(__CUDA_ARCH__)
  using std::sqrt;
#endif
  const T denom = sqrt(v) / s.bias_correction2_sqrt + s.eps;
  p = p + s.neg_step_size * m / denom;
}

// The scalars of one Adam step t (1-based), rounded to T once as torch
// passes them to its kernels. The kernels compute them where they run, from
// lr and t read from device memory (OptimizerScalars), so that a replayed
// step uses the values of its own step.
template <typename T>
PN_HOST_DEVICE inline AdamScalars<T> adam_scalars(double lr, double beta1, double beta2, double eps,
                                                   double weight_decay, double t) {
#if !defined(__CUDA_ARCH__)
  using std::pow;
  using std::sqrt;
#endif
  const double bias_correction1 = 1.0 - pow(beta1, t);
  const double bias_correction2 = 1.0 - pow(beta2, t);
  return {T(1.0 - beta1), T(beta2), T(1.0 - beta2), T(eps), T(weight_decay), T(-(lr / bias_correction1)),
          T(sqrt(bias_correction2))};
}

}  // namespace posenet::kernels
