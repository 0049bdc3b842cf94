// The AVX-512 int8 GEMM body, shared by gemm_i8_avx512.cpp (AVX-512 BW: int16 widening and
// vpmaddwd) and gemm_i8_avx512_vnni.cpp (vpdpbusd). A Dot policy says how one 64-byte block of
// a panel (16 columns x 4 k) meets the 4 activation bytes of a row:
//   kParts   zmm accumulators per row and panel;  kMR  rows per tile
//   W        the block as loaded (raw or widened), load(block) -> W
//   A        a row's 4 bytes prepared, prep(word) -> A
//   dot(acc, a, w)  accumulates;  reduce(acc) -> 16 int32 lane sums, lane c = column c
// Tiles of up to kMR rows x 32 columns (two panels); epilogue as kernels/gemm_i8.h states, masked
// loads and stores for the last columns. Internal linkage: each file gets its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_i8.h"

namespace bertrt::kernels::avx512 {
namespace {

constexpr size_t kP = kI8Panel;
constexpr size_t kBlock = 4 * kP;  // bytes per 4-k block of a panel (one cache line)
constexpr size_t kAheadBlocks = 32;  // weights prefetched 2 KiB ahead, as in the f32 kernel

struct I8Tile {
  size_t k;
  const uint8_t* a;
  size_t lda;
  const float* a_scale;
  const int8_t* b0;  // first panel; the second is b0 + 16 K4
  const float* w_scale;
  const int32_t* colsum;
  const float* bias;  // null = none
  float* c;
  size_t ldc;
  size_t cols;  // columns of this tile to write, 1..32
};

inline __mmask16 i8_cols_mask(size_t cols) {
  return cols >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1u);
}

// a[p..p+3] as one little-endian word; in the last (kTail) block, bytes at or past k are 0.
template <bool kTail>
inline uint32_t i8_word(const uint8_t* a, size_t p, size_t k) {
  uint32_t w = 0;
  if constexpr (!kTail) {
    std::memcpy(&w, a + p, 4);
  } else {
    for (size_t t = 0; t < 4 && p + t < k; ++t) w |= static_cast<uint32_t>(a[p + t]) << (8 * t);
  }
  return w;
}

template <class D, int R, int NP, bool kTail>
__attribute__((always_inline)) inline void i8_step(__m512i (&acc)[R][NP][D::kParts], const I8Tile& t, size_t g,
                                                   size_t panel_stride) {
  typename D::W w[NP];
  w[0] = D::load(t.b0 + g * kBlock);
  if constexpr (NP == 2) w[1] = D::load(t.b0 + panel_stride + g * kBlock);
  for (int r = 0; r < R; ++r) {
    const typename D::A av = D::prep(i8_word<kTail>(t.a + r * t.lda, 4 * g, t.k));
    for (int q = 0; q < NP; ++q) D::dot(acc[r][q], av, w[q]);
  }
}

template <int R, int NP, class Reduce>
inline void i8_epilogue(const I8Tile& t, Reduce reduce) {
  for (int q = 0; q < NP; ++q) {
    const size_t c0 = static_cast<size_t>(q) * kP;
    const __mmask16 m = i8_cols_mask(t.cols - c0);
    const __m512i corr = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m, t.colsum + c0), 7);
    const __m512 ws = _mm512_maskz_loadu_ps(m, t.w_scale + c0);
    const __m512 bv = t.bias ? _mm512_maskz_loadu_ps(m, t.bias + c0) : _mm512_setzero_ps();
    for (int r = 0; r < R; ++r) {
      const __m512i isum = _mm512_sub_epi32(reduce(r, q), corr);
      const __m512 s = _mm512_mul_ps(_mm512_set1_ps(t.a_scale[r]), ws);
      _mm512_mask_storeu_ps(t.c + r * t.ldc + c0, m, _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s, bv));
    }
  }
}

template <class D, int R, int NP>
inline void i8_tile(const I8Tile& t) {
  const size_t panel_stride = kP * i8_k4(t.k), full = t.k / 4;
  __m512i acc[R][NP][D::kParts];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NP; ++q)
      for (int h = 0; h < D::kParts; ++h) acc[r][q][h] = _mm512_setzero_si512();
  for (size_t g = 0; g < full; ++g) {
    // One line per block; past the panel's end this touches the next panel or beyond the
    // mapping: prefetches never fault.
    _mm_prefetch(reinterpret_cast<const char*>(t.b0 + (g + kAheadBlocks) * kBlock), _MM_HINT_T0);
    if constexpr (NP == 2)
      _mm_prefetch(reinterpret_cast<const char*>(t.b0 + panel_stride + (g + kAheadBlocks) * kBlock), _MM_HINT_T0);
    i8_step<D, R, NP, false>(acc, t, g, panel_stride);
  }
  if (full * 4 < t.k) i8_step<D, R, NP, true>(acc, t, full, panel_stride);
  i8_epilogue<R, NP>(t, [&](int r, int q) { return D::reduce(acc[r][q]); });
}

// Rows [0, m) of one column block: full tiles, then one tile of the remaining rows.
template <class D, int NP, int R = D::kMR - 1>
inline void i8_rest(size_t rest, const I8Tile& t) {
  if constexpr (R >= 1) {
    if (rest == R) i8_tile<D, R, NP>(t);
    else i8_rest<D, NP, R - 1>(rest, t);
  }
}

template <class D, int NP>
inline void i8_rows(size_t m, I8Tile t) {
  size_t i = 0;
  for (; i + D::kMR <= m; i += D::kMR) {
    I8Tile ti = t;
    ti.a += i * t.lda;
    ti.a_scale += i;
    ti.c += i * t.ldc;
    i8_tile<D, D::kMR, NP>(ti);
  }
  t.a += i * t.lda;
  t.a_scale += i;
  t.c += i * t.ldc;
  i8_rest<D, NP>(m - i, t);
}

template <class D>
void i8_gemm(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale, const int8_t* bp,
             const float* w_scale, const int32_t* w_colsum, const float* bias, float* c, size_t ldc) {
  const size_t k4 = i8_k4(k);
  for (size_t j0 = 0; j0 < n; j0 += 2 * kP) {
    const size_t cols = n - j0 < 2 * kP ? n - j0 : 2 * kP;
    const I8Tile t{k, a, lda, a_scale, bp + (j0 / kP) * kP * k4, w_scale + j0, w_colsum + j0,
                   bias ? bias + j0 : nullptr, c + j0, ldc, cols};
    if (cols > kP) i8_rows<D, 2>(m, t);
    else i8_rows<D, 1>(m, t);
  }
}

}  // namespace
}  // namespace bertrt::kernels::avx512
