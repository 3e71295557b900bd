// Convolutions beyond the op table's rows (tests/op_table/cases_conv.cpp):
// seeded random shapes against naive forward and gradient loops, chunked
// columns, the adjoint identity, what autograd keeps, error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv.h"
#include "test_util.h"

namespace posenet {
namespace {

using ops::Conv2dParams;
using ops::ConvTranspose2dParams;
using testing::random_tensor;

// Direct 7-loop conv2d in double: y[n,p,q,k] = sum_{r,s,c} x[n, p*sh-ph+r*dh, q*sw-pw+s*dw, c] * w[k,r,s,c] + b[k].
Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const int64_t K = w.dim(0), R = w.dim(1), S = w.dim(2);
  const int64_t P = (H + 2 * p.pad_h - p.dilation_h * (R - 1) - 1) / p.stride_h + 1;
  const int64_t Q = (W + 2 * p.pad_w - p.dilation_w * (S - 1) - 1) / p.stride_w + 1;
  auto xv = x.to_vector(), wv = w.to_vector();
  std::vector<double> bv = bias.defined() ? bias.to_vector() : std::vector<double>(size_t(K), 0.0);
  std::vector<double> y(size_t(N * P * Q * K));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < P; ++oh)
      for (int64_t ow = 0; ow < Q; ++ow)
        for (int64_t k = 0; k < K; ++k) {
          double acc = bv[size_t(k)];
          for (int64_t r = 0; r < R; ++r)
            for (int64_t s = 0; s < S; ++s)
              for (int64_t c = 0; c < C; ++c) {
                const int64_t h = oh * p.stride_h - p.pad_h + r * p.dilation_h;
                const int64_t ww = ow * p.stride_w - p.pad_w + s * p.dilation_w;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                acc += xv[size_t(((n * H + h) * W + ww) * C + c)] * wv[size_t(((k * R + r) * S + s) * C + c)];
              }
          y[size_t(((n * P + oh) * Q + ow) * K + k)] = acc;
        }
  return Tensor::from_data({N, P, Q, K}, y);
}

// Transposed convolution as a scatter: every input pixel adds w-weighted
// copies of itself onto the output (PyTorch's ConvTranspose2d definition).
Tensor naive_conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvTranspose2dParams& p) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), Cin = x.dim(3);
  const int64_t R = w.dim(1), S = w.dim(2), Cout = w.dim(3);
  const int64_t Ho = (H - 1) * p.stride_h - 2 * p.pad_h + p.dilation_h * (R - 1) + p.output_pad_h + 1;
  const int64_t Wo = (W - 1) * p.stride_w - 2 * p.pad_w + p.dilation_w * (S - 1) + p.output_pad_w + 1;
  auto xv = x.to_vector(), wv = w.to_vector();
  std::vector<double> y(size_t(N * Ho * Wo * Cout), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t ww = 0; ww < W; ++ww)
        for (int64_t ci = 0; ci < Cin; ++ci)
          for (int64_t r = 0; r < R; ++r)
            for (int64_t s = 0; s < S; ++s) {
              const int64_t oh = h * p.stride_h - p.pad_h + r * p.dilation_h;
              const int64_t ow = ww * p.stride_w - p.pad_w + s * p.dilation_w;
              if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
              for (int64_t co = 0; co < Cout; ++co)
                y[size_t(((n * Ho + oh) * Wo + ow) * Cout + co)] +=
                    xv[size_t(((n * H + h) * W + ww) * Cin + ci)] * wv[size_t(((ci * R + r) * S + s) * Cout + co)];
            }
  if (bias.defined()) {
    auto bv = bias.to_vector();
    for (size_t i = 0; i < y.size(); ++i) y[i] += bv[i % size_t(Cout)];
  }
  return Tensor::from_data({N, Ho, Wo, Cout}, y);
}

