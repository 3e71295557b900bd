// The convolutions' bias on CUDA (hand-written; cuDNN runs the convolutions
// themselves): y[m, k] += b[k] and db[k] = sum_m dy[m, k] over rows of [M, K].
#include <algorithm>

#include "kernels/cuda/storage.cuh"
#include "kernels/cuda/conv.h"

namespace posenet::kernels::cuda {

namespace {

// In 16-byte packs where y allows and K is a multiple of the pack (a pack
// then holds consecutive channels of one row).
template <typename T, int N>
__global__ void bias_add_kernel(T* y, const T* b, int64_t n, int64_t K, bool packed) {
  const int64_t packs = packed ? n / N : 0;
  for (int64_t p = grid_thread(); p < packs; p += grid_threads()) {
    const int64_t k0 = (p * N) % K;
    Pack<T, N> v = load_pack<T, N>(y, p);
    for (int k = 0; k < N; ++k) v.v[k] = st<T>(ld(v.v[k]) + ld(b[k0 + k]));
    store_pack<T, N>(y, p, v);
  }
  for (int64_t i = packs * N + grid_thread(); i < n; i += grid_threads()) y[i] = st<T>(ld(y[i]) + ld(b[i % K]));
}

constexpr int kColTile = 32, kRowLanes = 8;

// Stage 1: block (32 columns x 8 row lanes) sums a fixed slice of rows
// into partial[blockIdx.y, k]. Fixed slices make the result deterministic.
template <typename T>
__global__ void column_partial_sum_kernel(const T* dy, double* partial, int64_t M, int64_t K, int64_t rows_per_slice) {
  __shared__ double lanes[kRowLanes][kColTile + 1];
  const int64_t k = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  const int64_t m_begin = int64_t(blockIdx.y) * rows_per_slice;
  const int64_t m_end = min(M, m_begin + rows_per_slice);
  double acc = 0.0;
  if (k < K)
    for (int64_t m = m_begin + threadIdx.y; m < m_end; m += kRowLanes) acc += double(ld(dy[m * K + k]));
  lanes[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && k < K) {
    double total = 0.0;
    for (int i = 0; i < kRowLanes; ++i) total += lanes[i][threadIdx.x];
    partial[int64_t(blockIdx.y) * K + k] = total;
  }
}

template <typename T>
__global__ void column_finish_kernel(const double* partial, T* db, int64_t slices, int64_t K) {
  PN_GRID_STRIDE(k, K) {
    double total = 0.0;
    for (int64_t s = 0; s < slices; ++s) total += partial[s * K + k];
    db[k] = st<T>(acc_t<T>(total));
  }
}

}  // namespace

void conv_bias_add(Tensor& y, const Tensor& bias) {
  const int64_t n = y.numel(), K = bias.numel();
  dispatch_storage(y.dtype(), "conv_bias_add", [&](auto tag) {
    using T = decltype(tag);
    constexpr int N = kPackOf<T>;
    T* py = static_cast<T*>(y.raw_data());
    const bool packed = K % N == 0 && packable<T, N>(py);
    bias_add_kernel<T, N><<<blocks_for(packed ? n / N : n), kThreads, 0, current_stream()>>>(
        py, static_cast<const T*>(bias.raw_data()), n, K, packed);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void conv_bias_backward(const Tensor& dy, Tensor& db) {
  const int64_t K = db.numel(), M = dy.numel() / K;
  // About 256 rows per slice, at most 1024 slices.
  const int64_t slices = std::max<int64_t>(1, std::min<int64_t>(1024, (M + 255) / 256));
  const int64_t rows_per_slice = (M + slices - 1) / slices;
  Tensor partial = Tensor::empty({slices * K}, DType::F64, dy.device());
  dispatch_storage(dy.dtype(), "conv_bias_backward", [&](auto tag) {
    using T = decltype(tag);
    dim3 block(kColTile, kRowLanes);
    dim3 grid(unsigned((K + kColTile - 1) / kColTile), unsigned(slices));
    column_partial_sum_kernel<<<grid, block, 0, current_stream()>>>(static_cast<const T*>(dy.raw_data()),
                                                                    static_cast<double*>(partial.raw_data()), M, K,
                                                                    rows_per_slice);
    PN_CUDA_CHECK_LAUNCH();
    column_finish_kernel<<<blocks_for(K), kThreads, 0, current_stream()>>>(
        static_cast<const double*>(partial.raw_data()), static_cast<T*>(db.raw_data()), slices, K);
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
