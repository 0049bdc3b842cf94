// AVX2 int8 GEMM (no VNNI) and the per-row u8 quantization.
// GEMM: each 64-byte block (16 columns x 4 k) widened to four ymm of int16 (vpmovsxbw, 4
// columns each), the row's 4 activation bytes zero-extended and repeated (vpmovzxbw), vpmaddwd
// sums the u8 x s8 products in pairs straight into int32 (cannot saturate: |2 * 255 * 128| <
// 2^31; vpmaddubsw is avoided because its int16 pair sums can). Each column owns two int32
// lanes, added at the end by vphaddd; tiles of up to 2 rows x 16 columns (8 accumulators).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_i8.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx2 {
namespace {

constexpr size_t P = kI8Panel;
constexpr size_t kBlock = 4 * P;
constexpr size_t kAheadBlocks = 32;
constexpr int MR = 2;

struct Tile {
  size_t k;
  const uint8_t* a;
  size_t lda;
  const float* a_scale;
  const int32_t* a_zero;
  const int8_t* b;  // the panel
  const float* w_scale;
  const int32_t* colsum;
  const float* bias;
  float* c;
  size_t ldc;
  size_t cols;  // 1..16
};

// a[p..p+3] as one little-endian word; in the last (kTail) block, bytes at or past k are 0.
template <bool kTail>
inline uint32_t word_at(const uint8_t* a, size_t p, size_t k) {
  uint32_t w = 0;
  if constexpr (!kTail) {
    std::memcpy(&w, a + p, 4);
  } else {
    for (size_t t = 0; t < 4 && p + t < k; ++t) w |= static_cast<uint32_t>(a[p + t]) << (8 * t);
  }
  return w;
}

inline __m256i lane_mask(size_t cols) {  // lanes [0, cols) set, cols in [0, 8]
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int R, bool kTail>
__attribute__((always_inline)) inline void step(__m256i (&acc)[R][4], const Tile& t, size_t g) {
  __m256i w[4];
  for (int h = 0; h < 4; ++h)
    w[h] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t.b + g * kBlock + 16 * h)));
  for (int r = 0; r < R; ++r) {
    const __m256i av = _mm256_cvtepu8_epi16(_mm_set1_epi32(static_cast<int>(word_at<kTail>(t.a + r * t.lda, 4 * g, t.k))));
    for (int h = 0; h < 4; ++h) acc[r][h] = _mm256_add_epi32(acc[r][h], _mm256_madd_epi16(w[h], av));
  }
}

// acc[h] lanes: (c0 c0 c1 c1 | c2 c2 c3 c3) for columns 4h..4h+3; returns columns 8 half..8 half+7.
inline __m256i reduce(const __m256i (&acc)[4], int half) {
  const __m256i s = _mm256_hadd_epi32(acc[2 * half], acc[2 * half + 1]);  // c0 c1 c4 c5 | c2 c3 c6 c7
  return _mm256_permute4x64_epi64(s, 0xD8);
}

template <int R>
inline void epilogue(const __m256i (&acc)[R][4], const Tile& t) {
  for (int half = 0; half < 2; ++half) {
    const size_t c0 = 8 * static_cast<size_t>(half);
    if (c0 >= t.cols) break;
    const size_t n = t.cols - c0 < 8 ? t.cols - c0 : 8;
    const __m256i m = lane_mask(n);
    const __m256i colsum = _mm256_maskload_epi32(t.colsum + c0, m);
    const __m256 ws = _mm256_maskload_ps(t.w_scale + c0, m);
    const __m256 bv = t.bias ? _mm256_maskload_ps(t.bias + c0, m) : _mm256_setzero_ps();
    for (int r = 0; r < R; ++r) {
      const __m256i corr = _mm256_mullo_epi32(_mm256_set1_epi32(t.a_zero[r]), colsum);
      const __m256i isum = _mm256_sub_epi32(reduce(acc[r], half), corr);
      const __m256 s = _mm256_mul_ps(_mm256_set1_ps(t.a_scale[r]), ws);
      const __m256 out = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), s, bv);
      if (n == 8) _mm256_storeu_ps(t.c + r * t.ldc + c0, out);
      else _mm256_maskstore_ps(t.c + r * t.ldc + c0, m, out);
    }
  }
}