TEST(Conv2d, OnlyInputsThatRequireGradGetOne) {
  Generator gen(4);
  Tensor x = random_tensor({1, 5, 5, 2}, gen);
  Tensor w = random_tensor({3, 3, 3, 2}, gen).set_requires_grad(true);
  Tensor b = random_tensor({3}, gen);
  ops::sum(ops::conv2d(x, w, b, Conv2dParams::square(1, 1))).backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  // Bias gradient of sum(y) is the number of output pixels per channel.
  Tensor b2 = random_tensor({3}, gen).set_requires_grad(true);
  ops::sum(ops::conv2d(x, w.detach(), b2, Conv2dParams::square(2, 0))).backward();
  for (double v : b2.grad().to_vector()) EXPECT_DOUBLE_EQ(v, 4.0);  // 2x2 output
}

// The node keeps x only while its backward still needs it.
TEST(Conv2d, SavedInputIsReleasedAfterBackward) {
  Generator gen(8);
  Tensor x = random_tensor({1, 5, 5, 2}, gen);
  Tensor w = random_tensor({3, 3, 3, 2}, gen).set_requires_grad(true);
  const long alone = x.impl()->storage.use_count();
  Tensor y = ops::conv2d(x, w, Tensor(), Conv2dParams::square(1, 1));
  EXPECT_EQ(x.impl()->storage.use_count(), alone + 1);  // saved for w's gradient
  ops::sum(y).backward();
  EXPECT_EQ(x.impl()->storage.use_count(), alone);
  EXPECT_THROW(ops::sum(y).backward(), Error);  // the graph's saved tensors are gone
}

