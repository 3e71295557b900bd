// Batch-norm CUDA kernels over x viewed as [rows, C].
//
// Reductions are two-level and deterministic: the rows are split into a
// fixed number of chunks (a function of the shape only); a block reduces one
// (chunk, 32-channel group) tile in a fixed order and writes a partial; a
// finalize kernel combines the partials of each channel in chunk order.
// Statistics use Welford per thread and Chan's formula to combine (one pass
// over x, no cancellation), accumulated in float (double for float64).
//
// x, y, dy, dx and the residual are in the storage type T (float, double or
// bfloat16); the per-channel tensors (statistics, weight, bias and their
// gradients) and the workspaces are in A = acc_t<T>: float32 statistics
// under bfloat16 activations.
#include "kernels/batchnorm_kernels.h"
#include "kernels/cuda/storage.cuh"

namespace posenet::kernels::cuda {
namespace {

constexpr int kTileC = 32;      // channels per block (threadIdx.x)
constexpr int kTileRows = 8;    // row lanes per block (threadIdx.y)
constexpr int64_t kMinRowsPerChunk = 64;
constexpr int64_t kMaxChunks = 512;

struct Chunks {
  int64_t size = 1, count = 1;
  explicit Chunks(int64_t rows) {
    size = (rows + kMaxChunks - 1) / kMaxChunks;
    if (size < kMinRowsPerChunk) size = kMinRowsPerChunk;
    count = (rows + size - 1) / size;
  }
};

// Channel of flat index i: 32-bit division when the tensor allows it (64-bit
// division is many times slower and would bound the elementwise kernels).
__device__ __forceinline__ int64_t channel_of(int64_t i, int64_t C, bool small) {
  return small ? int64_t(uint32_t(i) % uint32_t(C)) : i % C;
}

template <typename T>
__device__ void chan_combine(T& mean, T& m2, T& n, T mean_b, T m2_b, T n_b) {
  if (n_b == T(0)) return;
  const T total = n + n_b;
  const T delta = mean_b - mean;
  mean += delta * (n_b / total);
  m2 += m2_b + delta * delta * (n * n_b / total);
  n = total;
}

// Partial (mean, m2) per (chunk, channel) into ws[chunk * C + c] and ws[(count + chunk) * C + c].
template <typename T, typename A = acc_t<T>>
__global__ void stats_partial_kernel(const T* x, int64_t rows, int64_t C, int64_t chunk_size, int64_t chunk_count,
                                     A* ws) {
  __shared__ A s_mean[kTileRows][kTileC], s_m2[kTileRows][kTileC], s_n[kTileRows][kTileC];
  const int64_t c = int64_t(blockIdx.x) * kTileC + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t r0 = chunk * chunk_size;
  const int64_t r1 = min(rows, r0 + chunk_size);
  A mean = 0, m2 = 0, n = 0;
  if (c < C) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kTileRows) {
      const A v = ld(x[r * C + c]);
      n += A(1);
      const A d = v - mean;
      mean += d / n;
      m2 += d * (v - mean);
    }
  }
  s_mean[threadIdx.y][threadIdx.x] = mean;
  s_m2[threadIdx.y][threadIdx.x] = m2;
  s_n[threadIdx.y][threadIdx.x] = n;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int k = 1; k < kTileRows; ++k)
      chan_combine(mean, m2, n, s_mean[k][threadIdx.x], s_m2[k][threadIdx.x], s_n[k][threadIdx.x]);
    ws[chunk * C + c] = mean;
    ws[(chunk_count + chunk) * C + c] = m2;
  }
}

