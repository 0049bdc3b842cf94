// AVX-512 packed GEMMs: tiles of up to 12 rows x 32 columns (two panels), 24 zmm accumulators,
// A broadcast from memory, weights prefetched ahead, bias added in the epilogue, masked stores for
// the last columns. One tile body for every weight type: a load functor reads 16 weights of a
// panel row as f32 (f16 through vcvtph2ps, bf16 zero-extended and shifted into the high half).
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm_packed.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx512 {
namespace {

constexpr size_t P = kPackedPanel;
constexpr int MR = 12;
// Weights are prefetched this many bytes ahead in each panel (32 k steps of f32, 64 of f16). In
// a forward the panels come from L3 or DRAM on the first row tile of a block, where the hardware
// streamer alone leaves the FMAs waiting; measured on bert-base and MiniLM forwards
// (docs/performance.md).
constexpr size_t kPrefetchBytes = 2048;
constexpr size_t kLine = 64;

struct LoadF32 {
  using T = float;
  static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
};
struct LoadF16 {
  using T = uint16_t;
  static __m512 load(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
};
struct LoadBF16 {
  using T = uint16_t;
  static __m512 load(const uint16_t* p) {
    const __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  }
};

inline __mmask16 cols_mask(size_t cols) {
  return cols >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1u);
}

// acc[r][q] += a[r, p] * W[p, panel q] for one k step p.
template <class L, int R, int NP>
__attribute__((always_inline)) inline void step(__m512 (&acc)[R][NP], const float* a, size_t lda,
                                                const typename L::T* b0, const typename L::T* b1, size_t p) {
  const __m512 w0 = L::load(b0 + p * P);
  __m512 w1 = w0;
  if constexpr (NP == 2) w1 = L::load(b1 + p * P);
  for (int r = 0; r < R; ++r) {
    const __m512 av = _mm512_set1_ps(a[r * lda + p]);
    acc[r][0] = _mm512_fmadd_ps(av, w0, acc[r][0]);
    if constexpr (NP == 2) acc[r][1] = _mm512_fmadd_ps(av, w1, acc[r][1]);
  }
}

template <class L, int R, int NP>
inline void tile(size_t k, const float* a, size_t lda, const typename L::T* b0, const typename L::T* b1,
                 const float* bias, float* c, size_t ldc, size_t cols) {
  using T = typename L::T;
  constexpr size_t kSteps = kLine / (P * sizeof(T));            // k steps per cache line of a panel
  constexpr size_t kAhead = kPrefetchBytes / (P * sizeof(T));  // k steps prefetched ahead
  __m512 acc[R][NP];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_setzero_ps();
  size_t p = 0;
#pragma GCC unroll 2
  for (; p + kSteps <= k; p += kSteps) {
    // One prefetch per line. Past the panel's end this touches the next panel or beyond the
    // mapping: prefetches never fault.
    _mm_prefetch(reinterpret_cast<const char*>(b0 + (p + kAhead) * P), _MM_HINT_T0);
    if constexpr (NP == 2) _mm_prefetch(reinterpret_cast<const char*>(b1 + (p + kAhead) * P), _MM_HINT_T0);
    for (size_t s = 0; s < kSteps; ++s) step<L, R, NP>(acc, a, lda, b0, b1, p + s);
  }
  for (; p < k; ++p) step<L, R, NP>(acc, a, lda, b0, b1, p);
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

template <class L, int NP>
inline void rows(size_t m, size_t k, const float* a, size_t lda, const typename L::T* b0, const typename L::T* b1,
                 const float* bias, float* c, size_t ldc, size_t cols) {
  size_t i = 0;
  for (; i + MR <= m; i += MR) tile<L, MR, NP>(k, a + i * lda, lda, b0, b1, bias, c + i * ldc, ldc, cols);
  const float* ar = a + i * lda;
  float* cr = c + i * ldc;
  switch (m - i) {
    case 0: break;
    case 1: tile<L, 1, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 2: tile<L, 2, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 3: tile<L, 3, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 4: tile<L, 4, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 5: tile<L, 5, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 6: tile<L, 6, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 7: tile<L, 7, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 8: tile<L, 8, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 9: tile<L, 9, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    case 10: tile<L, 10, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
    default: tile<L, 11, NP>(k, ar, lda, b0, b1, bias, cr, ldc, cols); break;
  }
}

template <class L>
void gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const typename L::T* bp, const float* bias,
          float* c, size_t ldc) {
  for (size_t j0 = 0; j0 < n; j0 += 2 * P) {
    const typename L::T* b0 = bp + (j0 / P) * P * k;
    const size_t cols = n - j0 < 2 * P ? n - j0 : 2 * P;
    const float* bj = bias ? bias + j0 : nullptr;
    if (cols > P)
      rows<L, 2>(m, k, a, lda, b0, b0 + P * k, bj, c + j0, ldc, cols);
    else
      rows<L, 1>(m, k, a, lda, b0, nullptr, bj, c + j0, ldc, cols);
  }
}

}  // namespace

void gemm_packed_f32(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp, const float* bias,
                     float* c, size_t ldc) {
  gemm<LoadF32>(m, n, k, a, lda, bp, bias, c, ldc);
}

void gemm_packed_f16(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp, const float* bias,
                     float* c, size_t ldc) {
  gemm<LoadF16>(m, n, k, a, lda, bp, bias, c, ldc);
}

void gemm_packed_bf16(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp,
                      const float* bias, float* c, size_t ldc) {
  gemm<LoadBF16>(m, n, k, a, lda, bp, bias, c, ldc);
}

}  // namespace bertrt::kernels::avx512
