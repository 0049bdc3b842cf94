#include <cstring>

#include "kernels/kernels.h"

#ifdef BERTRT_HAVE_BLAS
#include <cblas.h>
#endif

namespace bertrt::kernels {

void sgemm_reference(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha, const float* a,
                     size_t lda, const float* b, size_t ldb, float beta, float* c, size_t ldc) {
  // i-k-j order so the inner loop runs along contiguous rows of B and C when B is not transposed.
  for (size_t i = 0; i < m; ++i) {
    float* crow = c + i * ldc;
    if (beta == 0.0f) {
      std::memset(crow, 0, n * sizeof(float));
    } else if (beta != 1.0f) {
      for (size_t j = 0; j < n; ++j) crow[j] *= beta;
    }
    if (!trans_b) {
      for (size_t p = 0; p < k; ++p) {
        const float av = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
        const float* brow = b + p * ldb;
        for (size_t j = 0; j < n; ++j) crow[j] += av * brow[j];
      }
    } else {
      for (size_t j = 0; j < n; ++j) {
        const float* bcol = b + j * ldb;
        float sum = 0.0f;
        for (size_t p = 0; p < k; ++p) sum += (trans_a ? a[p * lda + i] : a[i * lda + p]) * bcol[p];
        crow[j] += alpha * sum;
      }
    }
  }
}

void sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
           const float* b, size_t ldb, float beta, float* c, size_t ldc) {
  if (m == 0 || n == 0) return;
#ifdef BERTRT_HAVE_BLAS
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
#else
  sgemm_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

}  // namespace bertrt::kernels
