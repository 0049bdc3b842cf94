// AVX2 bf16x2 GEMM and the f32 -> bf16 row conversion.
// GEMM: each 64-byte block (16 columns x one k pair) as two ymm halves of 8 columns, widened to
// f32 (the even k by a 16-bit left shift, the odd k by masking the low half), the row's pair
// widened beforehand (per chunk of pairs) and broadcast from memory, then two FMAs per
// accumulator in the scalar twin's order (odd k first): bit-identical to it. Tiles of up to 4
// rows x 16 columns (8 accumulators, 4 widened weight vectors, 2 broadcasts: 14 of the 16 ymm).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_bf16.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx2 {
namespace {

constexpr size_t P = kBf16Panel;
constexpr int MR = 4;

struct Tile {
  size_t pairs;
  const uint16_t* a;
  size_t lda;
  const uint16_t* b;  // the panel
  const float* bias;
  float* c;
  size_t ldc;
  size_t cols;  // 1..16
};

inline __m256i lane_mask(size_t cols) {  // lanes [0, cols) set, cols in [0, 8]
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline __m256 even_of(__m256i v) { return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)); }
inline __m256 odd_of(__m256i v) {
  return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}

// Pairs per chunk of the widened rows (R x 1 KiB of stack per tile).
constexpr size_t kChunk = 128;

// count (even, <= 2 kChunk) bf16 values -> f32 (exact: the bf16 bits are the f32's high half).
inline void widen(const uint16_t* src, size_t count, float* dst) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    _mm256_store_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
  }
  for (; i < count; ++i) {
    const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
    std::memcpy(dst + i, &bits, 4);
  }
}

// The tile's rows are widened to f32 a chunk of pairs at a time, so that each row's pair reaches
// the FMAs as two broadcast loads (no ALU work per row and pair).
template <int R>
__attribute__((noinline)) void tile(const Tile& t) {
  __m256 acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  alignas(32) float rows[R][2 * kChunk];
  const uint16_t* b = t.b;
  for (size_t g0 = 0; g0 < t.pairs; g0 += kChunk) {
    const size_t n = t.pairs - g0 < kChunk ? t.pairs - g0 : kChunk;
    for (int r = 0; r < R; ++r) widen(t.a + static_cast<size_t>(r) * t.lda + 2 * g0, 2 * n, rows[r]);
    for (size_t g = 0; g < n; ++g, b += 2 * P) {
      // The panel's line 2 KiB ahead (a step reads one 64-byte line), as the f32 panel kernels do.
      _mm_prefetch(reinterpret_cast<const char*>(b) + 2048, _MM_HINT_T0);
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
      const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + P));
      const __m256 we[2] = {even_of(lo), even_of(hi)}, wo[2] = {odd_of(lo), odd_of(hi)};
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256 ae = _mm256_broadcast_ss(&rows[r][2 * g]);
        const __m256 ao = _mm256_broadcast_ss(&rows[r][2 * g + 1]);
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) acc[r][h] = _mm256_fmadd_ps(ae, we[h], _mm256_fmadd_ps(ao, wo[h], acc[r][h]));
      }
    }
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const size_t c0 = 8 * static_cast<size_t>(h);
    if (c0 >= t.cols) break;
    const size_t n = t.cols - c0 < 8 ? t.cols - c0 : 8;
    const __m256i m = lane_mask(n);
    const __m256 bv = t.bias ? _mm256_maskload_ps(t.bias + c0, m) : _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 out = _mm256_add_ps(acc[r][h], bv);
      if (n == 8) _mm256_storeu_ps(t.c + r * t.ldc + c0, out);
      else _mm256_maskstore_ps(t.c + r * t.ldc + c0, m, out);
    }
  }
}

template <int R = MR - 1>
inline void rest(size_t n, const Tile& t) {
  if constexpr (R >= 1) {
    if (n == R) tile<R>(t);
    else rest<R - 1>(n, t);
  }
}

// 8 f32 -> 8 bf16 as 32-bit lanes (kernels/gemm_bf16.h: f32_to_bf16_rne).
inline __m256i to_bf16_lanes(__m256i u) {
  const __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
  const __m256i hi = _mm256_srli_epi32(u, 16);
  const __m256i lsb = _mm256_and_si256(hi, _mm256_set1_epi32(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
  const __m256i tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), abs);
  const __m256i nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000));
  const __m256i zero = _mm256_and_si256(hi, _mm256_set1_epi32(0x8000));
  const __m256i quiet = _mm256_or_si256(hi, _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(_mm256_blendv_epi8(r, zero, tiny), quiet, nan);
}

}  // namespace

void gemm_packed_bf16x2(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                        const float* bias, float* c, size_t ldc) {
  const size_t k2 = bf16_k2(k);
  for (size_t j0 = 0; j0 < n; j0 += P) {
    Tile t{k2 / 2, a, lda, bp + (j0 / P) * P * k2, bias ? bias + j0 : nullptr, c + j0, ldc, n - j0 < P ? n - j0 : P};
    size_t i = 0;
    for (; i + MR <= m; i += MR, t.a += MR * lda, t.c += MR * ldc) tile<MR>(t);
    rest(m - i, t);
  }
}

void convert_rows_bf16(size_t m, size_t k, const float* x, size_t ldx, uint16_t* out, size_t ldo) {
  for (size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    uint16_t* o = out + i * ldo;
    size_t p = 0;
    for (; p + 8 <= k; p += 8) {
      const __m256i v = to_bf16_lanes(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + p)));
      const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + p), packed);
    }
    for (; p < k; ++p) o[p] = f32_to_bf16_rne(row[p]);
    if (k % 2 != 0) o[k] = 0;
  }
}

}  // namespace bertrt::kernels::avx2
