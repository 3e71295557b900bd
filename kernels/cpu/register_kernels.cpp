// The CPU backend's entries in the op registry (kernels/op_registry.h): every
// kernel of every family, float32 and float64, and bfloat16 (computed in
// float32, kernels/cpu/via_float.h) for all but the optimizers (master
// weights and their state stay float32) and batch norm's eval statistics
// (running statistics stay float32).
#include "kernels/batchnorm_kernels.h"
#include "kernels/batchnorm_sync_kernels.h"
#include "kernels/cast_kernels.h"
#include "kernels/conv_epilogue_kernels.h"
#include "kernels/conv_kernels.h"
#include "kernels/elementwise_kernels.h"
#include "kernels/finite_kernels.h"
#include "kernels/loss_kernels.h"
#include "kernels/normalize_kernels.h"
#include "kernels/optim_kernels.h"
#include "kernels/pool_kernels.h"
#include "kernels/targets_kernels.h"

namespace posenet::kernels::cpu {

void register_kernels() {
  PN_BATCHNORM_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_BATCHNORM_SYNC_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_CONV_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_CONV_EPILOGUE_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_ELEMENTWISE_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_FINITE_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_LOSS_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_NORMALIZE_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_OPTIM_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_POOL_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_TARGETS_KERNELS(PN_REGISTER_CPU_KERNEL_)

  const Support with_bf16{{DType::F32, DType::F64, DType::BF16}};
#define PN_REGISTER_CPU_BF16_(name, params) name##_op().add(DeviceKind::CPU, &cpu::name, with_bf16);
  PN_BATCHNORM_KERNELS(PN_REGISTER_CPU_BF16_)
  PN_CAST_KERNELS(PN_REGISTER_CPU_BF16_)
  PN_CONV_KERNELS(PN_REGISTER_CPU_BF16_)
  PN_ELEMENTWISE_KERNELS(PN_REGISTER_CPU_BF16_)
  PN_LOSS_KERNELS(PN_REGISTER_CPU_BF16_)
  PN_POOL_KERNELS(PN_REGISTER_CPU_BF16_)
  PN_TARGETS_KERNELS(PN_REGISTER_CPU_BF16_)
#undef PN_REGISTER_CPU_BF16_
  batch_norm_eval_stats_op().add(DeviceKind::CPU, &cpu::batch_norm_eval_stats);
  // Image normalisation reads 8-bit pixels.
  normalize_images_op().add(DeviceKind::CPU, &normalize_images, Support{{DType::U8}});
}

}  // namespace posenet::kernels::cpu
