// Image normalisation: one thread per pixel, reading its 3 bytes and writing
// 3 outputs. Out is the output storage type (float now), the arithmetic in
// float32 as the loader's float path.
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/normalize_kernels.h"

namespace posenet::kernels::cuda {
namespace {

struct Affine {
  float mul[3], add[3];
};

template <typename Out>
__global__ void normalize_images_kernel(const uint8_t* x, int64_t pixels, Affine a, Out* out) {
  PN_GRID_STRIDE(p, pixels) {
    for (int c = 0; c < 3; ++c) out[3 * p + c] = Out(float(x[3 * p + c]) * a.mul[c] + a.add[c]);
  }
}

}  // namespace

void normalize_images(const Tensor& pixels, const ops::ImageNormalization& n, Tensor& out) {
  PN_CHECK(out.dtype() == DType::F32, "normalize_images: output dtype ", dtype_name(out.dtype()),
           " is not supported by this kernel");
  Affine a{};
  for (int c = 0; c < 3; ++c) {
    a.mul[c] = n.mul[size_t(c)];
    a.add[c] = n.add[size_t(c)];
  }
  const int64_t count = pixels.numel() / 3;
  normalize_images_kernel<float><<<blocks_for(count), kThreads, 0, current_stream()>>>(
      static_cast<const uint8_t*>(pixels.raw_data()), count, a, static_cast<float*>(out.raw_data()));
  PN_CUDA_CHECK_LAUNCH();
}

}  // namespace posenet::kernels::cuda
