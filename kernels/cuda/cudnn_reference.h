// cuDNN's own versions of work that posenet does with hand-written kernels,
// for posenet-bench to time side by side (kernels/cuda/*.cu stay the ones
// the engine runs). float32 NHWC.
#pragma once
#include "core/tensor.h"

namespace posenet::kernels::cuda {

// cudnnBatchNormalizationForwardTrainingEx, CUDNN_BATCHNORM_SPATIAL_PERSISTENT,
// CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION (ReLU): y = relu(bn(x) + z), with the
// batch statistics saved and the running ones updated. Scratch memory comes
// from the caching allocator.
void cudnn_bn_add_relu_forward_training(const Tensor& x, const Tensor& z, const Tensor& weight, const Tensor& bias,
                                        Tensor& running_mean, Tensor& running_var, double eps, double momentum,
                                        Tensor& y, Tensor& save_mean, Tensor& save_invstd);

// cudnnAddTensor: c += a (same shape).
void cudnn_add_tensor(const Tensor& a, Tensor& c);

}  // namespace posenet::kernels::cuda