template <typename T>
__global__ void stats_finalize_kernel(const T* ws, int64_t rows, int64_t C, int64_t chunk_size, int64_t chunk_count,
                                      double eps, double momentum, T* mean_out, T* invstd_out, T* running_mean,
                                      T* running_var) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  T mean = 0, m2 = 0, n = 0;
  for (int64_t k = 0; k < chunk_count; ++k) {
    const int64_t r0 = k * chunk_size;
    const int64_t r1 = min(rows, r0 + chunk_size);
    chan_combine(mean, m2, n, ws[k * C + c], ws[(chunk_count + k) * C + c], T(r1 - r0));
  }
  const double var = double(m2) / double(rows);
  const double unbiased = double(m2) / double(rows - 1);
  mean_out[c] = mean;
  invstd_out[c] = T(1.0 / sqrt(var + eps));
  running_mean[c] = T((1.0 - momentum) * double(running_mean[c]) + momentum * double(mean));
  running_var[c] = T((1.0 - momentum) * double(running_var[c]) + momentum * unbiased);
}

template <typename T>
__global__ void eval_stats_kernel(const T* running_mean, const T* running_var, double eps, T* mean, T* invstd,
                                  int64_t C) {
  PN_GRID_STRIDE(c, C) {
    mean[c] = running_mean[c];
    invstd[c] = T(1.0 / sqrt(double(running_var[c]) + eps));
  }
}

// Normalise, scale, shift, add the residual and apply ReLU in one pass,
// in 16-byte packs where the pointers allow and C is a multiple of the
// pack (a pack then holds consecutive channels of one row).
template <typename A>
__device__ __forceinline__ A normalised(A x, int64_t c, const A* mean, const A* invstd, const A* weight,
                                        const A* bias, bool has_residual, A residual, bool relu) {
  const A scale = weight[c] * invstd[c];
  A v = (x - mean[c]) * scale + bias[c];
  if (has_residual) v += residual;
  if (relu) v = v <= A(0) ? A(0) : v;  // NaN stays NaN, as torch.relu
  return v;
}

template <typename T, int N, typename A = acc_t<T>>
__global__ void apply_kernel(const T* x, const A* mean, const A* invstd, const A* weight, const A* bias,
                             const T* residual, bool relu, T* y, int64_t n, int64_t C, bool small, bool packed) {
  const int64_t packs = packed ? n / N : 0;
  for (int64_t p = grid_thread(); p < packs; p += grid_threads()) {
    const int64_t c0 = channel_of(p * N, C, small);
    const Pack<T, N> vx = load_pack<T, N>(x, p);
    Pack<T, N> vr{}, out;
    if (residual) vr = load_pack<T, N>(residual, p);
    for (int k = 0; k < N; ++k)
      out.v[k] = st<T>(normalised(ld(vx.v[k]), c0 + k, mean, invstd, weight, bias, residual != nullptr,
                                  residual ? ld(vr.v[k]) : A(0), relu));
    store_pack<T, N>(y, p, out);
  }
  for (int64_t i = packs * N + grid_thread(); i < n; i += grid_threads())
    y[i] = st<T>(normalised(ld(x[i]), channel_of(i, C, small), mean, invstd, weight, bias, residual != nullptr,
                            residual ? ld(residual[i]) : A(0), relu));
}

// Partial sums of g and g * (x - mean) per (chunk, channel), g zeroed where y <= 0 under
// ReLU (torch's threshold_backward: a NaN output passes the gradient).
template <typename T, typename A = acc_t<T>>
__global__ void backward_partial_kernel(const T* x, const T* y, const T* dy, const A* mean, int64_t rows, int64_t C,
                                        int64_t chunk_size, int64_t chunk_count, A* ws) {
  __shared__ A s_g[kTileRows][kTileC], s_gx[kTileRows][kTileC];
  const int64_t c = int64_t(blockIdx.x) * kTileC + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t r0 = chunk * chunk_size;
  const int64_t r1 = min(rows, r0 + chunk_size);
  A sg = 0, sgx = 0;
  if (c < C) {
    const A m = mean[c];
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kTileRows) {
      const int64_t i = r * C + c;
      const A g = (y && ld(y[i]) <= A(0)) ? A(0) : ld(dy[i]);
      sg += g;
      sgx += g * (ld(x[i]) - m);
    }
  }
  s_g[threadIdx.y][threadIdx.x] = sg;
  s_gx[threadIdx.y][threadIdx.x] = sgx;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int k = 1; k < kTileRows; ++k) {
      sg += s_g[k][threadIdx.x];
      sgx += s_gx[k][threadIdx.x];
    }
    ws[chunk * C + c] = sg;
    ws[(chunk_count + chunk) * C + c] = sgx;
  }
}

