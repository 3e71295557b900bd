// The hand-written 4x4 stride-2 padding-1 deconvolution (kernels/cuda/deconv.h):
// its three passes as implicit GEMMs on one tiled kernel.
//
// In the conv2d geometry g (large x [N, 2P, 2Q, C], w [K, 4, 4, C], small
// y [N, P, Q, K]):
//   pass Deconv (conv2d backward-data, the deconvolution's forward): the
//     large output's four parity classes (oy % 2, ox % 2) are each a 2x2
//     convolution of the small input with a 2x2 slice of w. Class (py, px)
//     is the GEMM [N*P*Q, 4K] x [4K, C]: row (n, my, mx) writes pixel
//     (2my + py, 2mx + px); reduction index (ty, tx, k) reads small pixel
//     (my + py - ty, mx + px - tx) and tap (1 - py + 2ty, 1 - px + 2tx).
//     blockIdx.z is the class; every large pixel is written exactly once.
//   pass Conv (conv2d forward, the deconvolution's backward-data): the GEMM
//     [N*P*Q, 16C] x [16C, K], row (n, p, q), reduction (r, s, c) reading
//     large pixel (2p - 1 + r, 2q - 1 + s).
//   pass Weight (conv2d backward-weight): [K, N*P*Q] x [N*P*Q, 16C], the
//     reduction over every small pixel.
//
// Tiling: a block of 256 threads computes a 64 x 64 tile of the GEMM's
// output, staging 64 x 16 slices of both operands in shared memory per step
// of the reduction (loaded in the order that makes global reads contiguous
// along NHWC's channel axis), each thread accumulating a 4 x 4 micro-tile in
// registers (float; double for float64 storage). The shared tiles are laid
// out [reduction][row] and [reduction][column] so that a tensor-core inner
// loop (wmma/mma fragments loaded from the same tiles) can replace the FMA
// loop in multiply_tile without changing the loads or the stores.
#include <algorithm>
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/deconv.h"

