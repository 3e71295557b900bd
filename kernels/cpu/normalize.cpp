#include "kernels/normalize_kernels.h"

#include <cstdint>

namespace posenet::kernels::cpu {

void normalize_images(const Tensor& pixels, const ops::ImageNormalization& n, Tensor& out) {
  const uint8_t* x = static_cast<const uint8_t*>(pixels.raw_data());
  float* o = out.data<float>();
  const int64_t count = pixels.numel() / 3;
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t p = 0; p < count; ++p)
    for (int64_t c = 0; c < 3; ++c) o[3 * p + c] = float(x[3 * p + c]) * n.mul[size_t(c)] + n.add[size_t(c)];
}

}  // namespace posenet::kernels::cpu
