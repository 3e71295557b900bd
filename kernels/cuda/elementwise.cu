// Elementwise CUDA kernels: grid-stride loops, one pass over memory in
// 16-byte packs where alignment allows, computed in float (double for
// float64) whatever the storage type (storage.cuh).
#include "kernels/cuda/storage.cuh"
#include "kernels/elementwise_kernels.h"

namespace posenet::kernels::cuda {
namespace {

// The elementwise functions, on storage values, computed in acc_t<T>.
struct AddFn {
  template <typename T>
  __device__ T operator()(T a, T b) const { return st<T>(ld(a) + ld(b)); }
};
struct MulFn {
  template <typename T>
  __device__ T operator()(T a, T b) const { return st<T>(ld(a) * ld(b)); }
};
struct ReluFn {  // NaN stays NaN, as torch.relu
  template <typename T>
  __device__ T operator()(T x, T) const { return ld(x) <= 0 ? st<T>(0) : x; }
};
// torch's threshold_backward(dy, y, 0): a NaN output passes the gradient.
struct ReluBackwardFn {
  template <typename T>
  __device__ T operator()(T y, T dy) const { return ld(y) <= 0 ? st<T>(0) : dy; }
};
struct ScaleFn {
  double factor;
  template <typename T>
  __device__ T operator()(T x, T) const { return st<T>(ld(x) * acc_t<T>(factor)); }
};

// out[i] = fn(a[i], b[i]) (b null: fn(a[i], 0)); 16-byte packs when every
// pointer allows, then the tail one by one.
template <typename T, typename Fn>
__global__ void map_kernel(const T* a, const T* b, T* out, int64_t n, bool packed, Fn fn) {
  constexpr int N = kPackOf<T>;
  const int64_t packs = packed ? n / N : 0;
  for (int64_t p = grid_thread(); p < packs; p += grid_threads()) {
    const Pack<T, N> va = load_pack<T, N>(a, p);
    Pack<T, N> vb{}, r;
    if (b) vb = load_pack<T, N>(b, p);
    for (int k = 0; k < N; ++k) r.v[k] = fn(va.v[k], vb.v[k]);
    store_pack<T, N>(out, p, r);
  }
  for (int64_t i = packs * N + grid_thread(); i < n; i += grid_threads()) out[i] = fn(a[i], b ? b[i] : T{});
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

template <typename Fn>
void launch_map(const char* op, const Tensor& a, const Tensor& b, Tensor& out, Fn fn) {
  const int64_t n = out.numel();
  dispatch_storage(out.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    constexpr int N = kPackOf<T>;
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = b.defined() ? static_cast<const T*>(b.raw_data()) : nullptr;
    T* po = static_cast<T*>(out.raw_data());
    const bool packed = packable<T, N>(pa, pb, po);
    map_kernel<T, Fn><<<blocks_for(packed ? n / N + n % N : n), kThreads, 0, current_stream()>>>(pa, pb, po, n,
                                                                                               packed, fn);
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void add_forward(const Tensor& a, const Tensor& b, Tensor& out) { launch_map("add", a, b, out, AddFn{}); }
void mul_forward(const Tensor& a, const Tensor& b, Tensor& out) { launch_map("mul", a, b, out, MulFn{}); }
void relu_forward(const Tensor& x, Tensor& y) { launch_map("relu", x, Tensor(), y, ReluFn{}); }
void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  launch_map("relu_backward", y, dy, dx, ReluBackwardFn{});
}
void scale_forward(const Tensor& x, double factor, Tensor& y) { launch_map("scale", x, Tensor(), y, ScaleFn{factor}); }

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
