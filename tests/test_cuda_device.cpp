// CUDA device selection and reproducibility: an absent device index fails
// with the index and the count (no GPU needed); work for cuda:N runs on
// device N; convolutions on CUDA repeat bit for bit (cuDNN is asked for
// deterministic algorithms only).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/cuda_device.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "test_util.h"
#ifdef POSENET_WITH_CUDA
#include "kernels/cuda/conv.h"
#endif

namespace posenet {
namespace {

using testing::random_tensor;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CudaDevice, AbsentIndexNamesTheIndexAndTheCount) {
  EXPECT_NO_THROW(check_cuda_device_index(Device::cuda(1), 2));
  const std::string beyond = error_of([] { check_cuda_device_index(Device::cuda(3), 2); });
  EXPECT_NE(beyond.find("cuda:3"), std::string::npos) << beyond;
  EXPECT_NE(beyond.find("2 CUDA device(s) present"), std::string::npos) << beyond;
  const std::string none = error_of([] { check_cuda_device_index(Device::cuda(1), 0); });
  EXPECT_NE(none.find("device cuda:1 requested but no CUDA device is present"), std::string::npos) << none;
}

// On one GPU: cuda:1 fails with the count. On several: tensors of cuda:1
// are allocated there, ops run there (with results equal to the CPU's) and
// the caller's current device is left as it was.
TEST(CudaDevice, WorkForASecondDeviceRunsThere) {
  PN_REQUIRE_CUDA();
  const int count = cuda_device_count();
  if (count < 2) {
    const std::string e = error_of([] { (void)Tensor::zeros({2}, DType::F32, Device::cuda(1)); });
    EXPECT_NE(e.find("cuda:1 does not exist: 1 CUDA device(s) present"), std::string::npos) << e;
    return;
  }
  Generator gen(7);
  const Tensor a = random_tensor({4, 6, 6, 8}, gen, DType::F32), w = random_tensor({8, 3, 3, 8}, gen, DType::F32);
  const Tensor b = random_tensor({8}, gen, DType::F32);
  const size_t on_zero = backend_for(Device::cuda(0)).bytes_in_use();
  const Tensor y = ops::relu(ops::add(ops::conv2d(a.to(Device::cuda(1)), w.to(Device::cuda(1)), b.to(Device::cuda(1)),
                                                  ops::Conv2dParams::square(1, 1)),
                                      a.to(Device::cuda(1))));
  EXPECT_EQ(backend_for(Device::cuda(0)).bytes_in_use(), on_zero) << "nothing for cuda:1 lands on cuda:0";
  EXPECT_GT(backend_for(Device::cuda(1)).bytes_in_use(), size_t(0));
  const Tensor expected = ops::relu(ops::add(ops::conv2d(a, w, b, ops::Conv2dParams::square(1, 1)), a));
  EXPECT_TENSOR_NEAR(y.to(Device::cpu()), expected, 2e-2, 2e-2);  // TF32 on the GPU
  // The current device is restored: a default-device tensor still works.
  EXPECT_EQ(Tensor::from_data({2}, std::vector<float>{1, 2}).to(Device::cuda(0)).to(Device::cpu()).to_vector(),
            (std::vector<double>{1, 2}));
}

// Forward and backward of convolutions, run twice on the same inputs: the
// outputs and all gradients are equal bit for bit (float32, TF32 as by
// default; 3x3, strided, 1x1 through cuDNN and through cuBLAS, transposed).
TEST(ConvCudaDeterminism, ForwardAndBackwardRepeatBitForBit) {
  PN_REQUIRE_CUDA();
  struct Case {
    const char* name;
    Shape x, w;
    bool transposed;
    int stride, pad;
    bool cublas = false;  // a 1x1 convolution through cuBLAS instead of cuDNN
  };
  const std::vector<Case> cases = {{"3x3", {8, 28, 28, 64}, {64, 3, 3, 64}, false, 1, 1},
                                   {"3x3 stride 2", {8, 28, 28, 64}, {128, 3, 3, 64}, false, 2, 1},
                                   {"1x1", {8, 14, 14, 256}, {64, 1, 1, 256}, false, 1, 0},
                                   {"1x1 cuBLAS", {8, 14, 14, 256}, {64, 1, 1, 256}, false, 1, 0, true},
                                   {"4x4 transposed", {8, 8, 8, 64}, {64, 4, 4, 32}, true, 2, 1}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
#ifdef POSENET_WITH_CUDA
    struct BackendScope {
      kernels::cuda::Conv1x1Backend saved = kernels::cuda::conv1x1_backend();
      ~BackendScope() { kernels::cuda::set_conv1x1_backend(saved); }
    } scope;
    kernels::cuda::set_conv1x1_backend(c.cublas ? kernels::cuda::Conv1x1Backend::CuBLAS
                                                : kernels::cuda::Conv1x1Backend::CuDNN);
#endif
    auto run = [&] {
      Generator gen(11);
      Tensor x = random_tensor(c.x, gen, DType::F32).to(Device::cuda()).set_requires_grad(true);
      Tensor w = random_tensor(c.w, gen, DType::F32).to(Device::cuda()).set_requires_grad(true);
      const int64_t bias = c.transposed ? c.w[3] : c.w[0];
      Tensor b = random_tensor({bias}, gen, DType::F32).to(Device::cuda()).set_requires_grad(true);
      Tensor y = c.transposed ? ops::conv_transpose2d(x, w, b, ops::ConvTranspose2dParams::square(c.stride, c.pad))
                              : ops::conv2d(x, w, b, ops::Conv2dParams::square(c.stride, c.pad));
      Tensor r = random_tensor(y.shape(), gen, DType::F32).to(Device::cuda());
      ops::sum(ops::mul(y, r)).backward();
      return std::vector<std::vector<double>>{y.to(Device::cpu()).to_vector(), x.grad().to(Device::cpu()).to_vector(),
                                              w.grad().to(Device::cpu()).to_vector(),
                                              b.grad().to(Device::cpu()).to_vector()};
    };
    const auto first = run(), second = run();
    const char* what[] = {"output", "input gradient", "weight gradient", "bias gradient"};
    for (size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(first[i] == second[i]) << what[i] << " differs";
  }
}

}  // namespace
}  // namespace posenet
