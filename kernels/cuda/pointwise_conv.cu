// Row-major [rows, cols] is column-major [cols, rows] to cuBLAS, so each
// product is written transposed: y^T = w * x^T, dx^T = w^T * dy^T,
// dw^T = x^T * dy. TF32 follows set_allow_tf32 (as the cuDNN path);
// 16-bit storage accumulates in float32. cuBLAS GEMMs are deterministic on
// one stream.
#include <cublas_v2.h>

#include <climits>
#include <mutex>
#include <unordered_map>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/pointwise_conv.h"

namespace posenet::kernels::cuda {

namespace {

#define PN_CUBLAS_CHECK(call)                                                                           \
  do {                                                                                                  \
    cublasStatus_t pn_status_ = (call);                                                                 \
    if (pn_status_ != CUBLAS_STATUS_SUCCESS)                                                            \
      throw ::posenet::Error(::posenet::detail::concat("cuBLAS error ", cublasGetStatusString(pn_status_), \
                                                       " in ", #call, " at ", __FILE__, ":", __LINE__)); \
  } while (0)

// One handle per device, never destroyed (as cuDNN's in conv.cu); bound to
// posenet's stream per call.
cublasHandle_t handle() {
  int device = 0;
  PN_CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex mu;
  static auto* handles = new std::unordered_map<int, cublasHandle_t>();
  cublasHandle_t h = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = handles->find(device);
    if (it == handles->end()) {
      PN_CUBLAS_CHECK(cublasCreate(&h));
      handles->emplace(device, h);
    } else {
      h = it->second;
    }
  }
  PN_CUBLAS_CHECK(cublasSetStream(h, current_stream(device)));
  return h;
}

cudaDataType_t data_type(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::F64: return CUDA_R_64F;
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    case DType::U8: break;  // image data, never a convolution's
  }
  PN_FAIL("1x1 conv (cuBLAS): unknown dtype");
}

int to_int(int64_t v, const char* what) {
  PN_CHECK(v >= 0 && v <= INT_MAX, "1x1 conv (cuBLAS): ", what, " = ", v, " is too large for cuBLAS");
  return int(v);
}

// Column-major C[m, n] = op(A) op(B), alpha 1, beta 0.
void gemm(DType t, cublasOperation_t op_a, cublasOperation_t op_b, int64_t m, int64_t n, int64_t k, const void* a,
          int64_t lda, const void* b, int64_t ldb, void* c, int64_t ldc) {
  cublasHandle_t h = handle();
  const cudaDataType_t dt = data_type(t);
  const double d_one = 1.0, d_zero = 0.0;
  const float f_one = 1.0f, f_zero = 0.0f;
  const bool is_double = t == DType::F64;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  if (is_double) compute = CUBLAS_COMPUTE_64F;
  else if (t == DType::F32 && allow_tf32()) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
  PN_CUBLAS_CHECK(cublasGemmEx(h, op_a, op_b, to_int(m, "m"), to_int(n, "n"), to_int(k, "k"),
                               is_double ? static_cast<const void*>(&d_one) : &f_one, a, dt, to_int(lda, "lda"), b,
                               dt, to_int(ldb, "ldb"), is_double ? static_cast<const void*>(&d_zero) : &f_zero, c,
                               dt, to_int(ldc, "ldc"), compute, CUBLAS_GEMM_DEFAULT));
}

void check_pointwise(const ConvGeometry& g) {
  PN_CHECK(g.is_pointwise(), "1x1 conv (cuBLAS): not a 1x1, stride-1, unpadded convolution");
}

}  // namespace

void pointwise_conv_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g) {
  check_pointwise(g);
  const int64_t M = g.output_pixels();
  // y^T [K, M] = w [K, C] (column-major [C, K], transposed) * x^T [C, M].
  gemm(x.dtype(), CUBLAS_OP_T, CUBLAS_OP_N, g.K, M, g.C, w.raw_data(), g.C, x.raw_data(), g.C, y.raw_data(), g.K);
}

void pointwise_conv_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g) {
  check_pointwise(g);
  const int64_t M = g.output_pixels();
  // dx^T [C, M] = w^T [C, K] * dy^T [K, M].
  gemm(dy.dtype(), CUBLAS_OP_N, CUBLAS_OP_N, g.C, M, g.K, w.raw_data(), g.C, dy.raw_data(), g.K, dx.raw_data(), g.C);
}

void pointwise_conv_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g) {
  check_pointwise(g);
  const int64_t M = g.output_pixels();
  // dw^T [C, K] = x^T [C, M] * dy [M, K] (dy column-major is [K, M], transposed).
  gemm(x.dtype(), CUBLAS_OP_N, CUBLAS_OP_T, g.C, g.K, M, x.raw_data(), g.C, dy.raw_data(), g.K, dw.raw_data(), g.C);
}

}  // namespace posenet::kernels::cuda
