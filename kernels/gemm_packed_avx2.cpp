// AVX2+FMA packed GEMMs: tiles of up to 6 rows x 16 columns (one panel, two ymm per row),
// 12 ymm accumulators, weights prefetched ahead, bias added in the epilogue, masked stores for the
// last columns. One tile body for every weight type: a load functor reads 8 weights of a panel
// row as f32 (f16 through vcvtph2ps, F16C being part of this level; bf16 zero-extended and
// shifted into the high half).
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm_packed.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx2 {
namespace {

constexpr size_t P = kPackedPanel;
constexpr int MR = 6;
// As in the AVX-512 kernel: weights prefetched 2 KiB ahead (32 k steps of f32, 64 of f16).
constexpr size_t kPrefetchBytes = 2048;
constexpr size_t kLine = 64;

struct LoadF32 {
  using T = float;
  static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
};
struct LoadF16 {
  using T = uint16_t;
  static __m256 load(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
};
struct LoadBF16 {
  using T = uint16_t;
  static __m256 load(const uint16_t* p) {
    const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
  }
};

inline __m256i lane_mask(size_t cols) {  // lanes [0, cols) set, cols in [0, 8]
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), idx);
}

// acc[r][0..1] += a[r, p] * W[p, 0..15] for one k step p.
template <class L, int R>
__attribute__((always_inline)) inline void step(__m256 (&acc)[R][2], const float* a, size_t lda,
                                                const typename L::T* b, size_t p) {
  const __m256 w0 = L::load(b + p * P), w1 = L::load(b + p * P + 8);
  for (int r = 0; r < R; ++r) {
    const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
    acc[r][0] = _mm256_fmadd_ps(av, w0, acc[r][0]);
    acc[r][1] = _mm256_fmadd_ps(av, w1, acc[r][1]);
  }
}

template <int R>
inline void store(const __m256 (&acc)[R][2], const float* bias, float* c, size_t ldc, size_t cols) {
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

template <class L, int R>
inline void tile(size_t k, const float* a, size_t lda, const typename L::T* b, const float* bias, float* c,
                 size_t ldc, size_t cols) {
  using T = typename L::T;
  constexpr size_t kSteps = kLine / (P * sizeof(T));            // k steps per cache line of a panel
  constexpr size_t kAhead = kPrefetchBytes / (P * sizeof(T));  // k steps prefetched ahead
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  size_t p = 0;
#pragma GCC unroll 2
  for (; p + kSteps <= k; p += kSteps) {
    _mm_prefetch(reinterpret_cast<const char*>(b + (p + kAhead) * P), _MM_HINT_T0);  // one per line; never faults
    for (size_t s = 0; s < kSteps; ++s) step<L, R>(acc, a, lda, b, p + s);
  }
  for (; p < k; ++p) step<L, R>(acc, a, lda, b, p);
  store<R>(acc, bias, c, ldc, cols);
}

template <class L>
void gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const typename L::T* bp, const float* bias,
          float* c, size_t ldc) {
  for (size_t j0 = 0; j0 < n; j0 += P) {
    const typename L::T* b = bp + (j0 / P) * P * k;
    const size_t cols = n - j0 < P ? n - j0 : P;
    const float* bj = bias ? bias + j0 : nullptr;
    float* cj = c + j0;
    size_t i = 0;
    for (; i + MR <= m; i += MR) tile<L, MR>(k, a + i * lda, lda, b, bj, cj + i * ldc, ldc, cols);
    const float* ar = a + i * lda;
    float* cr = cj + i * ldc;
    switch (m - i) {
      case 0: break;
      case 1: tile<L, 1>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 2: tile<L, 2>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 3: tile<L, 3>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 4: tile<L, 4>(k, ar, lda, b, bj, cr, ldc, cols); break;
      default: tile<L, 5>(k, ar, lda, b, bj, cr, ldc, cols); break;
    }
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

}  // namespace bertrt::kernels::avx2
