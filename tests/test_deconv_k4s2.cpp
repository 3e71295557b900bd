// The hand-written 4x4 stride-2 deconvolution (kernels/cuda/deconv.h), called
// directly: its three passes against the CPU kernels (the op table compares
// the routed op under both settings), and the routing rule.
#include <gtest/gtest.h>

#include "kernels/conv_geometry.h"
#include "kernels/cpu/conv.h"
#include "kernels/elementwise.h"
#include "models/pose_model.h"
#include "models/spec.h"
#include "test_util.h"
#ifdef POSENET_WITH_CUDA
#include "kernels/cuda/conv.h"
#include "kernels/cuda/deconv.h"
#endif

namespace posenet {
namespace {

#ifdef POSENET_WITH_CUDA
namespace kc = kernels::cuda;

kernels::ConvGeometry k4s2(int64_t N, int64_t P, int64_t Q, int64_t K, int64_t C) {
  kernels::ConvGeometry g;
  g.N = N, g.P = P, g.Q = Q, g.K = K, g.C = C, g.H = 2 * P, g.W = 2 * Q, g.R = g.S = 4;
  g.stride_h = g.stride_w = 2, g.pad_h = g.pad_w = 1;
  return g;
}

Tensor random(const Shape& shape, DType dtype, uint64_t seed) {
  Generator gen(seed);
  std::vector<double> v(size_t(shape_numel(shape)));
  for (double& x : v) x = gen.uniform(-1, 1);
  return Tensor::from_data(shape, v, DType::F64).to(dtype);
}

void check_passes(const kernels::ConvGeometry& g, DType dtype, double tol) {
  SCOPED_TRACE(dtype_name(dtype));
  const Device gpu = Device::cuda(0);
  const Tensor small = random({g.N, g.P, g.Q, g.K}, dtype, 1), large = random({g.N, g.H, g.W, g.C}, dtype, 2);
  const Tensor w = random({g.K, 4, 4, g.C}, dtype, 3);
  // The deconvolution's forward: small -> large.
  Tensor want = Tensor::empty(large.shape(), dtype), got = Tensor::empty(large.shape(), dtype, gpu);
  kernels::cpu::conv2d_backward_data(small, w, want, g);
  kc::k4s2_conv2d_backward_data(small.to(gpu), w.to(gpu), got, g);
  EXPECT_TENSOR_NEAR(got.to(Device::cpu()), want, tol, tol);
  // Its backward-data: large -> small.
  want = Tensor::empty(small.shape(), dtype), got = Tensor::empty(small.shape(), dtype, gpu);
  kernels::cpu::conv2d_forward(large, w, want, g);
  kc::k4s2_conv2d_forward(large.to(gpu), w.to(gpu), got, g);
  EXPECT_TENSOR_NEAR(got.to(Device::cpu()), want, tol, tol);
  // Its backward-weight.
  want = Tensor::empty(w.shape(), dtype), got = Tensor::empty(w.shape(), dtype, gpu);
  kernels::cpu::conv2d_backward_weight(large, small, want, g);
  kc::k4s2_conv2d_backward_weight(large.to(gpu), small.to(gpu), got, g);
  EXPECT_TENSOR_NEAR(got.to(Device::cpu()), want, tol, tol);
}

TEST(DeconvK4s2, PassesMatchTheCpuKernels) {
  PN_REQUIRE_CUDA();
  // Several tiles in every GEMM dimension, none of them full.
  const kernels::ConvGeometry g = k4s2(2, 7, 5, 67, 19);
  check_passes(g, DType::F32, 1e-4);
  check_passes(g, DType::F64, 1e-11);
}

TEST(DeconvK4s2, RoutingTakesExactlyItsGeometry) {
  kernels::ConvGeometry g = k4s2(1, 3, 3, 4, 4);
  EXPECT_TRUE(kc::is_k4s2_deconv(g));
  const kc::DeconvBackend saved = kc::deconv_backend();
  kc::set_deconv_backend(kc::DeconvBackend::Hand);
  EXPECT_TRUE(kc::use_hand_deconv(g, DType::F32));
  EXPECT_TRUE(kc::use_hand_deconv(g, DType::F64));
  EXPECT_FALSE(kc::use_hand_deconv(g, DType::BF16));  // cuDNN until the kernels take 16-bit storage
  kernels::ConvGeometry other = g;
  other.H = 7;  // output padding 1
  EXPECT_FALSE(kc::use_hand_deconv(other, DType::F32));
  other = g, other.pad_w = 0;
  EXPECT_FALSE(kc::use_hand_deconv(other, DType::F32));
  other = g, other.R = 3;
  EXPECT_FALSE(kc::use_hand_deconv(other, DType::F32));
  kc::set_deconv_backend(kc::DeconvBackend::CuDNN);
  EXPECT_FALSE(kc::use_hand_deconv(g, DType::F32));
  kc::set_deconv_backend(saved);
}

TEST(DeconvK4s2, BackendNamesAreParsedAndBadOnesNamed) {
  EXPECT_EQ(kc::parse_deconv_backend("hand", "POSENET_DECONV"), kc::DeconvBackend::Hand);
  EXPECT_EQ(kc::parse_deconv_backend("cudnn", "POSENET_DECONV"), kc::DeconvBackend::CuDNN);
  try {
    kc::parse_deconv_backend("fast", "POSENET_DECONV");
    ADD_FAILURE() << "no error for an unknown backend";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("POSENET_DECONV: unknown deconvolution backend 'fast'"), std::string::npos)
        << e.what();
  }
}

// A Simple Baselines model (three 4x4 stride-2 deconvolutions, batch 2) on
// CUDA: forward and every parameter gradient agree between the two backends.
TEST(DeconvK4s2, ModelTrainsTheSameThroughEitherBackend) {
  PN_REQUIRE_CUDA();
  models::ModelOptions o;
  o.width = 0.125;
  o.input_h = o.input_w = 64;
  o.joints = 3;
  const models::ModelSpec spec = models::parse_model_spec("simplebaseline:r18", o);
  struct Run {
    Tensor heatmaps;
    std::vector<Tensor> grads;
  };
  auto run = [&](kc::DeconvBackend backend) {
    const kc::DeconvBackend saved = kc::deconv_backend();
    const bool tf32 = kc::allow_tf32();
    kc::set_deconv_backend(backend);
    kc::set_allow_tf32(false);  // float32 on both sides
    Generator gen(3);
    auto model = models::build_model(spec, gen);
    model->to(Device::cuda(0));
    const Tensor image = random({2, 64, 64, 3}, DType::F32, 4).to(Device::cuda(0));
    const Tensor out = model->forward(image);
    const Tensor weights = random(out.shape(), DType::F32, 5).to(Device::cuda(0));
    ops::sum(ops::mul(out, weights)).backward();
    Run r{out.to(Device::cpu()), {}};
    for (const Tensor& p : model->parameters()) r.grads.push_back(p.grad().to(Device::cpu()));
    kc::set_deconv_backend(saved);
    kc::set_allow_tf32(tf32);
    return r;
  };
  const Run library = run(kc::DeconvBackend::CuDNN), hand = run(kc::DeconvBackend::Hand);
  EXPECT_TENSOR_NEAR(hand.heatmaps, library.heatmaps, 1e-7, 1e-4);
  ASSERT_EQ(hand.grads.size(), library.grads.size());
  for (size_t i = 0; i < hand.grads.size(); ++i) EXPECT_TENSOR_NEAR(hand.grads[i], library.grads[i], 1e-4, 1e-3);
}

TEST(DeconvK4s2, RefusesOtherGeometries) {
  PN_REQUIRE_CUDA();
  kernels::ConvGeometry g = k4s2(1, 2, 2, 3, 3);
  g.pad_h = 0;
  Tensor x = Tensor::zeros({1, 4, 4, 3}, DType::F32, Device::cuda(0));
  Tensor w = Tensor::zeros({3, 4, 4, 3}, DType::F32, Device::cuda(0));
  Tensor y = Tensor::zeros({1, 2, 2, 3}, DType::F32, Device::cuda(0));
  EXPECT_THROW(kc::k4s2_conv2d_forward(x, w, y, g), Error);
}
#endif

}  // namespace
}  // namespace posenet
