#include "kernels/cpu/blas.h"

#include <cblas.h>

#include <limits>

#include "core/error.h"

namespace posenet::kernels::cpu {

namespace {
// OpenBLAS takes 32-bit dimensions in its default (LP64) build.
blasint blas_dim(int64_t v, const char* what) {
  PN_CHECK(v >= 0 && v <= std::numeric_limits<blasint>::max(), "gemm: ", what, " = ", v,
           " does not fit the BLAS integer type");
  return blasint(v);
}
CBLAS_TRANSPOSE op(bool trans) { return trans ? CblasTrans : CblasNoTrans; }
}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, op(trans_a), op(trans_b), blas_dim(m, "m"), blas_dim(n, "n"), blas_dim(k, "k"), alpha,
              a, blas_dim(lda, "lda"), b, blas_dim(ldb, "ldb"), beta, c, blas_dim(ldc, "ldc"));
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, op(trans_a), op(trans_b), blas_dim(m, "m"), blas_dim(n, "n"), blas_dim(k, "k"), alpha,
              a, blas_dim(lda, "lda"), b, blas_dim(ldb, "ldb"), beta, c, blas_dim(ldc, "ldc"));
}

}  // namespace posenet::kernels::cpu
