#include "kernels/finite.h"

#include "core/autograd.h"
#include "kernels/dispatch.h"
#include "kernels/finite_kernels.h"

// The registry entries of this family's kernels (kernels/finite_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_FINITE_KERNELS)

namespace posenet::ops {

void flag_non_finite(const std::vector<Tensor>& tensors, const Tensor& flag) {
  PN_CHECK(flag.defined() && flag.numel() == 1 && flag.dtype() == DType::F32,
           "flag_non_finite: the flag must be one float32 element, got ", flag.defined() ? flag.str() : "undefined");
  NoGradGuard no_grad;
  for (const Tensor& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    PN_CHECK(t.device() == flag.device(), "flag_non_finite: tensor on ", t.device().str(), ", flag on ",
             flag.device().str());
    PN_DISPATCH(t.device(), flag_non_finite, t.detach(), flag);
  }
}

}  // namespace posenet::ops
