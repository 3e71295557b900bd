// The CPU backend's entries in the op registry (kernels/op_registry.h): every
// kernel of every family, float32 and float64.
#include "kernels/batchnorm_kernels.h"
#include "kernels/batchnorm_sync_kernels.h"
#include "kernels/conv_kernels.h"
#include "kernels/elementwise_kernels.h"
#include "kernels/loss_kernels.h"
#include "kernels/optim_kernels.h"
#include "kernels/pool_kernels.h"
#include "kernels/targets_kernels.h"

namespace posenet::kernels::cpu {

void register_kernels() {
  PN_BATCHNORM_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_BATCHNORM_SYNC_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_CONV_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_ELEMENTWISE_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_LOSS_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_OPTIM_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_POOL_KERNELS(PN_REGISTER_CPU_KERNEL_)
  PN_TARGETS_KERNELS(PN_REGISTER_CPU_KERNEL_)
}

}  // namespace posenet::kernels::cpu
