#include "kernels/cpu/conv.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "kernels/cpu/blas.h"
#include "kernels/dispatch.h"
#include "kernels/cpu/via_float.h"

// Threading: the copies around the GEMMs (im2col, col2im, bias) run on the
// calling thread and only the GEMMs are parallel. The copies are
// memory-bound and small next to the GEMM that follows them: the conv
// benchmarks (posenet-bench --benchmark_filter=conv_cpu) put each
// convolution within a few percent of its GEMM alone (conv_cpu_sgemm_only).
// That was first measured with OpenBLAS's pthreads build, whose workers an
// OpenMP team spinning after a parallel copy starved; the build now links
// the OpenMP OpenBLAS, which shares one pool with posenet's loops.

namespace posenet::kernels::cpu {

namespace {

std::atomic<size_t> g_column_buffer_bytes{size_t(64) << 20};

int64_t rows_per_chunk(const ConvGeometry& g, size_t elem_bytes) {
  const int64_t row_bytes = g.patch_size() * int64_t(elem_bytes);
  const int64_t rows = std::max<int64_t>(1, int64_t(g_column_buffer_bytes.load()) / row_bytes);
  return std::min(rows, g.output_pixels());
}

// Rows [m0, m0 + rows) of the column matrix: row i holds the R*S*C input
// values under output pixel m0 + i (zeros where the window hangs over the
// padding), in (r, s, c) order, which matches the KRSC weight rows.
template <typename T>
void im2col(const T* x, const ConvGeometry& g, int64_t m0, int64_t rows, T* col) {
  const int64_t PQ = g.P * g.Q, C = g.C, ld = g.patch_size();
  const int64_t image = g.H * g.W * C;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t m = m0 + i, n = m / PQ, pq = m % PQ, p = pq / g.Q, q = pq % g.Q;
    const T* xn = x + n * image;
    T* dst = col + i * ld;
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t h = p * g.stride_h - g.pad_h + r * g.dilation_h;
      if (h < 0 || h >= g.H) {
        std::memset(static_cast<void*>(dst), 0, size_t(g.S * C) * sizeof(T));
        dst += g.S * C;
        continue;
      }
      const T* row = xn + h * g.W * C;
      const int64_t w0 = q * g.stride_w - g.pad_w;
      if (g.dilation_w == 1 && w0 >= 0 && w0 + g.S <= g.W) {
        // The whole kernel row lies inside the image: one contiguous run.
        std::memcpy(dst, row + w0 * C, size_t(g.S * C) * sizeof(T));
        dst += g.S * C;
        continue;
      }
      for (int64_t s = 0; s < g.S; ++s, dst += C) {
        const int64_t w = q * g.stride_w - g.pad_w + s * g.dilation_w;
        if (w < 0 || w >= g.W) std::memset(static_cast<void*>(dst), 0, size_t(C) * sizeof(T));
        else std::memcpy(dst, row + w * C, size_t(C) * sizeof(T));
      }
    }
  }
}

// Adds column rows [m0, m0 + rows) back onto dx (the adjoint of im2col).
template <typename T>
void col2im_add(const T* col, const ConvGeometry& g, int64_t m0, int64_t rows, T* dx) {
  const int64_t PQ = g.P * g.Q, C = g.C, ld = g.patch_size();
  const int64_t image = g.H * g.W * C;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t m = m0 + i, n = m / PQ, pq = m % PQ, p = pq / g.Q, q = pq % g.Q;
    T* dxn = dx + n * image;
    const T* src_row = col + i * ld;
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t h = p * g.stride_h - g.pad_h + r * g.dilation_h;
      if (h < 0 || h >= g.H) continue;
      const int64_t w0 = q * g.stride_w - g.pad_w;
      if (g.dilation_w == 1 && w0 >= 0 && w0 + g.S <= g.W) {
        T* dst = dxn + (h * g.W + w0) * C;
        const T* src = src_row + r * g.S * C;
        const int64_t len = g.S * C;
#pragma omp simd
        for (int64_t j = 0; j < len; ++j) dst[j] += src[j];
        continue;
      }
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t w = q * g.stride_w - g.pad_w + s * g.dilation_w;
        if (w < 0 || w >= g.W) continue;
        T* dst = dxn + (h * g.W + w) * C;
        const T* src = src_row + (r * g.S + s) * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
      }
    }
  }
}

// The im2col buffer of the calling thread, kept between calls and only ever
// grown (at most column_buffer_bytes()), so a training step does not
// allocate and page-fault a fresh buffer for every convolution.
template <typename T>
struct ColumnBuffer {
  int64_t rows;
  T* data;
  explicit ColumnBuffer(const ConvGeometry& g) : rows(rows_per_chunk(g, sizeof(T))) {
    thread_local std::vector<T> cache;
    const size_t need = size_t(rows * g.patch_size());
    if (cache.size() < need) {
      cache = std::vector<T>();  // release before growing: no two buffers at once
      cache.resize(need);
    }
    data = cache.data();
  }
};

