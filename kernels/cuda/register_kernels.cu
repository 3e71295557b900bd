// The CUDA backend's entries in the op registry (kernels/op_registry.h):
// every cuda:: kernel of every family, wherever it is defined (the .cu files,
// or host stand-ins for the cuDNN/cuBLAS-backed ones in emulated builds).
#include "kernels/batchnorm_kernels.h"
#include "kernels/batchnorm_sync_kernels.h"
#include "kernels/cast_kernels.h"
#include "kernels/conv_epilogue_kernels.h"
#include "kernels/conv_kernels.h"
#include "kernels/cuda/deconv.h"
#include "kernels/elementwise_kernels.h"
#include "kernels/finite_kernels.h"
#include "kernels/loss_kernels.h"
#include "kernels/normalize_kernels.h"
#include "kernels/optim_kernels.h"
#include "kernels/pool_kernels.h"
#include "kernels/targets_kernels.h"

namespace posenet::kernels::cuda {

namespace {

#ifndef POSENET_CUDA_EMU
// cuDNN derives a convolution's output extent from its input; a transposed
// convolution whose output padding is not below its stride needs another
// (larger input) than that derivation gives, which cuDNN cannot express.
bool cudnn_expressible(const OpArgs& args) {
  ConvGeometry g;
  if (!geometry_of(args, &g)) return false;
  auto derived = [](int64_t in, int64_t kernel, int stride, int pad, int dilation) {
    return (in + 2 * int64_t(pad) - int64_t(dilation) * (kernel - 1) - 1) / stride + 1;
  };
  return derived(g.H, g.R, g.stride_h, g.pad_h, g.dilation_h) == g.P &&
         derived(g.W, g.S, g.stride_w, g.pad_w, g.dilation_w) == g.Q;
}
#endif

}  // namespace

void register_kernels() {
  PN_BATCHNORM_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_BATCHNORM_SYNC_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_CONV_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_CONV_EPILOGUE_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_ELEMENTWISE_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_FINITE_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_LOSS_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_NORMALIZE_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_OPTIM_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_POOL_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_TARGETS_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  // Image normalisation reads 8-bit pixels.
  normalize_images_op().add(DeviceKind::CUDA, &normalize_images, Support{{DType::U8}});

  // The hand-written kernels are templated on their storage type
  // (storage.cuh): bfloat16 too, but for the optimizers (float32 master
  // weights and state) and batch norm's eval statistics (float32 running
  // statistics).
  const Support with_bf16{{DType::F32, DType::F64, DType::BF16}};
#define PN_REGISTER_CUDA_BF16_(name, params) name##_op().add(DeviceKind::CUDA, &cuda::name, with_bf16);
  PN_BATCHNORM_KERNELS(PN_REGISTER_CUDA_BF16_)
  PN_CAST_KERNELS(PN_REGISTER_CUDA_BF16_)
  PN_ELEMENTWISE_KERNELS(PN_REGISTER_CUDA_BF16_)
  PN_LOSS_KERNELS(PN_REGISTER_CUDA_BF16_)
  PN_POOL_KERNELS(PN_REGISTER_CUDA_BF16_)
  PN_TARGETS_KERNELS(PN_REGISTER_CUDA_BF16_)
  conv_bias_add_op().add(DeviceKind::CUDA, &cuda::conv_bias_add, with_bf16);
  conv_bias_backward_op().add(DeviceKind::CUDA, &cuda::conv_bias_backward, with_bf16);
#undef PN_REGISTER_CUDA_BF16_
  batch_norm_eval_stats_op().add(DeviceKind::CUDA, &cuda::batch_norm_eval_stats);

  // cuDNN also convolves the 16-bit storage types (mixed precision), but
  // not every transposed geometry; the emulated build's stand-ins (the CPU
  // kernels on the device buffers) take every geometry.
  const std::vector<DType> all_float{DType::F32, DType::F64, DType::BF16, DType::F16};
#ifdef POSENET_CUDA_EMU
  const Support conv{all_float};
#else
  const Support conv{all_float, &cudnn_expressible};
#endif
  // The decoder's 4x4 stride-2 deconvolution may run on hand-written kernels
  // instead (kernels/cuda/deconv.h): a geometry cuDNN also takes.
  conv2d_forward_op().add(DeviceKind::CUDA, &routed_conv2d_forward, conv);
  conv2d_backward_data_op().add(DeviceKind::CUDA, &routed_conv2d_backward_data, conv);
  conv2d_backward_weight_op().add(DeviceKind::CUDA, &routed_conv2d_backward_weight, conv);
}

}  // namespace posenet::kernels::cuda
