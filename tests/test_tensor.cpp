#include "test_util.h"

namespace posenet {
namespace {

TEST(Tensor, FactoriesShapesAndCopies) {
  Tensor t = Tensor::full({2, 3, 4}, 1.5);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dim(-1), 4);
  EXPECT_EQ(t.nbytes(), 24u * 4);
  EXPECT_EQ(t.str(), "float32[2, 3, 4]@cpu");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << "CPU storage is 64-byte aligned";
  Tensor c = t.clone();
  c.fill_(2.0);
  EXPECT_EQ(t.to_vector()[5], 1.5) << "clone does not alias";
  Tensor v = t.view({6, 4});
  v.data<float>()[0] = 7.0f;
  EXPECT_EQ(t.data<float>()[0], 7.0f) << "view aliases";
  EXPECT_THROW(t.view({5, 5}), Error);
  EXPECT_THROW(t.dim(3), Error);
  EXPECT_THROW(t.data<double>(), Error);
}

TEST(Tensor, DtypeConversionsRoundTrip) {
  Tensor f = Tensor::from_data({5}, std::vector<float>{1.0f, -2.5f, 3.140625f, 65504.0f, 1e-8f});
  Tensor d = f.to(DType::F64);
  EXPECT_EQ(d.to_vector()[2], 3.140625);
  Tensor h = f.to(DType::F16);
  auto hv = h.to_vector();
  EXPECT_EQ(hv[0], 1.0);
  EXPECT_EQ(hv[1], -2.5);
  EXPECT_EQ(hv[2], 3.140625);
  EXPECT_EQ(hv[3], 65504.0);
  EXPECT_NEAR(hv[4], 1e-8, 6e-8) << "half subnormal";
  Tensor b = f.to(DType::BF16);
  auto bv = b.to_vector();
  EXPECT_EQ(bv[0], 1.0);
  EXPECT_EQ(bv[1], -2.5);
  EXPECT_NEAR(bv[2], 3.140625, 0.02);
}

TEST(Tensor, HalfConversionIsExactOnEveryHalfValue) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    float f = f16_to_float(uint16_t(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_f16(f), uint16_t(h)) << "half bits " << h;
  }
  for (uint32_t h = 0; h < 0x10000u; h += 7) {
    float f = bf16_to_float(uint16_t(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_bf16(f), uint16_t(h));
  }
}

TEST(Tensor, DeviceParsing) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_EQ(parse_device("cuda:1").index, 1);
  EXPECT_THROW(parse_device("tpu"), Error);
  EXPECT_THROW(parse_device("cuda:x"), Error);
  if (!cuda_available()) {
    EXPECT_THROW(Tensor::zeros({2}, DType::F32, Device::cuda(0)), Error);
  }
}

TEST(Tensor, CudaRoundTrip) {
  PN_REQUIRE_CUDA();
  Tensor t = Tensor::from_data({3, 2}, std::vector<float>{1, 2, 3, 4, 5, 6});
  Tensor g = t.to(Device::cuda(0));
  g.add_(g.clone());
  EXPECT_EQ(g.to(Device::cpu()).to_vector(), (std::vector<double>{2, 4, 6, 8, 10, 12}));
  EXPECT_EQ(g.to(DType::BF16).to(Device::cpu()).to_vector()[5], 12.0);
}

}  // namespace
}  // namespace posenet
