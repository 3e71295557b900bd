// Row-major GEMM on the host through OpenBLAS, for float and double:
// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n].
// Call it from outside OpenMP parallel regions: OpenBLAS runs its own threads.
#pragma once
#include <cstdint>

namespace posenet::kernels::cpu {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace posenet::kernels::cpu
