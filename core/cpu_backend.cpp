// The CPU backend: 64-byte aligned host memory, plain loops for copies,
// fills and accumulation.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/device.h"
#include "core/error.h"

namespace posenet {
namespace {

// DType::U8's rule: round to nearest, saturate to [0, 255] (NaN gives 0).
uint8_t saturate_u8(double v) {
  if (!(v > 0)) return 0;
  return v >= 255 ? uint8_t(255) : uint8_t(std::lround(v));
}

template <typename Src, typename Fn>
void convert_from(void* dst, DType dst_type, const Src* src, size_t n, Fn to_float) {
  switch (dst_type) {
    case DType::F32: {
      auto* d = static_cast<float*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = float(to_float(src[i]));
      break;
    }
    case DType::F64: {
      auto* d = static_cast<double*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = double(to_float(src[i]));
      break;
    }
    case DType::BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = float_to_bf16(float(to_float(src[i])));
      break;
    }
    case DType::F16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = float_to_f16(float(to_float(src[i])));
      break;
    }
    case DType::U8: {
      auto* d = static_cast<uint8_t*>(dst);
      for (size_t i = 0; i < n; ++i) d[i] = saturate_u8(double(to_float(src[i])));
      break;
    }
  }
}

class CpuBackend final : public Backend {
 public:
  void* allocate(size_t bytes) override {
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p)
      PN_FAIL("out of host memory: could not allocate ", bytes, " bytes (", bytes_in_use(),
              " bytes already in use); lower the batch size or the model size");
    alloc_calls_.fetch_add(1, std::memory_order_relaxed);
    size_t now = in_use_.fetch_add(bytes) + bytes;
    size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override {
    std::free(ptr);
    in_use_.fetch_sub(bytes);
  }
  void copy_device_to_device(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy_host_to_device(void* dst, const void* src, size_t bytes) override {
    h2d_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    std::memcpy(dst, src, bytes);
  }
  void copy_device_to_host(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void fill(void* dst, DType dtype, size_t n, double value) override {
    switch (dtype) {
      case DType::F32: std::fill_n(static_cast<float*>(dst), n, float(value)); break;
      case DType::F64: std::fill_n(static_cast<double*>(dst), n, value); break;
      case DType::BF16: std::fill_n(static_cast<uint16_t*>(dst), n, float_to_bf16(float(value))); break;
      case DType::F16: std::fill_n(static_cast<uint16_t*>(dst), n, float_to_f16(float(value))); break;
      case DType::U8: std::fill_n(static_cast<uint8_t*>(dst), n, saturate_u8(value)); break;
    }
  }
  void add_inplace(void* dst, const void* src, DType dtype, size_t n) override {
    switch (dtype) {
      case DType::F32: {
        auto* d = static_cast<float*>(dst);
        auto* s = static_cast<const float*>(src);
#pragma omp parallel for simd if (n > 65536)
        for (size_t i = 0; i < n; ++i) d[i] += s[i];
        break;
      }
      case DType::F64: {
        auto* d = static_cast<double*>(dst);
        auto* s = static_cast<const double*>(src);
#pragma omp parallel for simd if (n > 65536)
        for (size_t i = 0; i < n; ++i) d[i] += s[i];
        break;
      }
      case DType::BF16: {
        auto* d = static_cast<uint16_t*>(dst);
        auto* s = static_cast<const uint16_t*>(src);
        for (size_t i = 0; i < n; ++i) d[i] = float_to_bf16(bf16_to_float(d[i]) + bf16_to_float(s[i]));
        break;
      }
      case DType::F16: {
        auto* d = static_cast<uint16_t*>(dst);
        auto* s = static_cast<const uint16_t*>(src);
        for (size_t i = 0; i < n; ++i) d[i] = float_to_f16(f16_to_float(d[i]) + f16_to_float(s[i]));
        break;
      }
      case DType::U8: {
        auto* d = static_cast<uint8_t*>(dst);
        auto* s = static_cast<const uint8_t*>(src);
        for (size_t i = 0; i < n; ++i) d[i] = saturate_u8(double(d[i]) + double(s[i]));
        break;
      }
    }
  }
  void convert(void* dst, DType dst_type, const void* src, DType src_type, size_t n) override {
    if (dst_type == src_type) {
      std::memcpy(dst, src, n * dtype_size(dst_type));
      return;
    }
    switch (src_type) {
      case DType::F32: convert_from(dst, dst_type, static_cast<const float*>(src), n, [](float v) { return v; }); break;
      case DType::F64: convert_from(dst, dst_type, static_cast<const double*>(src), n, [](double v) { return v; }); break;
      case DType::BF16:
        convert_from(dst, dst_type, static_cast<const uint16_t*>(src), n, [](uint16_t v) { return bf16_to_float(v); });
        break;
      case DType::F16:
        convert_from(dst, dst_type, static_cast<const uint16_t*>(src), n, [](uint16_t v) { return f16_to_float(v); });
        break;
      case DType::U8:
        convert_from(dst, dst_type, static_cast<const uint8_t*>(src), n, [](uint8_t v) { return float(v); });
        break;
    }
  }
  void synchronize() override {}
  size_t bytes_in_use() const override { return in_use_.load(); }
  size_t peak_bytes() const override { return peak_.load(); }
  void reset_peak() override { peak_.store(in_use_.load()); }
  // No host waits: the CPU backend runs everything before it returns.
  BackendCounters counters() const override {
    return {alloc_calls_.load(std::memory_order_relaxed), 0, h2d_bytes_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<size_t> in_use_{0};
  std::atomic<size_t> peak_{0};
  std::atomic<uint64_t> alloc_calls_{0};
  std::atomic<uint64_t> h2d_bytes_{0};
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

}  // namespace posenet
