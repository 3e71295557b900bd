// 1x1 convolutions on CUDA through both backends (cuDNN and the cuBLAS
// GEMMs of kernels/cuda/pointwise_conv.cu) against the CPU: forward and the
// three gradients, in float32 with TF32 off, and in float64.
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "test_util.h"
#ifdef POSENET_WITH_CUDA
#include "kernels/cuda/conv.h"
#endif

namespace posenet {
namespace {

#ifdef POSENET_WITH_CUDA
using kernels::cuda::Conv1x1Backend;
using testing::random_tensor;

struct BackendScope {
  Conv1x1Backend saved_backend = kernels::cuda::conv1x1_backend();
  bool saved_tf32 = kernels::cuda::allow_tf32();
  explicit BackendScope(Conv1x1Backend b) {
    kernels::cuda::set_conv1x1_backend(b);
    kernels::cuda::set_allow_tf32(false);
  }
  ~BackendScope() {
    kernels::cuda::set_conv1x1_backend(saved_backend);
    kernels::cuda::set_allow_tf32(saved_tf32);
  }
};

// y, dx, dw, db of f on device d for fixed inputs and a fixed upstream gradient.
std::vector<Tensor> run(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f, const Tensor& x,
                        const Tensor& w, const Tensor& b, const Tensor& r, Device d) {
  Tensor xd = x.to(d).set_requires_grad(true), wd = w.to(d).set_requires_grad(true);
  Tensor bd = b.to(d).set_requires_grad(true);
  Tensor y = f(xd, wd, bd);
  ops::sum(ops::mul(y, r.to(d))).backward();
  return {y.to(Device::cpu()), xd.grad().to(Device::cpu()), wd.grad().to(Device::cpu()), bd.grad().to(Device::cpu())};
}

TEST(Conv1x1Cuda, BothBackendsMatchCpu) {
  PN_REQUIRE_CUDA();
  struct Case {
    Shape x;
    int64_t K;
    int stride;
  };
  // Pointwise shapes (the GEMM path), odd sizes, and a strided 1x1 that
  // stays on cuDNN under either setting.
  const std::vector<Case> cases{{{2, 7, 5, 3}, 4, 1}, {{4, 16, 16, 64}, 256, 1}, {{3, 9, 9, 256}, 64, 1},
                                {{2, 8, 8, 32}, 16, 2}};
  uint64_t seed = 50;
  for (const auto& c : cases)
    for (DType dtype : {DType::F32, DType::F64}) {
      Generator gen(seed++);
      Tensor x = random_tensor(c.x, gen, dtype), w = random_tensor({c.K, 1, 1, c.x[3]}, gen, dtype);
      Tensor b = random_tensor({c.K}, gen, dtype);
      const ops::Conv2dParams p = ops::Conv2dParams::square(c.stride, 0);
      auto f = [p](const Tensor& xi, const Tensor& wi, const Tensor& bi) { return ops::conv2d(xi, wi, bi, p); };
      const Shape ys{c.x[0], (c.x[1] - 1) / c.stride + 1, (c.x[2] - 1) / c.stride + 1, c.K};
      Tensor r = random_tensor(ys, gen, dtype);
      const auto want = run(f, x, w, b, r, Device::cpu());
      const double tol = dtype == DType::F32 ? 1e-4 : 1e-12;
      for (Conv1x1Backend backend : {Conv1x1Backend::CuDNN, Conv1x1Backend::CuBLAS}) {
        SCOPED_TRACE(::testing::Message() << shape_str(c.x) << " K " << c.K << " stride " << c.stride << " "
                                          << dtype_name(dtype) << (backend == Conv1x1Backend::CuBLAS ? " cuBLAS" : " cuDNN"));
        BackendScope scope(backend);
        const auto got = run(f, x, w, b, r, Device::cuda());
        for (size_t i = 0; i < want.size(); ++i) EXPECT_TENSOR_NEAR(got[i], want[i], tol, tol);
      }
    }
}

TEST(Conv1x1Cuda, TransposedPointwiseThroughCublas) {
  PN_REQUIRE_CUDA();
  Generator gen(60);
  Tensor x = random_tensor({2, 6, 5, 24}, gen, DType::F32), w = random_tensor({24, 1, 1, 40}, gen, DType::F32);
  Tensor b = random_tensor({40}, gen, DType::F32), r = random_tensor({2, 6, 5, 40}, gen, DType::F32);
  auto f = [](const Tensor& xi, const Tensor& wi, const Tensor& bi) {
    return ops::conv_transpose2d(xi, wi, bi, ops::ConvTranspose2dParams::square(1, 0));
  };
  const auto want = run(f, x, w, b, r, Device::cpu());
  BackendScope scope(Conv1x1Backend::CuBLAS);
  const auto got = run(f, x, w, b, r, Device::cuda());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TENSOR_NEAR(got[i], want[i], 1e-4, 1e-4);
}
#endif

}  // namespace
}  // namespace posenet