namespace posenet::kernels::cuda {

namespace {

constexpr int kTileRows = 64, kTileCols = 64, kTileRed = 16;
constexpr int kBlockThreads = 256;  // 16 x 16 threads, 4 x 4 outputs each
constexpr int kMicro = 4, kLanes = 16;

enum Pass : int { kDeconv = 0, kConv = 1, kWeight = 2 };

// float accumulation for float and 16-bit storage, double for double.
template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename T>
struct K4s2Args {
  const T* a;  // Deconv: small y-side input; Conv: large x; Weight: small dy
  const T* b;  // Deconv, Conv: w; Weight: large x
  T* out;      // Deconv: large; Conv: small; Weight: dw
  int64_t N, P, Q, K, C;
  int64_t rows, cols, red;  // the GEMM's extents
};

// Element (row, kk) of the GEMM's left operand, 0 outside it or in padding.
template <int kPass, typename T>
__device__ inline Acc<T> load_left(const K4s2Args<T>& g, int parity, int64_t row, int64_t kk) {
  using A = Acc<T>;
  if (row >= g.rows || kk >= g.red) return A(0);
  if (kPass == kWeight) return A(g.a[kk * g.K + row]);  // dy[m = kk, k = row]
  const int64_t n = row / (g.P * g.Q), pix = row % (g.P * g.Q), p = pix / g.Q, q = pix % g.Q;
  if (kPass == kDeconv) {
    const int64_t t = kk / g.K, k = kk % g.K;
    const int64_t iy = p + (parity >> 1) - (t >> 1), ix = q + (parity & 1) - (t & 1);
    if (iy < 0 || iy >= g.P || ix < 0 || ix >= g.Q) return A(0);
    return A(g.a[((n * g.P + iy) * g.Q + ix) * g.K + k]);
  }
  const int64_t rs = kk / g.C, c = kk % g.C;
  const int64_t h = 2 * p - 1 + rs / 4, w = 2 * q - 1 + rs % 4;
  if (h < 0 || h >= 2 * g.P || w < 0 || w >= 2 * g.Q) return A(0);
  return A(g.a[((n * 2 * g.P + h) * 2 * g.Q + w) * g.C + c]);
}

// Element (kk, col) of the GEMM's right operand.
template <int kPass, typename T>
__device__ inline Acc<T> load_right(const K4s2Args<T>& g, int parity, int64_t kk, int64_t col) {
  using A = Acc<T>;
  if (kk >= g.red || col >= g.cols) return A(0);
  if (kPass == kDeconv) {  // w[k, 1 - py + 2ty, 1 - px + 2tx, c = col]
    const int64_t t = kk / g.K, k = kk % g.K;
    const int64_t r = 1 - (parity >> 1) + 2 * (t >> 1), s = 1 - (parity & 1) + 2 * (t & 1);
    return A(g.b[((k * 4 + r) * 4 + s) * g.C + col]);
  }
  if (kPass == kConv) return A(g.b[col * 16 * g.C + kk]);  // w[k = col, (r, s, c) = kk]
  // Weight: large x at small pixel kk, tap (r, s), channel c of col = (r, s, c).
  const int64_t n = kk / (g.P * g.Q), pix = kk % (g.P * g.Q), p = pix / g.Q, q = pix % g.Q;
  const int64_t rs = col / g.C, c = col % g.C;
  const int64_t h = 2 * p - 1 + rs / 4, w = 2 * q - 1 + rs % 4;
  if (h < 0 || h >= 2 * g.P || w < 0 || w >= 2 * g.Q) return A(0);
  return A(g.b[((n * 2 * g.P + h) * 2 * g.Q + w) * g.C + c]);
}

// Where GEMM output (row, col) goes.
template <int kPass, typename T>
__device__ inline int64_t output_index(const K4s2Args<T>& g, int parity, int64_t row, int64_t col) {
  if (kPass != kDeconv) return row * g.cols + col;  // small y [N*P*Q, K] or dw [K, 16C]
  const int64_t n = row / (g.P * g.Q), pix = row % (g.P * g.Q), p = pix / g.Q, q = pix % g.Q;
  const int64_t h = 2 * p + (parity >> 1), w = 2 * q + (parity & 1);
  return ((n * 2 * g.P + h) * 2 * g.Q + w) * g.C + col;
}

// One reduction step of the micro-tile: the FMA loop a wmma/mma loop would replace.
template <typename A>
__device__ inline void multiply_tile(const A (&left)[kTileRed][kTileRows], const A (&right)[kTileRed][kTileCols],
                                     int lane_row, int lane_col, A (&acc)[kMicro][kMicro]) {
  for (int kk = 0; kk < kTileRed; ++kk) {
    A l[kMicro], r[kMicro];
    for (int i = 0; i < kMicro; ++i) l[i] = left[kk][lane_row + kLanes * i];
    for (int j = 0; j < kMicro; ++j) r[j] = right[kk][lane_col + kLanes * j];
    for (int i = 0; i < kMicro; ++i)
      for (int j = 0; j < kMicro; ++j) acc[i][j] += l[i] * r[j];
  }
}

// blockIdx.x: 64-row tile, blockIdx.y: 64-column tile, blockIdx.z: parity class (Deconv).
template <typename T, int kPass>
__global__ void __launch_bounds__(kBlockThreads) k4s2_gemm_kernel(K4s2Args<T> g) {
  using A = Acc<T>;
  __shared__ A left[kTileRed][kTileRows];
  __shared__ A right[kTileRed][kTileCols];
  const int tid = int(threadIdx.x);
  const int lane_row = tid / kLanes, lane_col = tid % kLanes;
  const int parity = int(blockIdx.z);
  const int64_t row0 = int64_t(blockIdx.x) * kTileRows, col0 = int64_t(blockIdx.y) * kTileCols;
  // Contiguous global reads: the left operand runs along the reduction
  // (channels) except in Weight, where it runs along rows (dy's channels);
  // the right operand along columns except in Conv (w's rows).
  constexpr bool left_rows_fastest = kPass == kWeight;
  constexpr bool right_red_fastest = kPass == kConv;

  A acc[kMicro][kMicro] = {};
  for (int64_t red0 = 0; red0 < g.red; red0 += kTileRed) {
    for (int e = tid; e < kTileRows * kTileRed; e += kBlockThreads) {
      const int r = left_rows_fastest ? e % kTileRows : e / kTileRed;
      const int kk = left_rows_fastest ? e / kTileRows : e % kTileRed;
      left[kk][r] = load_left<kPass>(g, parity, row0 + r, red0 + kk);
    }
    for (int e = tid; e < kTileCols * kTileRed; e += kBlockThreads) {
      const int c = right_red_fastest ? e / kTileRed : e % kTileCols;
      const int kk = right_red_fastest ? e % kTileRed : e / kTileCols;
      right[kk][c] = load_right<kPass>(g, parity, red0 + kk, col0 + c);
    }
    __syncthreads();
    multiply_tile(left, right, lane_row, lane_col, acc);
    __syncthreads();  // the next step overwrites the tiles
  }
  for (int i = 0; i < kMicro; ++i)
    for (int j = 0; j < kMicro; ++j) {
      const int64_t row = row0 + lane_row + kLanes * i, col = col0 + lane_col + kLanes * j;
      if (row < g.rows && col < g.cols) g.out[output_index<kPass>(g, parity, row, col)] = T(acc[i][j]);
    }
}

template <int kPass>
void launch(const Tensor& a, const Tensor& b, Tensor& out, const ConvGeometry& geometry, const char* op) {
  PN_CHECK(is_k4s2_deconv(geometry), op, ": the hand-written deconvolution takes only 4x4 stride-2 padding-1 "
           "geometries with an even output twice the input");
  const int64_t pixels = geometry.N * geometry.P * geometry.Q;
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    K4s2Args<T> g{static_cast<const T*>(a.raw_data()), static_cast<const T*>(b.raw_data()),
                  static_cast<T*>(out.raw_data()), geometry.N, geometry.P, geometry.Q, geometry.K, geometry.C,
                  0, 0, 0};
    unsigned classes = 1;
    if (kPass == kDeconv) g.rows = pixels, g.cols = geometry.C, g.red = 4 * geometry.K, classes = 4;
    if (kPass == kConv) g.rows = pixels, g.cols = geometry.K, g.red = 16 * geometry.C;
    if (kPass == kWeight) g.rows = geometry.K, g.cols = 16 * geometry.C, g.red = pixels;
    const int64_t row_tiles = (g.rows + kTileRows - 1) / kTileRows, col_tiles = (g.cols + kTileCols - 1) / kTileCols;
    PN_CHECK(row_tiles <= INT32_MAX && col_tiles <= 65535, op, ": problem too large for one launch (", g.rows,
             " x ", g.cols, ")");
    const dim3 grid(unsigned(row_tiles), unsigned(col_tiles), classes);
    k4s2_gemm_kernel<T, kPass><<<grid, kBlockThreads, 0, current_stream()>>>(g);
  });
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void k4s2_conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g) {
  launch<kDeconv>(dy, w, dx, g, "conv2d_backward_data (hand-written 4x4 s2 deconvolution)");
}

void k4s2_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g) {
  launch<kConv>(x, w, y, g, "conv2d_forward (hand-written 4x4 s2 deconvolution)");
}

void k4s2_conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g) {
  // The left operand is dy (small), the right x (large).
  launch<kWeight>(dy, x, dw, g, "conv2d_backward_weight (hand-written 4x4 s2 deconvolution)");
}

}  // namespace posenet::kernels::cuda