TEST(Conv2d, NoGraphUnderNoGrad) {
  Generator gen(5);
  Tensor x = random_tensor({1, 4, 4, 2}, gen).set_requires_grad(true);
  Tensor w = random_tensor({2, 3, 3, 2}, gen).set_requires_grad(true);
  NoGradGuard no_grad;
  Tensor y = ops::conv2d(x, w, Tensor(), Conv2dParams::square(1, 1));
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

// Chunking the batch (the bounded im2col buffer) must not change any result.
TEST(Conv2d, ChunkedColumnsGiveTheSameResults) {
  Generator gen(6);
  const Conv2dParams p = Conv2dParams::square(2, 1);
  Tensor x = random_tensor({3, 9, 8, 4}, gen);
  Tensor w = random_tensor({5, 3, 3, 4}, gen);
  auto run = [&](std::vector<Tensor>* grads) {
    Tensor xr = x.clone().set_requires_grad(true), wr = w.clone().set_requires_grad(true);
    Tensor y = ops::conv2d(xr, wr, Tensor(), p);
    Generator g2(7);
    ops::sum(ops::mul(y, random_tensor(y.shape(), g2))).backward();
    *grads = {xr.grad(), wr.grad()};
    return y;
  };
  std::vector<Tensor> g_whole, g_chunked;
  Tensor y_whole = run(&g_whole);
  const size_t saved = kernels::cpu::column_buffer_bytes();
  kernels::cpu::set_column_buffer_bytes(7 * 36 * sizeof(double));  // 7 output pixels per chunk: ragged last chunk
  Tensor y_chunked = run(&g_chunked);
  kernels::cpu::set_column_buffer_bytes(saved);
  EXPECT_TENSOR_NEAR(y_chunked, y_whole, 1e-13, 1e-12);
  EXPECT_TENSOR_NEAR(g_chunked[0], g_whole[0], 1e-13, 1e-12);
  EXPECT_TENSOR_NEAR(g_chunked[1], g_whole[1], 1e-13, 1e-12);
  EXPECT_TENSOR_NEAR(y_whole, naive_conv2d(x, w, Tensor(), p), 1e-12, 1e-12);
}

TEST(ConvTranspose2d, DecoderDeconvDoublesTheResolution) {
  Generator gen(11);
  Tensor x = random_tensor({2, 8, 8, 6}, gen);
  Tensor w = random_tensor({6, 4, 4, 5}, gen);
  Tensor y = ops::conv_transpose2d(x, w, Tensor(), ConvTranspose2dParams::square(2, 1));
  EXPECT_EQ(y.shape(), (Shape{2, 16, 16, 5}));
  EXPECT_TENSOR_NEAR(y, naive_conv_transpose2d(x, w, Tensor(), ConvTranspose2dParams::square(2, 1)), 1e-12, 1e-12);
}

// <conv2d(x, w), u> == <x, conv_transpose2d(u, w)>: the two ops are adjoint.
TEST(ConvTranspose2d, IsTheAdjointOfConv2d) {
  Generator gen(12);
  Tensor x = random_tensor({2, 9, 7, 3}, gen);
  Tensor w = random_tensor({4, 3, 3, 3}, gen);  // conv2d: K=4, C=3; transposed: Cin=4, Cout=3
  Tensor y = ops::conv2d(x, w, Tensor(), Conv2dParams::square(2, 1));
  Tensor u = random_tensor(y.shape(), gen);
  Tensor xt = ops::conv_transpose2d(u, w, Tensor(), ConvTranspose2dParams::square(2, 1));
  ASSERT_EQ(xt.shape(), x.shape());
  const double lhs = ops::sum(ops::mul(y, u)).item();
  const double rhs = ops::sum(ops::mul(x, xt)).item();
  EXPECT_NEAR(lhs, rhs, 1e-10 * std::max(1.0, std::abs(lhs)));
}

// ------------------------------------------------------- seeded random shapes
//
// Beyond the hand-picked cases: kernels 1..5, strides 1..3, paddings 0..2,
// dilations 1..2 (and output padding below max(stride, dilation) for the
// transposed op), per axis; odd and even extents down to the smallest valid
// one; batch 1..3; channels 1..7; bias or not. Each case checks
//   - forward (float64) against the naive loops,
//   - all gradients of L = sum(y * U) (float64 autograd) against naive
//     gradient loops, written independently of the kernels,
//   - float32 forward and gradients against float64.
// float32 tolerance: every output and gradient element here is a sum of at
// most ~2,000 products of numbers in [-1, 1]; float32 rounding (2^-24 per
// operation) keeps the error far below atol 1e-4 + rtol 1e-4 (measured: at
// most 1% of that bound), while a wrong index or a dropped term shows at
// 1e-2 or more.

// Gradients of L = sum(y * u) for y = conv2d(x, w, b): dx, dw, db.
std::vector<Tensor> naive_conv2d_grads(const Tensor& x, const Tensor& w, const Tensor& u, const Conv2dParams& p) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const int64_t K = w.dim(0), R = w.dim(1), S = w.dim(2), P = u.dim(1), Q = u.dim(2);
  auto xv = x.to_vector(), wv = w.to_vector(), uv = u.to_vector();
  std::vector<double> dx(xv.size(), 0.0), dw(wv.size(), 0.0), db(size_t(K), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < P; ++oh)
      for (int64_t ow = 0; ow < Q; ++ow)
        for (int64_t k = 0; k < K; ++k) {
          const double g = uv[size_t(((n * P + oh) * Q + ow) * K + k)];
          db[size_t(k)] += g;
          for (int64_t r = 0; r < R; ++r)
            for (int64_t s = 0; s < S; ++s) {
              const int64_t h = oh * p.stride_h - p.pad_h + r * p.dilation_h;
              const int64_t ww = ow * p.stride_w - p.pad_w + s * p.dilation_w;
              if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
              for (int64_t c = 0; c < C; ++c) {
                const size_t xi = size_t(((n * H + h) * W + ww) * C + c), wi = size_t(((k * R + r) * S + s) * C + c);
                dx[xi] += g * wv[wi];
                dw[wi] += g * xv[xi];
              }
            }
        }
  return {Tensor::from_data(x.shape(), dx), Tensor::from_data(w.shape(), dw), Tensor::from_data({K}, db)};
}