// Combines the partials per channel; writes dbias/dweight (when wanted) and
// the dx coefficients k1, k2, k3 (dx = k1 g + k2 (x - mean) + k3) into coef [3, C].
template <typename T>
__global__ void backward_finalize_kernel(const T* ws, int64_t rows, int64_t C, int64_t chunk_count, const T* invstd,
                                         const T* weight, bool training, T* dweight, T* dbias, T* coef) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  T sg = 0, sgx = 0;
  for (int64_t k = 0; k < chunk_count; ++k) {
    sg += ws[k * C + c];
    sgx += ws[(chunk_count + k) * C + c];
  }
  const T inv = invstd[c];
  if (dbias) dbias[c] = sg;
  if (dweight) dweight[c] = sgx * inv;
  const T a = weight[c] * inv;
  coef[c] = a;
  coef[C + c] = training ? -a * inv * inv * sgx / T(rows) : T(0);
  coef[2 * C + c] = training ? -a * sg / T(rows) : T(0);
}

// dx = k1 g + k2 (x - mean) + k3 and dresidual = g, in packs as apply_kernel.
template <typename T, int N, typename A = acc_t<T>>
__global__ void backward_apply_kernel(const T* x, const T* y, const T* dy, const A* mean, const A* coef, T* dx,
                                      T* dresidual, int64_t n, int64_t C, bool small, bool packed) {
  auto grad = [&](A yv, A dyv) { return (y && yv <= A(0)) ? A(0) : dyv; };
  auto dx_of = [&](A g, A xv, int64_t c) { return coef[c] * g + coef[C + c] * (xv - mean[c]) + coef[2 * C + c]; };
  const int64_t packs = packed ? n / N : 0;
  for (int64_t p = grid_thread(); p < packs; p += grid_threads()) {
    const int64_t c0 = channel_of(p * N, C, small);
    const Pack<T, N> vdy = load_pack<T, N>(dy, p);
    Pack<T, N> vy{}, vx{}, vdx, vdr;
    if (y) vy = load_pack<T, N>(y, p);
    if (dx) vx = load_pack<T, N>(x, p);
    for (int k = 0; k < N; ++k) {
      const A g = grad(ld(vy.v[k]), ld(vdy.v[k]));
      vdr.v[k] = st<T>(g);
      vdx.v[k] = st<T>(dx_of(g, ld(vx.v[k]), c0 + k));
    }
    if (dresidual) store_pack<T, N>(dresidual, p, vdr);
    if (dx) store_pack<T, N>(dx, p, vdx);
  }
  for (int64_t i = packs * N + grid_thread(); i < n; i += grid_threads()) {
    const A g = grad(y ? ld(y[i]) : A(0), ld(dy[i]));
    if (dresidual) dresidual[i] = st<T>(g);
    if (dx) dx[i] = st<T>(dx_of(g, ld(x[i]), channel_of(i, C, small)));
  }
}

template <typename T>
const T* cptr(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}
template <typename T>
T* mptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

bool fits_32bit(int64_t n) { return n < (int64_t(1) << 32); }

dim3 tile_grid(int64_t C, const Chunks& chunks) {
  return dim3(unsigned((C + kTileC - 1) / kTileC), unsigned(chunks.count));
}

}  // namespace

void batch_norm_train_stats(const Tensor& x, double eps, double momentum, Tensor& mean, Tensor& invstd,
                            Tensor& running_mean, Tensor& running_var) {
  const int64_t C = x.dim(-1);
  const int64_t rows = x.numel() / C;
  const Chunks chunks(rows);
  Tensor ws = Tensor::empty({2 * chunks.count * C}, compute_dtype(x.dtype()), x.device());
  dispatch_storage(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    stats_partial_kernel<T><<<tile_grid(C, chunks), dim3(kTileC, kTileRows), 0, current_stream()>>>(
        cptr<T>(x), rows, C, chunks.size, chunks.count, mptr<A>(ws));
    PN_CUDA_CHECK_LAUNCH();
    stats_finalize_kernel<A><<<blocks_for(C), kThreads, 0, current_stream()>>>(
        cptr<A>(ws), rows, C, chunks.size, chunks.count, eps, momentum, mptr<A>(mean), mptr<A>(invstd),
        mptr<A>(running_mean), mptr<A>(running_var));
    PN_CUDA_CHECK_LAUNCH();
  });
}

