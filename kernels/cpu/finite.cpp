#include "kernels/finite_kernels.h"

#include <cmath>

#include "kernels/dispatch.h"

namespace posenet::kernels::cpu {

void flag_non_finite(const Tensor& x, const Tensor& flag) {
  dispatch_float(x.dtype(), "flag_non_finite", [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) {
        *static_cast<float*>(flag.raw_data()) = 1.0f;
        return;
      }
  });
}

}  // namespace posenet::kernels::cpu
