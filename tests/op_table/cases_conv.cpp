// Op table rows: convolutions (kernels/conv.h), conv2d and its transpose
// (the decoder's deconvolution), with and without bias. Inputs x, w, bias
// (undefined without); gradients to all three. The conv2d rows exercise the
// forward, backward-data and backward-weight kernels and the bias kernels;
// the transposed ones the same kernels the other way round.
#include "kernels/conv.h"
#include "op_case.h"
#ifdef POSENET_WITH_CUDA
#include "kernels/cuda/conv.h"
#endif

namespace posenet::optable {

namespace {

using ops::Conv2dParams;
using ops::ConvTranspose2dParams;

// Direct loops: y[n,p,q,k] = b[k] + sum_{r,s,c} x[n, p*sh-ph+r*dh, q*sw-pw+s*dw, c] * w[k,r,s,c].
std::vector<double> naive_conv2d(const Inputs& in, const Conv2dParams& p) {
  const Tensor &x = in[0], &w = in[1];
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3), K = w.dim(0), R = w.dim(1), S = w.dim(2);
  const int64_t P = ops::conv_output_size(H, R, p.stride_h, p.pad_h, p.dilation_h);
  const int64_t Q = ops::conv_output_size(W, S, p.stride_w, p.pad_w, p.dilation_w);
  const auto xv = x.to_vector(), wv = w.to_vector();
  const auto bv = in[2].defined() ? in[2].to_vector() : std::vector<double>(size_t(K), 0.0);
  std::vector<double> y(size_t(N * P * Q * K));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < P; ++oh)
      for (int64_t ow = 0; ow < Q; ++ow)
        for (int64_t k = 0; k < K; ++k) {
          double acc = bv[size_t(k)];
          for (int64_t r = 0; r < R; ++r)
            for (int64_t s = 0; s < S; ++s) {
              const int64_t h = oh * p.stride_h - p.pad_h + r * p.dilation_h;
              const int64_t ww = ow * p.stride_w - p.pad_w + s * p.dilation_w;
              if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
              for (int64_t c = 0; c < C; ++c)
                acc += xv[size_t(((n * H + h) * W + ww) * C + c)] * wv[size_t(((k * R + r) * S + s) * C + c)];
            }
          y[size_t(((n * P + oh) * Q + ow) * K + k)] = acc;
        }
  return y;
}

// Scatter form (PyTorch's ConvTranspose2d): each input pixel adds w-weighted copies of itself.
std::vector<double> naive_conv_transpose2d(const Inputs& in, const ConvTranspose2dParams& p) {
  const Tensor &x = in[0], &w = in[1];
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), Cin = x.dim(3), R = w.dim(1), S = w.dim(2), Cout = w.dim(3);
  const int64_t Ho = ops::conv_transpose_output_size(H, R, p.stride_h, p.pad_h, p.output_pad_h, p.dilation_h);
  const int64_t Wo = ops::conv_transpose_output_size(W, S, p.stride_w, p.pad_w, p.output_pad_w, p.dilation_w);
  const auto xv = x.to_vector(), wv = w.to_vector();
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
  if (in[2].defined()) {
    const auto bv = in[2].to_vector();
    for (size_t i = 0; i < y.size(); ++i) y[i] += bv[i % size_t(Cout)];
  }
  return y;
}

Inputs make_conv_inputs(DType dtype, Generator& gen, const Shape& x, const Shape& w, int64_t bias) {
  return {uniform(x, dtype, gen), uniform(w, dtype, gen), bias > 0 ? uniform({bias}, dtype, gen) : Tensor()};
}

