// CUDA convolution kernels: cuDNN in NHWC (filters KRSC), same contract as
// kernels/conv_kernels.h, whose signatures this header adds the CUDA
// backend's settings to. Algorithms are chosen once per shape and cached.
#pragma once
#include "core/tensor.h"
#include "kernels/conv_kernels.h"

namespace posenet::kernels::cuda {

// Whether float32 convolutions may use TF32 tensor cores (default: yes, as
// in PyTorch's cuDNN default). Parity tests turn it off to compare with the
// CPU at float32 precision. The algorithm cache is keyed on this setting.
void set_allow_tf32(bool allow);
bool allow_tf32();

// Which library runs 1x1, stride-1, unpadded convolutions (all three
// passes): cuDNN, or one cuBLAS GEMM each (kernels/cuda/pointwise_conv.h).
// Default cuDNN: keep it until posenet-bench's BM_Conv1x1 on the target GPU
// shows cuBLAS faster on ResNet-50's 1x1 shapes (the rule: switch when
// cuBLAS wins forward + backward summed over those shapes).
enum class Conv1x1Backend { CuDNN, CuBLAS };
void set_conv1x1_backend(Conv1x1Backend backend);
Conv1x1Backend conv1x1_backend();

}  // namespace posenet::kernels::cuda
