// AVX2+FMA packed GEMM: tiles of up to 6 rows x 16 columns (one panel, two ymm per row),
// 12 ymm accumulators, weights prefetched ahead, bias added in the epilogue, masked stores for the
// last columns.
#include <immintrin.h>

#include "kernels/gemm_packed.h"

namespace bertrt::kernels {
namespace {

constexpr size_t P = kPackedPanel;
constexpr int MR = 6;
// As in the AVX-512 kernel: weight rows prefetched 32 k steps (2 KiB) ahead.
constexpr size_t kPrefetchSteps = 32;

inline __m256i lane_mask(size_t cols) {  // lanes [0, cols) set, cols in [0, 8]
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), idx);
}

template <int R>
inline void tile(size_t k, const float* a, size_t lda, const float* b, const float* bias, float* c, size_t ldc,
                 size_t cols) {
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (size_t p = 0; p < k; ++p) {
    _mm_prefetch(reinterpret_cast<const char*>(b + (p + kPrefetchSteps) * P), _MM_HINT_T0);  // never faults
    const __m256 w0 = _mm256_load_ps(b + p * P), w1 = _mm256_load_ps(b + p * P + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
      acc[r][0] = _mm256_fmadd_ps(av, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, w1, acc[r][1]);
    }
  }
  if (cols >= P) {
    const __m256 bv0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bv1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    for (int r = 0; r < R; ++r) {
      _mm256_storeu_ps(c + r * ldc, _mm256_add_ps(acc[r][0], bv0));
      _mm256_storeu_ps(c + r * ldc + 8, _mm256_add_ps(acc[r][1], bv1));
    }
    return;
  }
  const __m256i m0 = lane_mask(cols < 8 ? cols : 8), m1 = lane_mask(cols > 8 ? cols - 8 : 0);
  const __m256 bv0 = bias ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps();
  const __m256 bv1 = bias ? _mm256_maskload_ps(bias + 8, m1) : _mm256_setzero_ps();
  for (int r = 0; r < R; ++r) {
    _mm256_maskstore_ps(c + r * ldc, m0, _mm256_add_ps(acc[r][0], bv0));
    _mm256_maskstore_ps(c + r * ldc + 8, m1, _mm256_add_ps(acc[r][1], bv1));
  }
}

}  // namespace

void gemm_packed_avx2(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp, const float* bias,
                      float* c, size_t ldc) {
  for (size_t j0 = 0; j0 < n; j0 += P) {
    const float* b = bp + (j0 / P) * P * k;
    const size_t cols = n - j0 < P ? n - j0 : P;
    const float* bj = bias ? bias + j0 : nullptr;
    float* cj = c + j0;
    size_t i = 0;
    for (; i + MR <= m; i += MR) tile<MR>(k, a + i * lda, lda, b, bj, cj + i * ldc, ldc, cols);
    const float* ar = a + i * lda;
    float* cr = cj + i * ldc;
    switch (m - i) {
      case 0: break;
      case 1: tile<1>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 2: tile<2>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 3: tile<3>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 4: tile<4>(k, ar, lda, b, bj, cr, ldc, cols); break;
      default: tile<5>(k, ar, lda, b, bj, cr, ldc, cols); break;
    }
  }
}

}  // namespace bertrt::kernels