OpCase conv_row(const std::string& label, const Shape& x, int64_t K, int64_t R, int64_t S, const Conv2dParams& p,
                bool bias, const Shape& perf_x = {}, int64_t perf_K = 0) {
  OpCase c;
  c.name = "conv2d " + label + " " + shape_name(x);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    const bool perf = size == CaseSize::Perf && !perf_x.empty();
    const Shape xs = perf ? perf_x : x;
    const int64_t k = perf ? perf_K : K;
    return make_conv_inputs(dtype, gen, xs, {k, R, S, xs[3]}, bias ? k : 0);
  };
  c.run = [p](const Inputs& in) { return Inputs{ops::conv2d(in[0], in[1], in[2], p)}; };
  c.reference = [p](const Inputs& in) { return HostValues{naive_conv2d(in, p)}; };
  c.grad_inputs = bias ? std::vector<size_t>{0, 1, 2} : std::vector<size_t>{0, 1};
  c.flops = [p](const Inputs& in) {
    const Tensor &x = in[0], &w = in[1];
    const int64_t P = ops::conv_output_size(x.dim(1), w.dim(1), p.stride_h, p.pad_h, p.dilation_h);
    const int64_t Q = ops::conv_output_size(x.dim(2), w.dim(2), p.stride_w, p.pad_w, p.dilation_w);
    return 2.0 * double(x.dim(0) * P * Q) * double(w.numel());
  };
  c.backends = {1e-4, 1e-4};  // cuDNN sums in another order; TF32 is off
  // cuDNN's bfloat16 algorithms may keep transformed operands (Winograd,
  // FFT) in bfloat16: a few ulps of the partial sums, not one of the result.
  c.backends_bf16 = {2e-2, 2e-2};
  // In bfloat16 the convolution's output is rounded, then the bias added
  // and rounded again: an ulp of the pre-bias sum (inputs in [-1, 1], so
  // about 2^-8 absolute), which can cancel to a much smaller result.
  c.bf16_reference = {1e-2, 1e-2};
  c.timed = !perf_x.empty();
  return c;
}

// 1x1 stride-1 convolutions run on CUDA through cuDNN or as cuBLAS GEMMs
// (kernels/cuda/pointwise_conv.h): pointwise rows are compared under both.
std::vector<BackendSetting> pointwise_settings() {
#ifdef POSENET_WITH_CUDA
  using kernels::cuda::Conv1x1Backend;
  auto through = [](Conv1x1Backend backend) {
    return [backend] {
      const Conv1x1Backend saved = kernels::cuda::conv1x1_backend();
      kernels::cuda::set_conv1x1_backend(backend);
      return std::function<void()>([saved] { kernels::cuda::set_conv1x1_backend(saved); });
    };
  };
  return {{"1x1 through cuDNN", through(Conv1x1Backend::CuDNN)}, {"1x1 through cuBLAS", through(Conv1x1Backend::CuBLAS)}};
#else
  return {};
#endif
}

}  // namespace

OpCase deconv_row(const std::string& label, const Shape& x, int64_t R, int64_t S, int64_t Cout,
                  const ConvTranspose2dParams& p, bool bias, const Shape& perf_x, int64_t perf_Cout) {
  OpCase c;
  c.name = "conv_transpose2d " + label + " " + shape_name(x);
  c.make_inputs = [=](DType dtype, CaseSize size, Generator& gen) {
    const bool perf = size == CaseSize::Perf && !perf_x.empty();
    const Shape xs = perf ? perf_x : x;
    const int64_t cout = perf ? perf_Cout : Cout;
    return make_conv_inputs(dtype, gen, xs, {xs[3], R, S, cout}, bias ? cout : 0);
  };
  c.run = [p](const Inputs& in) { return Inputs{ops::conv_transpose2d(in[0], in[1], in[2], p)}; };
  c.reference = [p](const Inputs& in) { return HostValues{naive_conv_transpose2d(in, p)}; };
  c.grad_inputs = bias ? std::vector<size_t>{0, 1, 2} : std::vector<size_t>{0, 1};
  c.flops = [](const Inputs& in) {
    return 2 * double(in[0].numel()) * double(in[1].dim(1) * in[1].dim(2) * in[1].dim(3));
  };
  c.backends = {1e-4, 1e-4};
  c.backends_bf16 = {2e-2, 2e-2}, c.bf16_reference = {1e-2, 1e-2};  // as conv_row
  c.timed = !perf_x.empty();
#ifndef POSENET_CUDA_EMU
  if (p.output_pad_h >= p.stride_h || p.output_pad_w >= p.stride_w)
    c.backends_skip = "output padding >= stride: the CUDA backend does not support it (kernels/cuda/register_kernels.cu)";
#endif
  return c;
}

