// Elementwise CUDA kernels: grid-stride loops, one pass over memory, computed
// in float (double for float64) whatever the storage type (storage.cuh).
#include "kernels/cuda/storage.cuh"
#include "kernels/elementwise_kernels.h"

namespace posenet::kernels::cuda {
namespace {

template <typename T>
__global__ void add_kernel(const T* a, const T* b, T* out, int64_t n) {
  PN_GRID_STRIDE(i, n) out[i] = st<T>(ld(a[i]) + ld(b[i]));
}
template <typename T>
__global__ void mul_kernel(const T* a, const T* b, T* out, int64_t n) {
  PN_GRID_STRIDE(i, n) out[i] = st<T>(ld(a[i]) * ld(b[i]));
}
template <typename T>
__global__ void relu_kernel(const T* x, T* y, int64_t n) {
  PN_GRID_STRIDE(i, n) {
    const acc_t<T> v = ld(x[i]);
    y[i] = st<T>(v <= acc_t<T>(0) ? acc_t<T>(0) : v);  // NaN stays NaN, as torch.relu
  }
}
// torch's threshold_backward(dy, y, 0): a NaN output passes the gradient.
template <typename T>
__global__ void relu_backward_kernel(const T* y, const T* dy, T* dx, int64_t n) {
  PN_GRID_STRIDE(i, n) dx[i] = ld(y[i]) <= acc_t<T>(0) ? st<T>(acc_t<T>(0)) : dy[i];
}
template <typename T>
__global__ void scale_kernel(const T* x, acc_t<T> f, T* y, int64_t n) {
  PN_GRID_STRIDE(i, n) y[i] = st<T>(ld(x[i]) * f);
}
template <typename T>
__global__ void fill_from_scalar_kernel(const T* s, T* out, int64_t n) {
  PN_GRID_STRIDE(i, n) out[i] = s[0];
}
// One block sums the whole tensor in a fixed order: deterministic, and the
// sums taken here (losses) are small.
template <typename T>
__global__ void sum_kernel(const T* x, T* out, int64_t n) {
  __shared__ double partial[kThreads];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += double(ld(x[i]));
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = st<T>(acc_t<T>(partial[0]));
}

}  // namespace

void add_forward(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = a.numel();
  dispatch_storage(a.dtype(), "add", [&](auto tag) {
    using scalar_t = decltype(tag);
    add_kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<const scalar_t*>(a.raw_data()), static_cast<const scalar_t*>(b.raw_data()),
        static_cast<scalar_t*>(out.raw_data()), n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void mul_forward(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = a.numel();
  dispatch_storage(a.dtype(), "mul", [&](auto tag) {
    using scalar_t = decltype(tag);
    mul_kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<const scalar_t*>(a.raw_data()), static_cast<const scalar_t*>(b.raw_data()),
        static_cast<scalar_t*>(out.raw_data()), n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void relu_forward(const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  dispatch_storage(x.dtype(), "relu", [&](auto tag) {
    using scalar_t = decltype(tag);
    relu_kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(static_cast<const scalar_t*>(x.raw_data()),
                                                                   static_cast<scalar_t*>(y.raw_data()), n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  const int64_t n = y.numel();
  dispatch_storage(y.dtype(), "relu_backward", [&](auto tag) {
    using scalar_t = decltype(tag);
    relu_backward_kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<const scalar_t*>(y.raw_data()), static_cast<const scalar_t*>(dy.raw_data()),
        static_cast<scalar_t*>(dx.raw_data()), n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void scale_forward(const Tensor& x, double factor, Tensor& y) {
  const int64_t n = x.numel();
  dispatch_storage(x.dtype(), "scale", [&](auto tag) {
    using scalar_t = decltype(tag);
    scale_kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(static_cast<const scalar_t*>(x.raw_data()),
                                                                    acc_t<scalar_t>(factor),
                                                                    static_cast<scalar_t*>(y.raw_data()), n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void sum_forward(const Tensor& x, Tensor& out) {
  const int64_t n = x.numel();
  dispatch_storage(x.dtype(), "sum", [&](auto tag) {
    using scalar_t = decltype(tag);
    sum_kernel<<<1, kThreads, 0, current_stream()>>>(static_cast<const scalar_t*>(x.raw_data()),
                                                     static_cast<scalar_t*>(out.raw_data()), n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void fill_like_scalar(const Tensor& scalar, Tensor& out) {
  const int64_t n = out.numel();
  dispatch_storage(out.dtype(), "fill", [&](auto tag) {
    using scalar_t = decltype(tag);
    fill_from_scalar_kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(
        static_cast<const scalar_t*>(scalar.raw_data()), static_cast<scalar_t*>(out.raw_data()), n);
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
