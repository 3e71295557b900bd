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
// of the reduction (tap by tap, 16 channels a step; loaded in the order that
// makes global reads contiguous along NHWC's channel axis), each thread
// accumulating a 4 x 4 micro-tile in registers (float; double for float64
// storage). The shared tiles are laid out [reduction][row] and
// [reduction][column] so that a tensor-core inner loop (wmma/mma fragments
// loaded from the same tiles; the padding then rounded to wmma's
// leading-dimension rule) can replace the FMA loop in multiply_tile without
// changing the loads or the stores.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/deconv.h"

namespace posenet::kernels::cuda {

namespace {

constexpr int kTileRows = 64, kTileCols = 64, kTileRed = 16;
constexpr int kBlockThreads = 256;  // 16 x 16 threads, 4 x 4 outputs each
constexpr int kMicro = 4, kLanes = 16;
// Shared tiles are padded by one element per reduction step: the loads that
// run along the reduction then write 16 different banks instead of one.
constexpr int kRowStride = kTileRows + 1, kColStride = kTileCols + 1;

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

// One reduction step of the micro-tile: the FMA loop a wmma/mma loop would replace.
template <typename A>
__device__ inline void multiply_tile(const A (&left)[kTileRed][kRowStride], const A (&right)[kTileRed][kColStride],
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
// The reduction runs tap by tap (4 in Deconv, 16 in Conv), 16 channels a
// step, so that no index is divided inside the loads; Weight's reduction
// runs over the small pixels, 16 a step.
template <typename T, int kPass>
__global__ void __launch_bounds__(kBlockThreads) k4s2_gemm_kernel(K4s2Args<T> g) {
  using A = Acc<T>;
  __shared__ A left[kTileRed][kRowStride];
  __shared__ A right[kTileRed][kColStride];
  // Small-pixel coordinates (n < 0: past the end) of the tile's rows
  // (Deconv, Conv) or of the step's reduction pixels (Weight), and the tap
  // and channel of Weight's columns.
  __shared__ int64_t pix_n[kTileRows];
  __shared__ int pix_p[kTileRows], pix_q[kTileRows];
  __shared__ int col_r[kTileCols], col_s[kTileCols], col_c[kTileCols];

  const int tid = int(threadIdx.x);
  const int lane_row = tid / kLanes, lane_col = tid % kLanes;
  const int py = int(blockIdx.z) >> 1, px = int(blockIdx.z) & 1;
  const int64_t row0 = int64_t(blockIdx.x) * kTileRows, col0 = int64_t(blockIdx.y) * kTileCols;
  const int64_t P = g.P, Q = g.Q, H = 2 * g.P, W = 2 * g.Q, K = g.K, C = g.C;
  auto set_pixel = [&](int slot, int64_t m, int64_t end) {
    if (m >= end) {
      pix_n[slot] = -1;
      return;
    }
    pix_n[slot] = m / (P * Q);
    const int64_t pix = m % (P * Q);
    pix_p[slot] = int(pix / Q), pix_q[slot] = int(pix % Q);
  };
  if (kPass != kWeight && tid < kTileRows) set_pixel(tid, row0 + tid, g.rows);
  if (kPass == kWeight && tid < kTileCols) {
    const int64_t col = col0 + tid;
    col_c[tid] = col < g.cols ? int(col % C) : -1;
    col_r[tid] = int(col / C) / 4, col_s[tid] = int(col / C) % 4;
  }
  __syncthreads();

  // Contiguous global reads: the left operand runs along the reduction
  // (channels) except in Weight, where it runs along rows (dy's channels);
  // the right operand along columns except in Conv (w's innermost axis is
  // the reduction's channel).
  constexpr bool left_rows_fastest = kPass == kWeight;
  constexpr bool right_red_fastest = kPass == kConv;
  const int taps = kPass == kDeconv ? 4 : kPass == kConv ? 16 : 1;
  const int64_t per_tap = kPass == kDeconv ? K : kPass == kConv ? C : g.red;

  A acc[kMicro][kMicro] = {};
  for (int tap = 0; tap < taps; ++tap) {
    // Deconv: input offset (py - ty, px - tx) and kernel tap (1 - py + 2ty, 1 - px + 2tx);
    // Conv: kernel tap (r, s) at input offset (r - 1, s - 1) from (2p, 2q).
    const int ty = tap >> 1, tx = tap & 1;
    const int r = kPass == kDeconv ? 1 - py + 2 * ty : tap / 4, s = kPass == kDeconv ? 1 - px + 2 * tx : tap % 4;
    for (int64_t base = 0; base < per_tap; base += kTileRed) {
      if (kPass == kWeight) {
        if (tid < kTileRed) set_pixel(tid, base + tid, g.red);
        __syncthreads();
      }
      for (int e = tid; e < kTileRows * kTileRed; e += kBlockThreads) {
        const int i = left_rows_fastest ? e % kTileRows : e / kTileRed;
        const int kk = left_rows_fastest ? e / kTileRows : e % kTileRed;
        A v = A(0);
        if (kPass == kWeight) {
          const int64_t m = base + kk, k = row0 + i;
          if (m < g.red && k < g.rows) v = A(g.a[m * K + k]);
        } else if (pix_n[i] >= 0 && base + kk < per_tap) {
          const int64_t n = pix_n[i];
          if (kPass == kDeconv) {
            const int64_t iy = pix_p[i] + py - ty, ix = pix_q[i] + px - tx;
            if (iy >= 0 && iy < P && ix >= 0 && ix < Q) v = A(g.a[((n * P + iy) * Q + ix) * K + base + kk]);
          } else {
            const int64_t h = 2 * pix_p[i] - 1 + r, w = 2 * pix_q[i] - 1 + s;
            if (h >= 0 && h < H && w >= 0 && w < W) v = A(g.a[((n * H + h) * W + w) * C + base + kk]);
          }
        }
        left[kk][i] = v;
      }
      for (int e = tid; e < kTileCols * kTileRed; e += kBlockThreads) {
        const int j = right_red_fastest ? e / kTileRed : e % kTileCols;
        const int kk = right_red_fastest ? e % kTileRed : e / kTileCols;
        const int64_t col = col0 + j;
        A v = A(0);
        if (kPass == kWeight) {
          const int64_t n = pix_n[kk];
          if (n >= 0 && col_c[j] >= 0) {
            const int64_t h = 2 * pix_p[kk] - 1 + col_r[j], w = 2 * pix_q[kk] - 1 + col_s[j];
            if (h >= 0 && h < H && w >= 0 && w < W) v = A(g.b[((n * H + h) * W + w) * C + col_c[j]]);
          }
        } else if (base + kk < per_tap && col < g.cols) {
          // Deconv: w[k = base + kk, r, s, c = col]; Conv: w[k = col, r, s, c = base + kk].
          const int64_t k = kPass == kDeconv ? base + kk : col, c = kPass == kDeconv ? col : base + kk;
          v = A(g.b[((k * 4 + r) * 4 + s) * C + c]);
        }
        right[kk][j] = v;
      }
      __syncthreads();
      multiply_tile(left, right, lane_row, lane_col, acc);
      __syncthreads();  // the next step overwrites the tiles (and Weight's pixels)
    }
  }
  for (int i = 0; i < kMicro; ++i) {
    const int row_in_tile = lane_row + kLanes * i;
    const int64_t row = row0 + row_in_tile;
    if (row >= g.rows) continue;
    int64_t out_row = row * g.cols;  // small y [N*P*Q, K] or dw [K, 16C]
    if (kPass == kDeconv)
      out_row = ((pix_n[row_in_tile] * H + 2 * pix_p[row_in_tile] + py) * W + 2 * pix_q[row_in_tile] + px) * C;
    for (int j = 0; j < kMicro; ++j) {
      const int64_t col = col0 + lane_col + kLanes * j;
      if (col < g.cols) g.out[out_row + col] = T(acc[i][j]);
    }
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
