// The 256-bit vpdpbusd int8 GEMM body, written once over the dot instruction and compiled twice:
// gemm_i8_avx2_vnni.cpp with -mavxvnni (the VEX form, _mm256_dpbusd_avx_epi32: the AVX2 table's
// variant on CPUs with AVX-VNNI, Alder Lake and Zen 4 on) and gemm_i8_avx2_vnni_evex.cpp with
// -mavx512vnni -mavx512vl (the EVEX form, _mm256_dpbusd_epi32: the same tile logic, runnable on
// AVX-512 VNNI CPUs without AVX-VNNI, for the kernel tests and bench_gemm). A Dot policy
// provides dot(acc, a, w) = acc + the u8 x s8 products of a and w summed in fours per int32 lane.
//
// A panel's 64-byte block (16 columns x 4 k) is two ymm: columns 0..7 and 8..15. Tiles of up to
// 6 rows x 16 columns: 12 accumulators, 2 weight registers and one broadcast row word make 15 of
// the 16 ymm the VEX encoding can name; per 4-k step 2 weight loads and 6 broadcasts feed 12
// vpdpbusd. The rows and the two halves are unrolled at compile time (the accumulators stay in
// registers only when every index is a constant) and the partial last 4-k block runs before the
// loop (a conditional step after it made the AVX-512 twin copy its accumulators through the
// stack every step). Epilogue as kernels/gemm_i8.h states. Internal linkage: each file gets its
// own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_i8.h"

namespace bertrt::kernels::avx2 {
namespace {

constexpr size_t kVP = kI8Panel;
constexpr size_t kVBlock = 4 * kVP;      // bytes per 4-k block of a panel
constexpr size_t kVAheadBlocks = 32;     // weight prefetch distance, in blocks
constexpr int kVMR = 6;                  // rows of a full tile

struct VTile {
  size_t k;
  const uint8_t* a;
  size_t lda;
  const float* a_scale;
  const int32_t* a_zero;
  const int8_t* b;  // the panel
  const float* w_scale;
  const int32_t* colsum;
  const float* bias;  // null = none
  float* c;
  size_t ldc;
  size_t cols;  // 1..16
};

inline uint32_t v_word(const uint8_t* a) {
  uint32_t w;
  std::memcpy(&w, a, 4);
  return w;
}
// The first `bytes` (1..3) of a as a little-endian word, the rest 0 (never read past the row).
inline uint32_t v_word_tail(const uint8_t* a, size_t bytes) {
  uint32_t w = 0;
  for (size_t t = 0; t < bytes; ++t) w |= static_cast<uint32_t>(a[t]) << (8 * t);
  return w;
}

inline __m256i v_lane_mask(size_t cols) {  // lanes [0, cols) set, cols in [0, 8]
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// One 4-k block of the panel at b against rows' words word(r).
template <class D, int R, class Word>
__attribute__((always_inline)) inline void v_step(__m256i (&acc)[R][2], const int8_t* b, Word word) {
  const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
  const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32));
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m256i av = _mm256_set1_epi32(static_cast<int>(word(r)));
    acc[r][0] = D::dot(acc[r][0], av, w0);
    acc[r][1] = D::dot(acc[r][1], av, w1);
  }
}

template <int R>
__attribute__((always_inline)) inline void v_epilogue(const VTile& t, const __m256i (&acc)[R][2]) {
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const size_t c0 = 8 * static_cast<size_t>(h);
    if (c0 >= t.cols) break;
    const size_t n = t.cols - c0 < 8 ? t.cols - c0 : 8;
    const __m256i m = v_lane_mask(n);
    const __m256i colsum = _mm256_maskload_epi32(t.colsum + c0, m);
    const __m256 ws = _mm256_maskload_ps(t.w_scale + c0, m);
    const __m256 bv = t.bias ? _mm256_maskload_ps(t.bias + c0, m) : _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i corr = _mm256_mullo_epi32(_mm256_set1_epi32(t.a_zero[r]), colsum);
      const __m256i isum = _mm256_sub_epi32(acc[r][h], corr);
      const __m256 s = _mm256_mul_ps(_mm256_set1_ps(t.a_scale[r]), ws);
      const __m256 out = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), s, bv);
      if (n == 8) _mm256_storeu_ps(t.c + r * t.ldc + c0, out);
      else _mm256_maskstore_ps(t.c + r * t.ldc + c0, m, out);
    }
  }
}

template <class D, int R>
__attribute__((noinline)) void v_tile(const VTile& t) {
  const size_t full = t.k / 4, lda = t.lda;
  __m256i acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  // The partial last block first (integer sums do not depend on the order); past k the packed
  // weights are zero and the missing activation bytes 0.
  if (const size_t rest = t.k - 4 * full; rest != 0) {
    const uint8_t* a = t.a + 4 * full;
    v_step<D, R>(acc, t.b + full * kVBlock,
                 [&](int r) { return v_word_tail(a + static_cast<size_t>(r) * lda, rest); });
  }
  const int8_t* b = t.b;
  const uint8_t* a = t.a;
  for (size_t g = 0; g < full; ++g, b += kVBlock, a += 4) {
    _mm_prefetch(reinterpret_cast<const char*>(b + kVAheadBlocks * kVBlock), _MM_HINT_T0);  // never faults
    v_step<D, R>(acc, b, [&](int r) { return v_word(a + static_cast<size_t>(r) * lda); });
  }
  v_epilogue<R>(t, acc);
}

template <class D, int R = kVMR - 1>
inline void v_rest(size_t rest, const VTile& t) {
  if constexpr (R >= 1) {
    if (rest == R) v_tile<D, R>(t);
    else v_rest<D, R - 1>(rest, t);
  }
}

// Panel by panel; in each, full tiles of kVMR rows, then one of the remaining rows (a rest of
// one or two rows after a full tile is merged with it and split in two, as the AVX-512 body does).
template <class D>
void v_gemm(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale, const int32_t* a_zero,
            const int8_t* bp, const float* w_scale, const int32_t* w_colsum, const float* bias, float* c, size_t ldc) {
  const size_t k4 = i8_k4(k);
  for (size_t j0 = 0; j0 < n; j0 += kVP) {
    const VTile panel{k, a, lda, a_scale, a_zero, bp + (j0 / kVP) * kVP * k4, w_scale + j0, w_colsum + j0,
                      bias ? bias + j0 : nullptr, c + j0, ldc, n - j0 < kVP ? n - j0 : kVP};
    for (size_t i = 0; i < m;) {
      VTile t = panel;
      t.a += i * lda;
      t.a_scale += i;
      t.a_zero += i;
      t.c += i * ldc;
      const size_t left = m - i;
      size_t rows = left < kVMR ? left : kVMR;
      if (left > kVMR && left <= kVMR + 2) rows = (left + 1) / 2;
      if (rows == kVMR) v_tile<D, kVMR>(t);
      else v_rest<D>(rows, t);
      i += rows;
    }
  }
}

}  // namespace
}  // namespace bertrt::kernels::avx2