void batch_norm_eval_stats(const Tensor& running_mean, const Tensor& running_var, double eps, Tensor& mean,
                           Tensor& invstd) {
  const int64_t C = running_mean.numel();
  dispatch_float(running_mean.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    eval_stats_kernel<T><<<blocks_for(C), kThreads, 0, current_stream()>>>(
        cptr<T>(running_mean), cptr<T>(running_var), eps, mptr<T>(mean), mptr<T>(invstd), C);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                      const Tensor& bias, const Tensor& residual, bool relu, Tensor& y) {
  const int64_t n = x.numel();
  const int64_t C = x.dim(-1);
  dispatch_storage(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    constexpr int N = kPackOf<T>;
    const void* pr = residual.defined() ? residual.raw_data() : nullptr;
    const bool packed = C % N == 0 && packable<T, N>(x.raw_data(), pr, y.raw_data());
    apply_kernel<T, N><<<blocks_for(packed ? n / N : n), kThreads, 0, current_stream()>>>(
        cptr<T>(x), cptr<A>(mean), cptr<A>(invstd), cptr<A>(weight), cptr<A>(bias), cptr<T>(residual), relu,
        mptr<T>(y), n, C, fits_32bit(n), packed);
  });
  PN_CUDA_CHECK_LAUNCH();
}

void batch_norm_backward(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,
                         const Tensor& invstd, const Tensor& weight, bool relu, bool training, Tensor& dx,
                         Tensor& dweight, Tensor& dbias, Tensor& dresidual) {
  const int64_t C = x.dim(-1);
  const int64_t n = x.numel();
  const int64_t rows = n / C;
  const Chunks chunks(rows);
  const bool need_sums = dweight.defined() || dbias.defined() || (dx.defined() && training);
  const DType acc = compute_dtype(x.dtype());
  Tensor ws = Tensor::empty({2 * chunks.count * C}, acc, x.device());
  Tensor coef = Tensor::empty({3 * C}, acc, x.device());
  if (!need_sums) ws.zero_();
  dispatch_storage(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    const T* py = relu ? cptr<T>(y) : nullptr;
    if (need_sums) {
      backward_partial_kernel<T><<<tile_grid(C, chunks), dim3(kTileC, kTileRows), 0, current_stream()>>>(
          cptr<T>(x), py, cptr<T>(dy), cptr<A>(mean), rows, C, chunks.size, chunks.count, mptr<A>(ws));
      PN_CUDA_CHECK_LAUNCH();
    }
    backward_finalize_kernel<A><<<blocks_for(C), kThreads, 0, current_stream()>>>(
        cptr<A>(ws), rows, C, chunks.count, cptr<A>(invstd), cptr<A>(weight), training, mptr<A>(dweight),
        mptr<A>(dbias), mptr<A>(coef));
    PN_CUDA_CHECK_LAUNCH();
    if (dx.defined() || dresidual.defined()) {
      constexpr int N = kPackOf<T>;
      const bool packed = C % N == 0 && packable<T, N>(x.raw_data(), py, dy.raw_data(), mptr<T>(dx),
                                                       mptr<T>(dresidual));
      backward_apply_kernel<T, N><<<blocks_for(packed ? n / N : n), kThreads, 0, current_stream()>>>(
          cptr<T>(x), py, cptr<T>(dy), cptr<A>(mean), cptr<A>(coef), mptr<T>(dx), mptr<T>(dresidual), n, C,
          fits_32bit(n), packed);
      PN_CUDA_CHECK_LAUNCH();
    }
  });
}

}  // namespace posenet::kernels::cuda
