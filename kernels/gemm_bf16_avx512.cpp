// AVX-512F bf16x2 GEMM for CPUs without AVX512_BF16, and the f32 -> bf16 row conversion.
// GEMM: each 64-byte block (16 columns x one k pair) widened to two zmm of f32 (the even k by a
// 16-bit left shift, the odd k by masking the low half), the row's pair likewise, then two FMAs
// per accumulator in the scalar twin's order (odd k first): bit-identical to it. The tile's rows
// are widened to f32 once per chunk of pairs (impl_gemm_bf16_avx512.h, kWidenRows), so each FMA
// takes its activation as a broadcast load. Tiles of up to 8 rows x 32 columns (16 accumulators,
// 4 widened weight vectors).
#include "kernels/impl_gemm_bf16_avx512.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx512 {
namespace {

struct DotWiden {
  static constexpr int kMR = 12;
  static constexpr int kNP = 2;
  static constexpr bool kWidenRows = true;
  struct W {
    __m512 even, odd;
  };
  using A = W;
  static W load(const uint16_t* p) {
    const __m512i v = _mm512_loadu_si512(p);
    return {_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)),
            _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(static_cast<int>(0xffff0000u))))};
  }
  static A prep(uint32_t word) {
    return {_mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(word << 16))),
            _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(word & 0xffff0000u)))};
  }
  static __m512 dot(__m512 acc, const A& a, const W& w) {
    return _mm512_fmadd_ps(a.even, w.even, _mm512_fmadd_ps(a.odd, w.odd, acc));
  }
  static __m512 dot_f32(__m512 acc, float even, float odd, const W& w) {
    return _mm512_fmadd_ps(_mm512_set1_ps(even), w.even, _mm512_fmadd_ps(_mm512_set1_ps(odd), w.odd, acc));
  }
};

// The same arithmetic through the per-pair k loop of the vdpbf16ps tiles (gemm_packed_bf16x2_pairs).
struct DotWidenPairs : DotWiden {
  static constexpr int kMR = 6;
  static constexpr bool kWidenRows = false;
};

// 16 f32 -> 16 bf16 as 32-bit lanes (kernels/gemm_bf16.h: f32_to_bf16_rne).
inline __m512i to_bf16_lanes(__m512i u) {
  const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 tiny = _mm512_cmplt_epi32_mask(abs, _mm512_set1_epi32(0x00800000));
  r = _mm512_mask_mov_epi32(r, tiny, _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000)));
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(abs, _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
}

}  // namespace

void gemm_packed_bf16x2(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                        const float* bias, float* c, size_t ldc) {
  bf16_gemm<DotWiden>(m, n, k, a, lda, bp, bias, c, ldc);
}

void gemm_packed_bf16x2_pairs(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                              const float* bias, float* c, size_t ldc) {
  bf16_gemm<DotWidenPairs>(m, n, k, a, lda, bp, bias, c, ldc);
}

void convert_rows_bf16(size_t m, size_t k, const float* x, size_t ldx, uint16_t* out, size_t ldo) {
  for (size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    uint16_t* o = out + i * ldo;
    size_t p = 0;
    for (; p + 16 <= k; p += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + p),
                          _mm512_cvtepi32_epi16(to_bf16_lanes(_mm512_loadu_si512(row + p))));
    if (p < k) {
      const __mmask16 mk = bf16_cols_mask(k - p);
      _mm256_mask_storeu_epi16(o + p, mk, _mm512_cvtepi32_epi16(to_bf16_lanes(_mm512_maskz_loadu_epi32(mk, row + p))));
    }
    if (k % 2 != 0) o[k] = 0;
  }
}

}  // namespace bertrt::kernels::avx512
