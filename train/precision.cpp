#include "train/precision.h"

#include "core/error.h"
#ifdef POSENET_WITH_CUDA
#include "kernels/cuda/conv.h"
#endif

namespace posenet::train {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::FP32: return "fp32";
    case Precision::TF32: return "tf32";
    case Precision::BF16: return "bf16";
  }
  return "?";
}

Precision resolve_precision(const std::string& value, Device device) {
  if (value.empty()) return device.is_cpu() ? Precision::FP32 : Precision::TF32;
  if (value == "fp32") return Precision::FP32;
  if (value == "bf16") return Precision::BF16;
  if (value == "tf32") {
    if (device.is_cpu())
      throw InputError("invalid training setting: precision tf32 needs a CUDA device (the CPU has no TF32 and "
                       "computes float32 in full): use --precision fp32 or bf16 on the CPU");
    return Precision::TF32;
  }
  throw InputError("invalid training setting: precision must be bf16, tf32 or fp32, got '" + value + "'");
}

void apply_precision(models::PoseModel& model, Precision p) {
  model.set_activation_dtype(p == Precision::BF16 ? DType::BF16 : DType::F32);
#ifdef POSENET_WITH_CUDA
  // Under bf16 only the stem convolution is float32: TF32 is allowed there.
  kernels::cuda::set_allow_tf32(p != Precision::FP32);
#endif
}

}  // namespace posenet::train