// Gradients of L = sum(y * u) for y = conv_transpose2d(x, w, b) (scatter).
std::vector<Tensor> naive_conv_transpose2d_grads(const Tensor& x, const Tensor& w, const Tensor& u,
                                                 const ConvTranspose2dParams& p) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), Cin = x.dim(3);
  const int64_t R = w.dim(1), S = w.dim(2), Cout = w.dim(3), Ho = u.dim(1), Wo = u.dim(2);
  auto xv = x.to_vector(), wv = w.to_vector(), uv = u.to_vector();
  std::vector<double> dx(xv.size(), 0.0), dw(wv.size(), 0.0), db(size_t(Cout), 0.0);
  for (size_t i = 0; i < uv.size(); ++i) db[i % size_t(Cout)] += uv[i];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t ww = 0; ww < W; ++ww)
        for (int64_t ci = 0; ci < Cin; ++ci)
          for (int64_t r = 0; r < R; ++r)
            for (int64_t s = 0; s < S; ++s) {
              const int64_t oh = h * p.stride_h - p.pad_h + r * p.dilation_h;
              const int64_t ow = ww * p.stride_w - p.pad_w + s * p.dilation_w;
              if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
              for (int64_t co = 0; co < Cout; ++co) {
                const size_t xi = size_t(((n * H + h) * W + ww) * Cin + ci);
                const size_t wi = size_t(((ci * R + r) * S + s) * Cout + co);
                const double g = uv[size_t(((n * Ho + oh) * Wo + ow) * Cout + co)];
                dx[xi] += g * wv[wi];
                dw[wi] += g * xv[xi];
              }
            }
  return {Tensor::from_data(x.shape(), dx), Tensor::from_data(w.shape(), dw), Tensor::from_data({Cout}, db)};
}

int pick(Generator& gen, int lo, int hi) { return int(gen.randint(lo, hi + 1)); }  // [lo, hi]

// Runs op on float64 or float32 copies of (x, w, b) with requires_grad,
// backpropagates sum(y * u) and returns {y, dx, dw, db} in float64.
using OpFn = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>;
std::vector<Tensor> forward_backward(const OpFn& op, const Tensor& x, const Tensor& w, const Tensor& b,
                                     const Tensor& u, DType dtype) {
  Tensor xd = x.to(dtype).set_requires_grad(true), wd = w.to(dtype).set_requires_grad(true);
  Tensor bd = b.defined() ? b.to(dtype).set_requires_grad(true) : Tensor();
  Tensor y = op(xd, wd, bd);
  ops::sum(ops::mul(y, u.to(dtype))).backward();
  std::vector<Tensor> out = {y.detach().to(DType::F64), xd.grad().to(DType::F64), wd.grad().to(DType::F64)};
  if (b.defined()) out.push_back(bd.grad().to(DType::F64));
  return out;
}

// float64 forward and gradients against the naive ones; float32 against
// float64. Raises *worst to the worst float32 scaled error (<= 1 passes).
void check_against_naive(const OpFn& op, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& u,
                         const Tensor& ref_y, std::vector<Tensor> ref_grads, double* worst) {
  if (!b.defined()) ref_grads.pop_back();
  const std::vector<Tensor> got64 = forward_backward(op, x, w, b, u, DType::F64);
  const std::vector<Tensor> got32 = forward_backward(op, x, w, b, u, DType::F32);
  EXPECT_EQ(got64.size(), 1 + ref_grads.size());
  EXPECT_TENSOR_NEAR(got64[0], ref_y, 1e-12, 1e-12);
  static const char* const names[] = {"y", "dx", "dw", "db"};
  for (size_t g = 0; g < ref_grads.size(); ++g) {
    SCOPED_TRACE(names[g + 1]);
    EXPECT_TENSOR_NEAR(got64[g + 1], ref_grads[g], 1e-12, 1e-12);
  }
  for (size_t g = 0; g < got64.size(); ++g) {
    SCOPED_TRACE(std::string("float32 ") + names[g]);
    EXPECT_TENSOR_NEAR(got32[g], got64[g], 1e-4, 1e-4);
    *worst = std::max(*worst, testing::max_scaled_error(got32[g], got64[g], 1e-4, 1e-4));
  }
}

