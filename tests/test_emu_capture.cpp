// Stream capture of posenet's own ops in the emulator (EMU builds): the
// hand-written kernels are recorded by the emulator's launch, the cuDNN
// stand-ins record themselves as host nodes (kernels/cuda/emu_library_ops.cpp),
// so a captured convolution replays exactly what eager execution computes,
// on the inputs as they are at each launch.
#include <gtest/gtest.h>
#include <cuda_runtime.h>

#include <vector>

#include "core/autograd.h"
#include "core/cuda_check.h"
#include "core/rng.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"

namespace posenet {
namespace {

Tensor random_cuda(const Shape& shape, Generator& gen) {
  std::vector<float> v(size_t(shape_numel(shape)));
  for (float& x : v) x = float(gen.uniform(-1.0, 1.0));
  return Tensor::from_data(shape, v, DType::F32, Device::cuda());
}

TEST(EmuCapture, CapturedConvolutionReplaysAsEagerExecution) {
  NoGradGuard no_grad;
  Generator gen(21);
  const Shape xs{2, 6, 5, 3};
  Tensor x = random_cuda(xs, gen), w = random_cuda({4, 3, 3, 3}, gen), b = random_cuda({4}, gen);
  const auto p = ops::Conv2dParams::square(1, 1);
  const auto op = [&] { return ops::relu(ops::conv2d(x, w, b, p)); };
  (void)op();  // fills the caching allocator: no cudaMalloc inside the capture

  cudaStream_t stream = current_stream();
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  Tensor y = op();  // recorded, not run
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);

  for (int replay = 0; replay < 3; ++replay) {
    x.copy_(random_cuda(xs, gen));  // new inputs in the captured buffer
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    const std::vector<double> replayed = y.to(Device::cpu()).to_vector();
    EXPECT_EQ(replayed, op().to(Device::cpu()).to_vector()) << "replay " << replay;
  }
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
}

}  // namespace
}  // namespace posenet
