// AVX-512 packed GEMM: tiles of up to 12 rows x 32 columns (two panels), 24 zmm accumulators,
// A broadcast from memory, weights prefetched ahead, bias added in the epilogue, masked stores for
// the last columns.
#include <immintrin.h>

#include "kernels/gemm_packed.h"

namespace bertrt::kernels {
namespace {

constexpr size_t P = kPackedPanel;
constexpr int MR = 12;
// Weight rows are prefetched this many k steps ahead (2 KiB per panel). In a forward the panels
// come from L3 or DRAM on the first row tile of a block, where the hardware streamer alone
// leaves the FMAs waiting; measured on bert-base and MiniLM forwards (docs/performance.md).
constexpr size_t kPrefetchSteps = 32;

inline __mmask16 cols_mask(size_t cols) {
  return cols >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1u);
}

template <int R, int NP>
inline void tile(size_t k, const float* a, size_t lda, const float* b0, const float* b1, const float* bias,
                 float* c, size_t ldc, size_t cols) {
  __m512 acc[R][NP];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (size_t p = 0; p < k; ++p) {
    // Past the panel's end this touches the next panel or beyond the mapping: prefetches never fault.
    _mm_prefetch(reinterpret_cast<const char*>(b0 + (p + kPrefetchSteps) * P), _MM_HINT_T0);
    if constexpr (NP == 2) _mm_prefetch(reinterpret_cast<const char*>(b1 + (p + kPrefetchSteps) * P), _MM_HINT_T0);
    const __m512 w0 = _mm512_load_ps(b0 + p * P);
    __m512 w1 = w0;
    if constexpr (NP == 2) w1 = _mm512_load_ps(b1 + p * P);
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + p]);
      acc[r][0] = _mm512_fmadd_ps(av, w0, acc[r][0]);
      if constexpr (NP == 2) acc[r][1] = _mm512_fmadd_ps(av, w1, acc[r][1]);
    }
  }
  const __mmask16 m0 = cols_mask(cols), m1 = cols > 16 ? cols_mask(cols - 16) : 0;
  __m512 bv0 = _mm512_setzero_ps(), bv1 = _mm512_setzero_ps();
  if (bias) {
    bv0 = _mm512_maskz_loadu_ps(m0, bias);
    if constexpr (NP == 2) bv1 = _mm512_maskz_loadu_ps(m1, bias + 16);
  }
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, _mm512_add_ps(acc[r][0], bv0));
    if constexpr (NP == 2) _mm512_mask_storeu_ps(c + r * ldc + 16, m1, _mm512_add_ps(acc[r][1], bv1));
  }
}

template <int NP>
inline void rows(size_t m, size_t k, const float* a, size_t lda, const float* b0, const float* b1, const float* bias,
                 float* c, size_t ldc, size_t cols) {
  size_t i = 0;
  for (; i + MR <= m; i += MR) tile<MR, NP>(k, a + i * lda, lda, b0, b1, bias, c + i * ldc, ldc, cols);
  const float* ar = a + i * lda;
  float* cr = c + i * ldc;
  switch (m - i) {
    case 0: break;
    case 1: tile<1, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 2: tile<2, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 3: tile<3, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 4: tile<4, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 5: tile<5, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 6: tile<6, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 7: tile<7, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 8: tile<8, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 9: tile<9, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 10: tile<10, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    default: tile<11, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
  }
}

}  // namespace

void gemm_packed_avx512(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp,
                        const float* bias, float* c, size_t ldc) {
  for (size_t j0 = 0; j0 < n; j0 += 2 * P) {
    const float* b0 = bp + (j0 / P) * P * k;
    const size_t cols = n - j0 < 2 * P ? n - j0 : 2 * P;
    const float* bj = bias ? bias + j0 : nullptr;
    if (cols > P)
      rows<2>(m, k, a, lda, b0, b0 + P * k, bj, c + j0, ldc, cols);
    else
      rows<1>(m, k, a, lda, b0, nullptr, bj, c + j0, ldc, cols);
  }
}

}  // namespace bertrt::kernels
