// Batch norm folded into the convolution before it, for eval and predict.
//
// For a convolution (weight w, optional bias b) followed by a batch norm in
// eval mode (gamma, beta, running mean mu and variance var, eps), with
// s = gamma / sqrt(var + eps) per output channel:
//   w' = w * s  (along the convolution's output channels)
//   b' = beta - mu * s + b * s
// The convolution then runs with w' and no bias, and the batch norm becomes
// the epilogue y = [ReLU](y + b' [+ residual]) in one pass
// (kernels/conv_epilogue.h). The registered parameters and buffers are not
// touched, so state_dict() and saved checkpoints stay those of the unfolded
// model; the folded tensors are a snapshot taken on the model's current
// device and dtype, dropped when the model is switched to training.
//
// Which pairs: in every module, a Conv2d or ConvTranspose2d child followed
// directly (in registration order) by a BatchNorm2d child with as many
// channels as the convolution has outputs. That is the convention of
// torchvision's ResNet and of every posenet model: the batch norm registered
// after a convolution normalises that convolution's output, and nothing else
// reads the convolution's output. A model built otherwise must not be folded
// (the per-architecture tests compare folded and unfolded outputs).
#pragma once
#include "core/tensor.h"
#include "layers/module.h"

namespace posenet {

// Folds every pair of the model, which must be in eval mode; returns how
// many pairs it folded. Calling it again refolds from the current values.
int fold_batch_norm(Module& model);

// The folded tensor if it matches the input's device and dtype; a clear
// error otherwise (the model was moved or converted after folding).
const Tensor& folded_for(const Tensor& folded, const Tensor& x, const char* layer);

}  // namespace posenet
