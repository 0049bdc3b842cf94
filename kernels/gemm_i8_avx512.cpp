// AVX-512 BW int8 GEMM (CPUs without VNNI) and the per-row u8 quantization.
// GEMM: each 64-byte block (16 columns x 4 k) widened to two zmm of int16 (vpmovsxbw), the
// row's 4 activation bytes zero-extended and repeated (vpmovzxbw), vpmaddwd sums the u8 x s8
// products in pairs straight into int32 (cannot saturate: |2 * 255 * 128| < 2^31), so each
// column owns two int32 lanes, added at the end by two vpermt2d; tiles of up to 4 rows x 32
// columns (16 accumulators; at 6 rows the 24 accumulators, 4 widened blocks and the products
// no longer fit the 32 zmm and the k loop spills).
#include "kernels/impl_gemm_i8_avx512.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx512 {
namespace {

struct DotBw {
  static constexpr int kParts = 2;
  static constexpr int kMR = 4;
  static constexpr int kNP = 2;
  struct W {
    __m512i lo, hi;  // columns 0..7 and 8..15, 4 k each, int16
  };
  using A = __m512i;
  static W load(const int8_t* p) {
    return {_mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))),
            _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)))};
  }
  static A prep(uint32_t word) { return _mm512_cvtepu8_epi16(_mm256_set1_epi32(static_cast<int>(word))); }
  static void dot(__m512i (&acc)[2], A a, const W& w) {
    acc[0] = _mm512_add_epi32(acc[0], _mm512_madd_epi16(w.lo, a));
    acc[1] = _mm512_add_epi32(acc[1], _mm512_madd_epi16(w.hi, a));
  }
  // Lanes (2c, 2c + 1) of acc[0] hold column c's two halves (c < 8), of acc[1] column 8 + c.
  static __m512i reduce(const __m512i (&acc)[2]) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    return _mm512_add_epi32(_mm512_permutex2var_epi32(acc[0], even, acc[1]),
                            _mm512_permutex2var_epi32(acc[0], odd, acc[1]));
  }
};

}  // namespace

void gemm_packed_i8(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                    const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                    const float* bias, float* c, size_t ldc) {
  i8_gemm<DotBw>(m, n, k, a, lda, a_scale, a_zero, bp, w_scale, w_colsum, bias, c, ldc);
}

// Per row: min and max over 16 lanes (from 0), then q = x * inv rounded to nearest even
// (vcvtps2dq under the default MXCSR) + zero, clamped to [0, 255] and narrowed by vpmovdb; the
// same values as the scalar twin.
void quantize_rows_u8(size_t m, size_t k, const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale,
                      int32_t* zero) {
  const __m512i lo_q = _mm512_setzero_si512(), hi_q = _mm512_set1_epi32(255);
  for (size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    uint8_t* qrow = q + i * ldq;
    __m512 vmin = _mm512_setzero_ps(), vmax = _mm512_setzero_ps();
    size_t p = 0;
    for (; p + 16 <= k; p += 16) {
      const __m512 v = _mm512_loadu_ps(row + p);
      vmin = _mm512_min_ps(vmin, v);
      vmax = _mm512_max_ps(vmax, v);
    }
    if (p < k) {  // masked-off lanes load 0, which the range holds anyway
      const __m512 v = _mm512_maskz_loadu_ps(i8_cols_mask(k - p), row + p);
      vmin = _mm512_min_ps(vmin, v);
      vmax = _mm512_max_ps(vmax, v);
    }
    const float inv =
        quantize_row_factors(_mm512_reduce_min_ps(vmin), _mm512_reduce_max_ps(vmax), &scale[i], &zero[i]);
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i zp = _mm512_set1_epi32(zero[i]);
    for (p = 0; p + 16 <= k; p += 16) {
      const __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(row + p), vinv)), zp);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qrow + p),
                       _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(v, lo_q), hi_q)));
    }
    for (; p < k; ++p) qrow[p] = quantize_u8_one(row[p], inv, zero[i]);
  }
}

}  // namespace bertrt::kernels::avx512
