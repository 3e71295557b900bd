#include "kernels/normalize.h"

#include "kernels/dispatch.h"
#include "kernels/normalize_kernels.h"

// The registry entries of this family's kernels (kernels/normalize_kernels.h).
PN_DEFINE_KERNEL_ENTRIES(PN_NORMALIZE_KERNELS)

namespace posenet::ops {

ImageNormalization ImageNormalization::from_mean_std(const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  ImageNormalization n;
  for (size_t c = 0; c < 3; ++c) {
    PN_CHECK(std[c] > 0, "image normalisation: std must be positive, got ", std[c], " for channel ", c);
    n.mul[c] = 1.0f / (255.0f * std[c]);
    n.add[c] = -mean[c] / std[c];
  }
  return n;
}

Tensor normalize_images(const Tensor& pixels, const ImageNormalization& n) {
  check_rank(pixels, 4, "normalize_images", "pixels");
  PN_CHECK(pixels.dtype() == DType::U8 && pixels.dim(3) == 3, "normalize_images: pixels are ", pixels.str(),
           ", expected uint8 [B, H, W, 3]");
  Tensor out = Tensor::empty(pixels.shape(), DType::F32, pixels.device());
  if (pixels.numel() == 0) return out;
  PN_DISPATCH(pixels.device(), normalize_images, pixels.detach(), n, out);
  return out;
}

}  // namespace posenet::ops
