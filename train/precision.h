// --precision: how a training run computes.
//   fp32  float32 throughout (on CUDA: cuDNN FMA math, cuBLAS pedantic float32).
//   tf32  float32 storage, convolutions and GEMMs on TF32 tensor cores (CUDA
//         only; the CPU has no TF32, so it is refused there).
//   bf16  mixed precision: bfloat16 activations and gradients, float32
//         master weights, batch-norm statistics, optimizer state and loss
//         (models/pose_model.h); the stem convolution stays float32. On the
//         CPU, bfloat16 is emulated (float32 kernels, rounded): slow, for
//         checking against CUDA.
// Empty: the device's default, tf32 on CUDA and fp32 on the CPU. bf16
// becomes CUDA's default once a GPU run has shown it right.
#pragma once
#include <string>

#include "core/device.h"
#include "models/pose_model.h"

namespace posenet::train {

enum class Precision { FP32, TF32, BF16 };

const char* precision_name(Precision p);  // "fp32", "tf32", "bf16"
// The precision a --precision value means on device; InputError naming the
// option for an unknown value or tf32 on the CPU.
Precision resolve_precision(const std::string& value, Device device);
// Sets the model's activation dtype and the TF32 switch of the CUDA
// convolutions and GEMMs (process-wide: one training run per process).
void apply_precision(models::PoseModel& model, Precision p);

}  // namespace posenet::train
