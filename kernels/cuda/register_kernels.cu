// The CUDA backend's entries in the op registry (kernels/op_registry.h):
// every cuda:: kernel of every family, wherever it is defined (the .cu files,
// or host stand-ins for the cuDNN/cuBLAS-backed ones in emulated builds).
#include "kernels/batchnorm_kernels.h"
#include "kernels/conv_kernels.h"
#include "kernels/elementwise_kernels.h"
#include "kernels/loss_kernels.h"
#include "kernels/optim_kernels.h"
#include "kernels/pool_kernels.h"
#include "kernels/targets_kernels.h"

namespace posenet::kernels::cuda {

void register_kernels() {
  PN_BATCHNORM_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_CONV_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_ELEMENTWISE_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_LOSS_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_OPTIM_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_POOL_KERNELS(PN_REGISTER_CUDA_KERNEL_)
  PN_TARGETS_KERNELS(PN_REGISTER_CUDA_KERNEL_)

#ifndef POSENET_CUDA_EMU
  // cuDNN also convolves the 16-bit storage types (mixed precision); the
  // emulated build's CPU stand-ins do not.
  const Support all_float{{DType::F32, DType::F64, DType::BF16, DType::F16}};
  conv2d_forward_op().add(DeviceKind::CUDA, &conv2d_forward, all_float);
  conv2d_backward_data_op().add(DeviceKind::CUDA, &conv2d_backward_data, all_float);
  conv2d_backward_weight_op().add(DeviceKind::CUDA, &conv2d_backward_weight, all_float);
#endif
}

}  // namespace posenet::kernels::cuda
