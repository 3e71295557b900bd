// Image normalisation kernels: the signatures every backend implements
// (kernels/op_registry.h).
#pragma once
#include "core/tensor.h"
#include "kernels/normalize.h"
#include "kernels/op_registry.h"

// normalize_images: out[i] = float(pixels[i]) * n.mul[c] + n.add[c], c = i % 3
// (pixels uint8 [B, H, W, 3], out float32 of the same shape).
#define PN_NORMALIZE_KERNELS(X) \
  X(normalize_images, (const Tensor& pixels, const ops::ImageNormalization& n, Tensor& out))

PN_DECLARE_KERNELS(PN_NORMALIZE_KERNELS)
