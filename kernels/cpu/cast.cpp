#include <cstdint>

#include "core/error.h"
#include "kernels/cast_kernels.h"

namespace posenet::kernels::cpu {

namespace {

// Element i of a float32, float64 or bfloat16 buffer, and its store; into
// bfloat16 through float32 (round to nearest even), as the CUDA kernel.
double load(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return double(static_cast<const float*>(p)[i]);
    case DType::F64: return static_cast<const double*>(p)[i];
    case DType::BF16: return double(bf16_to_float(static_cast<const uint16_t*>(p)[i]));
    default: PN_FAIL("cast: unsupported dtype ", dtype_name(t));
  }
}

}  // namespace

void cast_copy(const Tensor& src, Tensor& dst) {
  PN_CHECK(src.numel() == dst.numel(), "cast: element counts differ");
  const int64_t n = src.numel();
  const void* s = src.raw_data();
  void* d = dst.raw_data();
  const DType st = src.dtype();
  switch (dst.dtype()) {
    case DType::F32:
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) static_cast<float*>(d)[i] = float(load(s, st, i));
      return;
    case DType::F64:
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) static_cast<double*>(d)[i] = load(s, st, i);
      return;
    case DType::BF16:
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(d)[i] = float_to_bf16(float(load(s, st, i)));
      return;
    default: PN_FAIL("cast: unsupported dtype ", dtype_name(dst.dtype()));
  }
}

}  // namespace posenet::kernels::cpu