TEST(Conv2d, RandomShapesMatchNaiveLoopsForwardAndBackward) {
  Generator gen(50);
  double worst32 = 0;
  for (int i = 0; i < 60; ++i) {
    const int R = pick(gen, 1, 5), S = pick(gen, 1, 5);
    Conv2dParams p{pick(gen, 1, 3), pick(gen, 1, 3), pick(gen, 0, 2), pick(gen, 0, 2), pick(gen, 1, 2), pick(gen, 1, 2)};
    const int64_t ext_h = int64_t(p.dilation_h) * (R - 1) + 1, ext_w = int64_t(p.dilation_w) * (S - 1) + 1;
    const int64_t H = std::max<int64_t>(1, ext_h - 2 * p.pad_h) + pick(gen, 0, 6);
    const int64_t W = std::max<int64_t>(1, ext_w - 2 * p.pad_w) + pick(gen, 0, 6);
    const int64_t N = pick(gen, 1, 3), C = pick(gen, 1, 7), K = pick(gen, 1, 7);
    const bool bias = gen.bernoulli(0.5);
    std::ostringstream name;
    name << "case " << i << ": x [" << N << ", " << H << ", " << W << ", " << C << "] w [" << K << ", " << R << ", "
         << S << ", " << C << "] stride " << p.stride_h << "x" << p.stride_w << " pad " << p.pad_h << "x" << p.pad_w
         << " dilation " << p.dilation_h << "x" << p.dilation_w << (bias ? " bias" : "");
    SCOPED_TRACE(name.str());
    Tensor x = random_tensor({N, H, W, C}, gen), w = random_tensor({K, R, S, C}, gen);
    Tensor b = bias ? random_tensor({K}, gen) : Tensor();
    const Tensor ref = naive_conv2d(x, w, b, p);
    const Tensor u = random_tensor(ref.shape(), gen);
    const OpFn op = [p](const Tensor& a, const Tensor& k, const Tensor& c) { return ops::conv2d(a, k, c, p); };
    check_against_naive(op, x, w, b, u, ref, naive_conv2d_grads(x, w, u, p), &worst32);
  }
  RecordProperty("worst_float32_scaled_error", std::to_string(worst32));
}

TEST(ConvTranspose2d, RandomShapesMatchNaiveScatterForwardAndBackward) {
  Generator gen(51);
  double worst32 = 0;
  int checked = 0;
  for (int i = 0; checked < 60; ++i) {
    const int R = pick(gen, 1, 5), S = pick(gen, 1, 5);
    ConvTranspose2dParams p;
    p.stride_h = pick(gen, 1, 3);
    p.stride_w = pick(gen, 1, 3);
    p.pad_h = pick(gen, 0, 2);
    p.pad_w = pick(gen, 0, 2);
    p.dilation_h = pick(gen, 1, 2);
    p.dilation_w = pick(gen, 1, 2);
    p.output_pad_h = pick(gen, 0, std::max(p.stride_h, p.dilation_h) - 1);
    p.output_pad_w = pick(gen, 0, std::max(p.stride_w, p.dilation_w) - 1);
    const int64_t H = pick(gen, 1, 7), W = pick(gen, 1, 7);
    const int64_t Ho = (H - 1) * p.stride_h - 2 * p.pad_h + p.dilation_h * (R - 1) + p.output_pad_h + 1;
    const int64_t Wo = (W - 1) * p.stride_w - 2 * p.pad_w + p.dilation_w * (S - 1) + p.output_pad_w + 1;
    if (Ho < 1 || Wo < 1) continue;  // no output: rejected by the op (ConvErrors)
    ++checked;
    const int64_t N = pick(gen, 1, 3), Cin = pick(gen, 1, 7), Cout = pick(gen, 1, 7);
    const bool bias = gen.bernoulli(0.5);
    std::ostringstream name;
    name << "case " << i << ": x [" << N << ", " << H << ", " << W << ", " << Cin << "] w [" << Cin << ", " << R
         << ", " << S << ", " << Cout << "] stride " << p.stride_h << "x" << p.stride_w << " pad " << p.pad_h << "x"
         << p.pad_w << " output pad " << p.output_pad_h << "x" << p.output_pad_w << " dilation " << p.dilation_h
         << "x" << p.dilation_w << (bias ? " bias" : "");
    SCOPED_TRACE(name.str());
    Tensor x = random_tensor({N, H, W, Cin}, gen), w = random_tensor({Cin, R, S, Cout}, gen);
    Tensor b = bias ? random_tensor({Cout}, gen) : Tensor();
    const Tensor ref = naive_conv_transpose2d(x, w, b, p);
    ASSERT_EQ(ref.shape(), (Shape{N, Ho, Wo, Cout}));
    const Tensor u = random_tensor(ref.shape(), gen);
    const OpFn op = [p](const Tensor& a, const Tensor& k, const Tensor& c) { return ops::conv_transpose2d(a, k, c, p); };
    check_against_naive(op, x, w, b, u, ref, naive_conv_transpose2d_grads(x, w, u, p), &worst32);
  }
  RecordProperty("worst_float32_scaled_error", std::to_string(worst32));
}

