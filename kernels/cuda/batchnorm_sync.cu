// Sync-BN CUDA kernels (kernels/batchnorm_sync_kernels.h). The per-channel
// sums use one block per channel and a fixed-order block reduction in
// double: deterministic, simple, and not tuned (rows are read with stride C;
// sync-BN's cost is dominated by the cross-process sum between the two halves).
#include "kernels/batchnorm_sync_kernels.h"
#include "kernels/cuda/common.cuh"

namespace posenet::kernels::cuda {
namespace {

unsigned channel_blocks(int64_t C) { return unsigned(C < 65535 ? C : 65535); }

template <typename T>
const T* in_ptr(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}
template <typename T>
T* out_ptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

template <typename T>
__device__ inline double masked_grad(const T* y, const T* dy, int64_t i, bool relu) {
  return relu && !(y[i] > T(0)) ? 0.0 : double(dy[i]);
}

template <typename T>
__global__ void shifted_sums_kernel(const T* x, const T* shift, int64_t rows, int64_t C, double* sums) {
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const double k = double(shift[c]);
    double s1 = 0, s2 = 0;
    for (int64_t r = threadIdx.x; r < rows; r += kThreads) {
      const double d = double(x[r * C + c]) - k;
      s1 += d;
      s2 += d * d;
    }
    s1 = block_sum<kThreads>(s1);
    __syncthreads();
    s2 = block_sum<kThreads>(s2);
    __syncthreads();
    if (threadIdx.x == 0) {
      sums[c] = s1;
      sums[C + c] = s2;
      if (c == 0) sums[2 * C] = double(rows);
    }
  }
}

template <typename T>
__global__ void stats_from_sums_kernel(const double* sums, int64_t C, double eps, double momentum, T* mean,
                                       T* invstd, T* running_mean, T* running_var) {
  const double n = sums[2 * C];
  PN_GRID_STRIDE(c, C) {
    const double s1 = sums[c], s2 = sums[C + c];
    const double mu = double(running_mean[c]) + s1 / n;
    const double deviations = s2 - s1 * s1 / n;
    const double sq = deviations < 0.0 ? 0.0 : deviations;
    mean[c] = T(mu);
    invstd[c] = T(1.0 / sqrt(sq / n + eps));
    running_mean[c] = T((1.0 - momentum) * double(running_mean[c]) + momentum * mu);
    running_var[c] = T((1.0 - momentum) * double(running_var[c]) + momentum * sq / (n - 1.0));
  }
}

template <typename T>
__global__ void backward_sums_kernel(const T* x, const T* y, const T* dy, const T* mean, const T* invstd, bool relu,
                                     int64_t rows, int64_t C, double* sums, T* dweight, T* dbias) {
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const double m = double(mean[c]), is = double(invstd[c]);
    double sg = 0, sgx = 0;
    for (int64_t r = threadIdx.x; r < rows; r += kThreads) {
      const int64_t i = r * C + c;
      const double g = masked_grad(y, dy, i, relu);
      sg += g;
      sgx += g * (double(x[i]) - m) * is;
    }
    sg = block_sum<kThreads>(sg);
    __syncthreads();
    sgx = block_sum<kThreads>(sgx);
    __syncthreads();
    if (threadIdx.x == 0) {
      sums[c] = sg;
      sums[C + c] = sgx;
      if (c == 0) sums[2 * C] = double(rows);
      if (dbias) dbias[c] = T(sg);
      if (dweight) dweight[c] = T(sgx);
    }
  }
}

template <typename T>
__global__ void backward_from_sums_kernel(const T* x, const T* y, const T* dy, const T* mean, const T* invstd,
                                          const T* weight, const double* sums, bool relu, int64_t n,
                                          int64_t C, T* dx, T* dresidual) {
  const double count = sums[2 * C];
  PN_GRID_STRIDE(i, n) {
    const int64_t c = i % C;
    const double g = masked_grad(y, dy, i, relu);
    if (dresidual) dresidual[i] = T(g);
    if (dx) {
      const double is = double(invstd[c]);
      const double xhat = (double(x[i]) - double(mean[c])) * is;
      dx[i] = T(double(weight[c]) * is * (g - sums[c] / count - xhat * sums[C + c] / count));
    }
  }
}

}  // namespace

void batch_norm_shifted_sums(const Tensor& x, const Tensor& shift, Tensor& sums) {
  const int64_t C = x.dim(-1), rows = x.numel() / C;
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    shifted_sums_kernel<T><<<channel_blocks(C), kThreads, 0, current_stream()>>>(in_ptr<T>(x), in_ptr<T>(shift), rows,
                                                                                C, out_ptr<double>(sums));
  });
  PN_CUDA_CHECK_LAUNCH();
}

void batch_norm_stats_from_sums(const Tensor& sums, double eps, double momentum, Tensor& mean, Tensor& invstd,
                                Tensor& running_mean, Tensor& running_var) {
  const int64_t C = mean.numel();
  dispatch_float(mean.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    stats_from_sums_kernel<T><<<blocks_for(C), kThreads, 0, current_stream()>>>(
        in_ptr<double>(sums), C, eps, momentum, out_ptr<T>(mean), out_ptr<T>(invstd), out_ptr<T>(running_mean),
        out_ptr<T>(running_var));
  });
  PN_CUDA_CHECK_LAUNCH();
}

void batch_norm_backward_sums(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,
                              const Tensor& invstd, bool relu, Tensor& sums, Tensor& dweight, Tensor& dbias) {
  const int64_t C = x.dim(-1), rows = x.numel() / C;
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    backward_sums_kernel<T><<<channel_blocks(C), kThreads, 0, current_stream()>>>(
        in_ptr<T>(x), in_ptr<T>(y), in_ptr<T>(dy), in_ptr<T>(mean), in_ptr<T>(invstd), relu, rows, C,
        out_ptr<double>(sums), out_ptr<T>(dweight), out_ptr<T>(dbias));
  });
  PN_CUDA_CHECK_LAUNCH();
}

void batch_norm_backward_from_sums(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& mean,
                                   const Tensor& invstd, const Tensor& weight, const Tensor& sums, bool relu,
                                   Tensor& dx, Tensor& dresidual) {
  const int64_t n = x.numel(), C = x.dim(-1);
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    backward_from_sums_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        in_ptr<T>(x), in_ptr<T>(y), in_ptr<T>(dy), in_ptr<T>(mean), in_ptr<T>(invstd), in_ptr<T>(weight),
        in_ptr<double>(sums), relu, n, C, out_ptr<T>(dx), out_ptr<T>(dresidual));
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
