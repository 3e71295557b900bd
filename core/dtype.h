// Element types. float32 is the default everywhere; float64 is the CPU
// gradient-check type; bfloat16 and float16 are storage types for mixed
// precision (converted at the edges, computed in float32).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace posenet {

// U8 holds 8-bit image data (the loader's crops), never a computed value:
// conversions to it round to nearest and saturate to [0, 255].
enum class DType : uint8_t { F32, F64, BF16, F16, U8 };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);            // "float32", ...
std::string_view dtype_safetensors_name(DType t);  // "F32", ...
bool dtype_from_safetensors_name(std::string_view name, DType* out);

// Scalar conversions for the 16-bit storage types (round to nearest even).
inline float bf16_to_float(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40);  // quiet NaN
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t((bits + rounding) >> 16);
}
float f16_to_float(uint16_t h);
uint16_t float_to_f16(float f);

// The type a kernel computes and accumulates a storage type in, and the
// dtype of the float32 state that goes with 16-bit activations under mixed
// precision (batch-norm statistics, master weights): float64 for float64,
// float32 otherwise.
inline DType compute_dtype(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

// Maps a C++ type onto its DType (float -> F32, double -> F64).
template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::F64;
};

}  // namespace posenet
