#include "test_util.h"

namespace posenet {
namespace {

using testing::gradcheck;
using testing::random_tensor;

TEST(Autograd, ChainAndAccumulation) {
  Tensor x = Tensor::from_data({3}, std::vector<double>{1.0, -2.0, 3.0}).set_requires_grad(true);
  // y = sum(relu(x) * x + x): dy/dx = 2x (x>0), 1 (x<0) ... plus 1.
  Tensor y = ops::sum(ops::add(ops::mul(ops::relu(x), x), x));
  EXPECT_DOUBLE_EQ(y.item(), 1.0 + 9.0 + (1.0 - 2.0 + 3.0));
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{3.0, 1.0, 7.0}));
  // A second graph accumulates into the same .grad.
  ops::sum(x).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{4.0, 2.0, 8.0}));
}

TEST(Autograd, NoGradScopeRecordsNothing) {
  Tensor x = Tensor::full({2}, 1.0, DType::F64).set_requires_grad(true);
  {
    NoGradGuard guard;
    Tensor y = ops::relu(x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  EXPECT_TRUE(ops::relu(x).requires_grad());
}

TEST(Autograd, SavedTensorsAreReleasedAndSecondBackwardRefused) {
  Tensor x = Tensor::full({4}, 2.0, DType::F64).set_requires_grad(true);
  Tensor r = ops::relu(x);
  std::weak_ptr<Storage> saved = r.impl()->storage;
  Tensor loss = ops::sum(ops::scale(r, 3.0));
  r = Tensor();  // the graph alone keeps relu's output alive now
  EXPECT_FALSE(saved.expired());
  loss.backward();
  EXPECT_TRUE(saved.expired()) << "relu's saved output is freed once its backward ran";
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{3, 3, 3, 3}));
  EXPECT_THROW(loss.backward(), Error);
}

TEST(Autograd, BackwardNeedsAScalarThatRequiresGrad) {
  Tensor x = Tensor::full({2}, 1.0, DType::F64).set_requires_grad(true);
  EXPECT_THROW(ops::relu(x).backward(), Error);
  EXPECT_THROW(Tensor::scalar(1.0).backward(), Error);
}

TEST(Autograd, DiamondGraphSumsBothPaths) {
  Tensor x = Tensor::from_data({2}, std::vector<double>{0.5, -1.5}).set_requires_grad(true);
  Tensor a = ops::scale(x, 2.0);
  Tensor loss = ops::sum(ops::add(ops::mul(a, a), a));  // 4x^2 + 2x -> 8x + 2
  loss.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{6.0, -10.0}));
}

TEST(ElementwiseGrad, FiniteDifferences) {
  Generator gen(1);
  auto r = gradcheck([](const std::vector<Tensor>& in) { return ops::relu(ops::mul(in[0], ops::add(in[0], in[1]))); },
                     {random_tensor({2, 3, 4}, gen), random_tensor({2, 3, 4}, gen)});
  EXPECT_GRADCHECK(r, 1e-6);
  auto r2 = gradcheck([](const std::vector<Tensor>& in) { return ops::reshape(ops::scale(in[0], -0.5), {6, 2}); },
                      {random_tensor({3, 4}, gen)});
  EXPECT_GRADCHECK(r2, 1e-6);
}

TEST(ElementwiseGrad, ReluKinkHasZeroGradient) {
  Tensor x = Tensor::from_data({3}, std::vector<double>{0.0, 1e-12, -1e-12}).set_requires_grad(true);
  ops::sum(ops::relu(x)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0.0, 1.0, 0.0}));
}

}  // namespace
}  // namespace posenet