template <typename T>
void forward_impl(const T* x, const T* w, T* y, const ConvGeometry& g) {
  const int64_t M = g.output_pixels(), ld = g.patch_size();
  if (g.is_pointwise()) {
    gemm(false, true, M, g.K, g.C, T(1), x, g.C, w, g.C, T(0), y, g.K);
    return;
  }
  ColumnBuffer<T> col(g);
  for (int64_t m0 = 0; m0 < M; m0 += col.rows) {
    const int64_t rows = std::min(col.rows, M - m0);
    im2col(x, g, m0, rows, col.data);
    gemm(false, true, rows, g.K, ld, T(1), col.data, ld, w, ld, T(0), y + m0 * g.K, g.K);
  }
}

template <typename T>
void backward_data_impl(const T* dy, const T* w, T* dx, const ConvGeometry& g) {
  const int64_t M = g.output_pixels(), ld = g.patch_size();
  if (g.is_pointwise()) {
    gemm(false, false, M, g.C, g.K, T(1), dy, g.K, w, g.C, T(0), dx, g.C);
    return;
  }
  std::fill_n(dx, g.N * g.H * g.W * g.C, T(0));
  ColumnBuffer<T> col(g);
  for (int64_t m0 = 0; m0 < M; m0 += col.rows) {
    const int64_t rows = std::min(col.rows, M - m0);
    gemm(false, false, rows, ld, g.K, T(1), dy + m0 * g.K, g.K, w, ld, T(0), col.data, ld);
    col2im_add(col.data, g, m0, rows, dx);
  }
}

template <typename T>
void backward_weight_impl(const T* x, const T* dy, T* dw, const ConvGeometry& g) {
  const int64_t M = g.output_pixels(), ld = g.patch_size();
  if (g.is_pointwise()) {
    gemm(true, false, g.K, g.C, M, T(1), dy, g.K, x, g.C, T(0), dw, g.C);
    return;
  }
  ColumnBuffer<T> col(g);
  for (int64_t m0 = 0; m0 < M; m0 += col.rows) {
    const int64_t rows = std::min(col.rows, M - m0);
    im2col(x, g, m0, rows, col.data);
    gemm(true, false, g.K, ld, rows, T(1), dy + m0 * g.K, g.K, col.data, ld, m0 == 0 ? T(0) : T(1), dw, ld);
  }
}

}  // namespace

size_t column_buffer_bytes() { return g_column_buffer_bytes.load(); }
void set_column_buffer_bytes(size_t bytes) { g_column_buffer_bytes.store(bytes); }

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g) {
  if (uses_bf16(x)) return run_via_float(&conv2d_forward, x, w, y, g);
  dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    forward_impl(x.data<T>(), w.data<T>(), y.data<T>(), g);
  });
}

void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g) {
  if (uses_bf16(dy)) return run_via_float(&conv2d_backward_data, dy, w, dx, g);
  dispatch_float(dy.dtype(), "conv2d_backward_data", [&](auto tag) {
    using T = decltype(tag);
    backward_data_impl(dy.data<T>(), w.data<T>(), dx.data<T>(), g);
  });
}

void conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g) {
  if (uses_bf16(x)) return run_via_float(&conv2d_backward_weight, x, dy, dw, g);
  dispatch_float(x.dtype(), "conv2d_backward_weight", [&](auto tag) {
    using T = decltype(tag);
    backward_weight_impl(x.data<T>(), dy.data<T>(), dw.data<T>(), g);
  });
}

void conv_bias_add(Tensor& y, const Tensor& bias) {
  if (uses_bf16(y)) return run_via_float(&conv_bias_add, y, bias);
  const int64_t K = bias.numel(), M = y.numel() / K;
  dispatch_float(y.dtype(), "conv_bias_add", [&](auto tag) {
    using T = decltype(tag);
    T* py = y.data<T>();
    const T* pb = bias.data<T>();
    for (int64_t m = 0; m < M; ++m) {
      T* row = py + m * K;
#pragma omp simd
      for (int64_t k = 0; k < K; ++k) row[k] += pb[k];
    }
  });
}

void conv_bias_backward(const Tensor& dy, Tensor& db) {
  if (uses_bf16(dy)) return run_via_float(&conv_bias_backward, dy, db);
  const int64_t K = db.numel(), M = dy.numel() / K;
  dispatch_float(dy.dtype(), "conv_bias_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    // Summed in double, row by row (contiguous), in a fixed order.
    std::vector<double> acc(size_t(K), 0.0);
    for (int64_t m = 0; m < M; ++m) {
      const T* row = pdy + m * K;
#pragma omp simd
      for (int64_t k = 0; k < K; ++k) acc[size_t(k)] += double(row[k]);
    }
    T* out = db.data<T>();
    for (int64_t k = 0; k < K; ++k) out[k] = T(acc[size_t(k)]);
  });
}

}  // namespace posenet::kernels::cpu