std::vector<OpCase> conv_cases() {
  const Shape resnet_perf{32, 56, 56, 64};
  std::vector<OpCase> rows{
      conv_row("3x3 s1 p1", {2, 7, 5, 3}, 4, 3, 3, Conv2dParams::square(1, 1), true, resnet_perf, 64),
      conv_row("3x3 s2 p0", {1, 9, 11, 5}, 6, 3, 3, Conv2dParams::square(2, 0), false),
      conv_row("1x1 pointwise", {2, 6, 7, 8}, 5, 1, 1, Conv2dParams::square(1, 0), true, resnet_perf, 256),
      conv_row("1x1 s2", {2, 7, 7, 4}, 6, 1, 1, Conv2dParams::square(2, 0), false),
      conv_row("7x7 s2 p3 stem", {1, 19, 17, 3}, 8, 7, 7, Conv2dParams::square(2, 3), true, {32, 224, 224, 3}, 64),
      conv_row("3x3 dil2 p2", {2, 10, 9, 4}, 3, 3, 3, Conv2dParams::square(1, 2, 2), true),
      conv_row("3x5 nonsquare", {1, 8, 12, 3}, 5, 3, 5, Conv2dParams{2, 1, 1, 2, 1, 2}, true),
      conv_row("1x1 p1", {1, 4, 5, 3}, 2, 1, 1, Conv2dParams::square(1, 1), false),
      deconv_row("4x4 s2 p1 decoder", {2, 4, 3, 5}, 4, 4, 3, ConvTranspose2dParams::square(2, 1), true, {32, 8, 8, 2048}, 256),
      deconv_row("3x3 s2 p1 outpad1", {1, 5, 4, 3}, 3, 3, 4, ConvTranspose2dParams::square(2, 1, 1), true),
      deconv_row("3x3 s1 p0", {2, 3, 4, 2}, 3, 3, 3, ConvTranspose2dParams::square(1, 0), false),
      deconv_row("2x3 nonsquare dil2", {1, 4, 5, 3}, 2, 3, 2, ConvTranspose2dParams{2, 1, 0, 1, 1, 0, 2, 2}, true),
      deconv_row("1x1 s1", {2, 3, 3, 4}, 1, 1, 3, ConvTranspose2dParams::square(1, 0), true),
      deconv_row("3x3 s1 dil2 outpad1", {1, 3, 4, 2}, 3, 3, 2, ConvTranspose2dParams::square(1, 1, 1, 2), false),
  };
  // ResNet- and decoder-sized layers: cuDNN's tensor-core-shaped paths (no
  // finite differences at this size; the small rows cover the gradients).
  OpCase resnet = conv_row("3x3 s1 p1 resnet", {4, 14, 14, 64}, 64, 3, 3, Conv2dParams::square(1, 1), true);
  OpCase decoder = deconv_row("4x4 s2 p1 decoder", {2, 8, 8, 64}, 4, 4, 32, ConvTranspose2dParams::square(2, 1), true);
  for (OpCase* big : {&resnet, &decoder}) {
    big->finite_differences = false;
    big->f32 = {1e-4, 1e-4};
    rows.push_back(*big);
  }
  // Pointwise convolutions, each through both CUDA libraries: odd sizes,
  // ResNet-50's bottleneck widths, a strided 1x1 (cuDNN under either
  // setting) and a transposed 1x1.
  std::vector<OpCase> pointwise{
      conv_row("1x1 pointwise K4", {2, 7, 5, 3}, 4, 1, 1, Conv2dParams::square(1, 0), true),
      conv_row("1x1 pointwise K256", {4, 16, 16, 64}, 256, 1, 1, Conv2dParams::square(1, 0), true),
      conv_row("1x1 pointwise K64", {3, 9, 9, 256}, 64, 1, 1, Conv2dParams::square(1, 0), true),
      conv_row("1x1 s2 K16", {2, 8, 8, 32}, 16, 1, 1, Conv2dParams::square(2, 0), true),
      deconv_row("1x1 pointwise Cout40", {2, 6, 5, 24}, 1, 1, 40, ConvTranspose2dParams::square(1, 0), true),
  };
  for (OpCase& row : pointwise) {
    row.backend_settings = pointwise_settings();
    row.finite_differences = row.name.find("K4") != std::string::npos;  // the others are too large for it
    row.f32 = {1e-4, 1e-4};
    rows.push_back(row);
  }
  return rows;
}

}  // namespace posenet::optable
