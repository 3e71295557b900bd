// The op registry (kernels/op_registry.h): what supports() answers and the
// error a call that no kernel takes gets.
#include <gtest/gtest.h>

#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_kernels.h"

namespace posenet {
namespace {

using kernels::OpArgs;

TEST(OpRegistry, EveryCpuKernelIsRegistered) {
  EXPECT_NE(kernels::relu_forward_op().kernel(DeviceKind::CPU), nullptr);
  EXPECT_STREQ(kernels::relu_forward_op().name(), "relu_forward");
#ifdef POSENET_WITH_CUDA
  EXPECT_TRUE(kernels::relu_forward_op().registered(DeviceKind::CUDA));
#else
  EXPECT_FALSE(kernels::relu_forward_op().registered(DeviceKind::CUDA));
#endif
}

TEST(OpRegistry, SupportsAnswersByDtype) {
  OpArgs f32, bf16;
  f32.add(Tensor::zeros({2, 3}, DType::F32));
  bf16.add(Tensor::zeros({2, 3}, DType::BF16));
  EXPECT_TRUE(kernels::relu_forward_op().supports(DeviceKind::CPU, f32));
  EXPECT_FALSE(kernels::relu_forward_op().supports(DeviceKind::CPU, bf16));
  EXPECT_EQ(bf16.str(), "bfloat16 [2, 3]");
}

TEST(OpRegistry, UnsupportedCallNamesOpBackendShapesAndDtype) {
  Tensor x = Tensor::zeros({2, 3}, DType::BF16);
  try {
    ops::relu(x);
    FAIL() << "relu on bfloat16 ran on the CPU";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("relu_forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cpu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bfloat16 [2, 3] [2, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("float32, float64"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace posenet
