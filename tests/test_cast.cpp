// ops::cast (kernels/cast.h): the rounding into bfloat16, the identity
// for a cast to the same dtype, and the gradient a float32 master weight
// receives through its bfloat16 copy.
#include <cmath>

#include "kernels/cast.h"
#include "kernels/elementwise.h"
#include "test_util.h"

namespace posenet {
namespace {

TEST(Cast, RoundsToNearestEvenIntoBf16) {
  // 1 + 2^-8 lies halfway between 1 and the next bfloat16 (1 + 2^-7): ties go to even (1);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: to even (1 + 2^-6).
  const std::vector<double> in{1.0 + std::ldexp(1.0, -8), 1.0 + 3 * std::ldexp(1.0, -8), -2.5, 0.0};
  Tensor x = Tensor::from_data({4}, in, DType::F64).to(DType::F32);
  const std::vector<double> got = ops::cast(x, DType::BF16).to_vector();
  EXPECT_EQ(got, (std::vector<double>{1.0, 1.0 + std::ldexp(1.0, -6), -2.5, 0.0}));
}

TEST(Cast, SameDtypeIsTheTensorItself) {
  Tensor x = Tensor::full({3}, 1.5).set_requires_grad(true);
  EXPECT_TRUE(ops::cast(x, DType::F32).same(x));
}

TEST(Cast, GradientReachesTheFloat32MasterAsFloat32) {
  Tensor w = Tensor::from_data({3}, std::vector<float>{0.5f, -1.25f, 2.0f}).set_requires_grad(true);
  Tensor r = Tensor::from_data({3}, std::vector<float>{1.0f, 3.0f, -0.5f}, DType::BF16);
  // L = sum(bf16(w) * r): dL/dw = r, cast back to float32.
  Tensor loss = ops::sum(ops::mul(ops::cast(w, DType::BF16), r));
  EXPECT_EQ(loss.dtype(), DType::BF16);
  loss.backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().dtype(), DType::F32);
  EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{1.0, 3.0, -0.5}));
  // A second pass accumulates into the same float32 gradient.
  ops::sum(ops::mul(ops::cast(w, DType::BF16), r)).backward();
  EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{2.0, 6.0, -1.0}));
}

TEST(Cast, RefusesOtherDtypes) {
  Tensor x = Tensor::full({2}, 1.0);
  EXPECT_THROW(ops::cast(x, DType::F16), Error);
}

}  // namespace
}  // namespace posenet
