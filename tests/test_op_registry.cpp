// The op registry (kernels/op_registry.h): what supports() answers and the
// error a call that no kernel takes gets.
#include <gtest/gtest.h>

#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/conv_kernels.h"
#include "kernels/elementwise_kernels.h"
#include "kernels/optim_kernels.h"

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
  OpArgs f32, bf16, f16;
  f32.add(Tensor::zeros({2, 3}, DType::F32));
  bf16.add(Tensor::zeros({2, 3}, DType::BF16));
  f16.add(Tensor::zeros({2, 3}, DType::F16));
  EXPECT_TRUE(kernels::relu_forward_op().supports(DeviceKind::CPU, f32));
  EXPECT_TRUE(kernels::relu_forward_op().supports(DeviceKind::CPU, bf16));  // computed in float32
  EXPECT_FALSE(kernels::relu_forward_op().supports(DeviceKind::CPU, f16));
  EXPECT_FALSE(kernels::adam_step_op().supports(DeviceKind::CPU, bf16)) << "master weights stay float32";
  EXPECT_EQ(bf16.str(), "bfloat16 [2, 3]");
}

TEST(OpRegistry, UnsupportedCallNamesOpBackendShapesAndDtype) {
  Tensor x = Tensor::zeros({2, 3}, DType::F16);
  try {
    ops::relu(x);
    FAIL() << "relu on float16 ran on the CPU";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("relu_forward"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cpu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("float16 [2, 3] [2, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("float32, float64, bfloat16"), std::string::npos) << msg;
  }
}

// The CUDA backend declines a transposed convolution cuDNN cannot express
// (output padding >= stride) up front; asking needs no GPU.
TEST(OpRegistry, CudaConvSupportDependsOnTheGeometry) {
#if defined(POSENET_WITH_CUDA) && !defined(POSENET_CUDA_EMU)
  kernels::ConvGeometry g;  // conv_transpose2d 3x3, stride 1, pad 1, dilation 2, output padding 1: 3x4 -> 6x7
  g.N = 1, g.H = 6, g.W = 7, g.C = 2, g.K = 2, g.R = 3, g.S = 3, g.P = 3, g.Q = 4;
  g.stride_h = g.stride_w = 1, g.pad_h = g.pad_w = 1, g.dilation_h = g.dilation_w = 2;
  OpArgs args;
  args.add(Tensor::zeros({1, 3, 4, 2}));
  kernels::describe_arg(args, g);
  EXPECT_TRUE(kernels::conv2d_backward_data_op().supports(DeviceKind::CPU, args));
  EXPECT_FALSE(kernels::conv2d_backward_data_op().supports(DeviceKind::CUDA, args));
  g.H = 5, g.W = 6;  // without the output padding: the extent cuDNN derives
  kernels::describe_arg(args, g);
  EXPECT_TRUE(kernels::conv2d_backward_data_op().supports(DeviceKind::CUDA, args));
#else
  GTEST_SKIP() << "built without cuDNN (no CUDA backend, or the emulated one, which takes every geometry)";
#endif
}

}  // namespace
}  // namespace posenet