// Runs f and returns the message of the posenet::Error it throws ("" if none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConvErrors, MessagesNameTheProblem) {
  Generator gen(20);
  Tensor x = random_tensor({1, 6, 6, 3}, gen);
  const auto p = Conv2dParams::square(1, 1);
  EXPECT_EQ(error_of([&] { ops::conv2d(x, random_tensor({2, 3, 3, 4}, gen), Tensor(), p); }),
            "conv2d: input has 3 channels but weight expects 4 (input [1, 6, 6, 3], weight KRSC [K, R, S, C] [2, 3, 3, 4])");
  EXPECT_NE(error_of([&] { ops::conv2d(random_tensor({6, 6, 3}, gen), random_tensor({2, 3, 3, 3}, gen), Tensor(), p); })
                .find("input must be 4-D NHWC"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::conv2d(x, random_tensor({2, 3, 3}, gen), Tensor(), p); }).find("weight must be 4-D"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::conv2d(x, random_tensor({2, 3, 3, 3}, gen), random_tensor({3}, gen), p); })
                .find("bias must have shape [2]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::conv2d(x, random_tensor({2, 3, 3, 3}, gen, DType::F32), Tensor(), p); })
                .find("input is float64 but weight is float32"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::conv2d(x, random_tensor({2, 9, 9, 3}, gen), Tensor(), Conv2dParams::square(1, 1)); })
                .find("smaller than the kernel's extent 9"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::conv2d(x, random_tensor({2, 3, 3, 3}, gen), Tensor(), Conv2dParams::square(0, 1)); })
                .find("stride must be at least 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              ops::conv_transpose2d(x, random_tensor({4, 4, 4, 2}, gen), Tensor(), ConvTranspose2dParams::square(2, 1));
            }).find("conv_transpose2d: input has 3 channels but weight expects 4"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              ops::conv_transpose2d(x, random_tensor({3, 4, 4, 2}, gen), Tensor(),
                                    ConvTranspose2dParams::square(2, 1, 2));
            }).find("output padding 2 must be non-negative and smaller than the stride"),
            std::string::npos);
}

TEST(ConvErrors, OutputSizes) {
  EXPECT_EQ(ops::conv_output_size(224, 7, 2, 3, 1), 112);
  EXPECT_EQ(ops::conv_output_size(56, 3, 1, 1, 1), 56);
  EXPECT_EQ(ops::conv_output_size(10, 3, 1, 2, 2), 10);
  EXPECT_EQ(ops::conv_transpose_output_size(8, 4, 2, 1, 0, 1), 16);
  EXPECT_EQ(ops::conv_transpose_output_size(5, 3, 2, 1, 1, 1), 10);
  EXPECT_THROW(ops::conv_output_size(2, 5, 1, 0, 1), Error);
  EXPECT_THROW(ops::conv_output_size(5, 3, 1, -1, 1), Error);
  EXPECT_THROW(ops::conv_transpose_output_size(1, 1, 1, 1, 0, 1), Error);  // output extent -1
}


}  // namespace
}  // namespace posenet