template <int R>
inline void tile(const Tile& t) {
  const size_t full = t.k / 4;
  __m256i acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int h = 0; h < 4; ++h) acc[r][h] = _mm256_setzero_si256();
  for (size_t g = 0; g < full; ++g) {
    _mm_prefetch(reinterpret_cast<const char*>(t.b + (g + kAheadBlocks) * kBlock), _MM_HINT_T0);  // never faults
    step<R, false>(acc, t, g);
  }
  if (full * 4 < t.k) step<R, true>(acc, t, full);
  epilogue<R>(acc, t);
}

template <int R = MR - 1>
inline void rest(size_t n, const Tile& t) {
  if constexpr (R >= 1) {
    if (n == R) tile<R>(t);
    else rest<R - 1>(n, t);
  }
}

}  // namespace

void gemm_packed_i8(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                    const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                    const float* bias, float* c, size_t ldc) {
  const size_t k4 = i8_k4(k);
  for (size_t j0 = 0; j0 < n; j0 += P) {
    Tile t{k, a, lda, a_scale, a_zero, bp + (j0 / P) * P * k4, w_scale + j0, w_colsum + j0, bias ? bias + j0 : nullptr,
           c + j0, ldc, n - j0 < P ? n - j0 : P};
    size_t i = 0;
    for (; i + MR <= m; i += MR, t.a += MR * lda, t.a_scale += MR, t.a_zero += MR, t.c += MR * ldc) tile<MR>(t);
    rest(m - i, t);
  }
}

// Per row: min and max over 8 lanes (from 0), then q = x * inv rounded to nearest even
// (vcvtps2dq under the default MXCSR) + zero, clamped to [0, 255] by two unsigned saturating
// packs; the same values as the scalar twin.
void quantize_rows_u8(size_t m, size_t k, const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale,
                      int32_t* zero) {
  for (size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    uint8_t* qrow = q + i * ldq;
    __m256 vmin = _mm256_setzero_ps(), vmax = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + 8 <= k; p += 8) {
      const __m256 v = _mm256_loadu_ps(row + p);
      vmin = _mm256_min_ps(vmin, v);
      vmax = _mm256_max_ps(vmax, v);
    }
    __m128 lo4 = _mm_min_ps(_mm256_castps256_ps128(vmin), _mm256_extractf128_ps(vmin, 1));
    __m128 hi4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    lo4 = _mm_min_ps(lo4, _mm_movehl_ps(lo4, lo4));
    hi4 = _mm_max_ps(hi4, _mm_movehl_ps(hi4, hi4));
    float lo = _mm_cvtss_f32(_mm_min_ss(lo4, _mm_shuffle_ps(lo4, lo4, 1)));
    float hi = _mm_cvtss_f32(_mm_max_ss(hi4, _mm_shuffle_ps(hi4, hi4, 1)));
    for (size_t r = p; r < k; ++r) {
      lo = std::fmin(lo, row[r]);
      hi = std::fmax(hi, row[r]);
    }
    const float inv = quantize_row_factors(lo, hi, &scale[i], &zero[i]);
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i zp = _mm256_set1_epi32(zero[i]);
    for (p = 0; p + 8 <= k; p += 8) {
      const __m256i qi = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + p), vinv)), zp);
      const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(qrow + p), _mm_packus_epi16(w16, w16));
    }
    for (; p < k; ++p) qrow[p] = quantize_u8_one(row[p], inv, zero[i]);
  }
}

}  // namespace bertrt::kernels::avx2
