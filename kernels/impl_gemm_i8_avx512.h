// The AVX-512 int8 GEMM body, shared by gemm_i8_avx512.cpp (AVX-512 BW: int16 widening and
// vpmaddwd) and gemm_i8_avx512_vnni.cpp (vpdpbusd). A Dot policy says how one 64-byte block of
// a panel (16 columns x 4 k) meets the 4 activation bytes of a row:
//   kParts   zmm accumulators per row and panel;  kMR x kNP  rows x panels of a full tile
//   W        the block as loaded (raw or widened), load(block) -> W
//   A        a row's 4 bytes prepared, prep(word) -> A
//   dot(acc, a, w)  accumulates;  reduce(acc) -> 16 int32 lane sums, lane c = column c
// Column blocks of kNP panels (16 kNP columns) outside, row tiles of kMR rows inside, so that a
// block's panels stay in cache while every row tile streams through them; the last block and
// the last tile are narrower (fewer panels, fewer rows, masked loads and stores for the last
// columns). Every loop over rows and panels is unrolled at compile time, so the accumulators
// live in registers for the whole k loop (the code generator keeps an array of vectors in
// registers only when every index is a constant). Each tile prefetches its output lines when it
// starts, so that the epilogue's stores do not wait for the lines to arrive (an M x N output
// larger than L2 otherwise costs up to a fifth of the time), and a slice of the next column
// block's weights (i8_prefetch_slice); the activations are left to the hardware prefetchers.
// Epilogue as kernels/gemm_i8.h states. Internal linkage: each file gets its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_i8.h"

namespace bertrt::kernels::avx512 {
namespace {

constexpr size_t kP = kI8Panel;
constexpr size_t kBlock = 4 * kP;  // bytes per 4-k block of a panel (one cache line)

struct I8Tile {
  size_t k;
  const uint8_t* a;
  size_t lda;
  const float* a_scale;
  const int32_t* a_zero;
  const int8_t* b0;  // first panel; panel q starts at b0 + q * 16 K4
  const float* w_scale;
  const int32_t* colsum;
  const float* bias;  // null = none
  float* c;
  size_t ldc;
  size_t cols;  // columns of this tile to write, 1..16 NP
  const int8_t* pf;  // step g of the k loop prefetches pf + g * pf_step into L2
  size_t pf_step;
};

inline __mmask16 i8_cols_mask(size_t cols) {
  return cols >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1u);
}

inline uint32_t i8_word(const uint8_t* a) {
  uint32_t w;
  std::memcpy(&w, a, 4);
  return w;
}
// The first `bytes` (1..3) of a as a little-endian word, the rest 0 (never read past the row).
inline uint32_t i8_word_tail(const uint8_t* a, size_t bytes) {
  uint32_t w = 0;
  for (size_t t = 0; t < bytes; ++t) w |= static_cast<uint32_t>(a[t]) << (8 * t);
  return w;
}

// One 4-k block: rows' words from word(r), panels' blocks at b + q * ps.
template <class D, int R, int NP, class Word>
__attribute__((always_inline)) inline void i8_step(__m512i (&acc)[R][NP][D::kParts], const int8_t* b, size_t ps,
                                                   Word word) {
  typename D::W w[NP];
#pragma GCC unroll 8
  for (int q = 0; q < NP; ++q) w[q] = D::load(b + static_cast<size_t>(q) * ps);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const typename D::A av = D::prep(word(r));
#pragma GCC unroll 8
    for (int q = 0; q < NP; ++q) D::dot(acc[r][q], av, w[q]);
  }
}

template <class D, int R, int NP>
__attribute__((always_inline)) inline void i8_epilogue(const I8Tile& t, const __m512i (&acc)[R][NP][D::kParts]) {
#pragma GCC unroll 8
  for (int q = 0; q < NP; ++q) {
    const size_t c0 = static_cast<size_t>(q) * kP;
    const __mmask16 m = i8_cols_mask(t.cols - c0);
    const __m512i colsum = _mm512_maskz_loadu_epi32(m, t.colsum + c0);
    const __m512 ws = _mm512_maskz_loadu_ps(m, t.w_scale + c0);
    const __m512 bv = t.bias ? _mm512_maskz_loadu_ps(m, t.bias + c0) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512i corr = _mm512_mullo_epi32(_mm512_set1_epi32(t.a_zero[r]), colsum);
      const __m512i isum = _mm512_sub_epi32(D::reduce(acc[r][q]), corr);
      const __m512 s = _mm512_mul_ps(_mm512_set1_ps(t.a_scale[r]), ws);
      _mm512_mask_storeu_ps(t.c + r * t.ldc + c0, m, _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s, bv));
    }
  }
}

template <class D, int R, int NP>
__attribute__((noinline)) void i8_tile(const I8Tile& t) {
  const size_t ps = kP * i8_k4(t.k), full = t.k / 4, lda = t.lda;
  __m512i acc[R][NP][D::kParts];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < NP; ++q)
#pragma GCC unroll 2
      for (int h = 0; h < D::kParts; ++h) acc[r][q][h] = _mm512_setzero_si512();
  // The last, partial 4-k block first (integer sums do not depend on the order): a conditional
  // step after the loop would make the code generator copy the accumulators through the stack
  // on every iteration. Past k the packed weights are zero; the missing activation bytes are 0.
  if (const size_t rest = t.k - 4 * full; rest != 0) {
    const uint8_t* a = t.a + 4 * full;
    i8_step<D, R, NP>(acc, t.b0 + full * kBlock, ps,
                      [&](int r) { return i8_word_tail(a + static_cast<size_t>(r) * lda, rest); });
  }
  // The tile's output lines, so that the epilogue's stores find them in cache.
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < NP; ++q)
      _mm_prefetch(reinterpret_cast<const char*>(t.c + r * t.ldc + q * kP), _MM_HINT_T0);
  const int8_t* b = t.b0;
  const uint8_t* a = t.a;
  const int8_t* pf = t.pf;
  for (size_t g = 0; g < full; ++g, b += kBlock, a += 4, pf += t.pf_step) {
    _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T1);
    i8_step<D, R, NP>(acc, b, ps, [&](int r) { return i8_word(a + static_cast<size_t>(r) * lda); });
  }
  i8_epilogue<D, R, NP>(t, acc);
}

// The last tile of a column block, of rest < kMR rows.
template <class D, int NP, int R = D::kMR - 1>
inline void i8_rest(size_t rest, const I8Tile& t) {
  if constexpr (R >= 1) {
    if (rest == R) i8_tile<D, R, NP>(t);
    else i8_rest<D, NP, R - 1>(rest, t);
  }
}

// The row tiles of a column block share out the prefetch of the next block's panels (the
// `region` bytes after this block's; past the last block this touches the lines after the
// weights, which is harmless: prefetches never fault), each tile its own slice, at most one line
// per k step, so that the next block is in L2 when its first tile starts instead of arriving
// from memory at the pace of that tile (a calling loop over column blocks, such as the linear
// stage's, gets the same for its next call). Tiles with no slice re-touch their first line.
inline void i8_prefetch_slice(I8Tile& t, size_t tile, size_t tiles, size_t region) {
  const size_t steps = t.k / 4;
  t.pf = t.b0;
  t.pf_step = 0;
  if (steps == 0) return;
  const size_t slice = (region + tiles * steps - 1) / (tiles * steps), step = slice < kBlock ? slice : kBlock;
  if (tile * steps * step < region) {
    t.pf = t.b0 + region + tile * steps * step;
    t.pf_step = step;
  }
}

// Full tiles, then the rest; a rest of one or two rows after a full tile is merged with it and
// split in two (7 = 4 + 3, 8 = 4 + 4 rows at kMR 6): a tile of one or two rows has too few
// independent accumulator chains to cover the multiply-add latency and streams the whole
// panel block for little work.
template <class D, int NP>
inline void i8_rows(size_t m, const I8Tile& t) {
  const size_t tiles = (m + D::kMR - 1) / D::kMR, region = NP * kP * i8_k4(t.k);
  size_t tile = 0;
  // One copy of t, whose row fields each tile then sets: a struct copy per tile (64-byte loads
  // of fields just stored one by one) stalled on store forwarding at every tile.
  I8Tile ti = t;
  for (size_t i = 0; i < m; ++tile) {
    ti.a = t.a + i * t.lda;
    ti.a_scale = t.a_scale + i;
    ti.a_zero = t.a_zero + i;
    ti.c = t.c + i * t.ldc;
    i8_prefetch_slice(ti, tile, tiles, region);
    const size_t left = m - i;
    size_t rows = left < D::kMR ? left : D::kMR;
    if (left > D::kMR && left <= D::kMR + 2) rows = (left + 1) / 2;
    if (rows == D::kMR) i8_tile<D, D::kMR, NP>(ti);
    else i8_rest<D, NP>(rows, ti);
    i += rows;
  }
}

// A column block of `panels` (1..kNP) panels.
template <class D, int NP = D::kNP>
inline void i8_block(size_t panels, size_t m, const I8Tile& t) {
  if constexpr (NP >= 1) {
    if (panels == NP) i8_rows<D, NP>(m, t);
    else i8_block<D, NP - 1>(panels, m, t);
  }
}

template <class D>
void i8_gemm(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale, const int32_t* a_zero,
             const int8_t* bp, const float* w_scale, const int32_t* w_colsum, const float* bias, float* c, size_t ldc) {
  const size_t k4 = i8_k4(k), block = D::kNP * kP;
  for (size_t j0 = 0; j0 < n; j0 += block) {
    const size_t cols = n - j0 < block ? n - j0 : block;
    const I8Tile t{k, a, lda, a_scale, a_zero, bp + (j0 / kP) * kP * k4, w_scale + j0, w_colsum + j0,
                   bias ? bias + j0 : nullptr, c + j0, ldc, cols, nullptr, 0};
    i8_block<D>((cols + kP - 1) / kP, m, t);
  }
}

}  // namespace
}  // namespace bertrt::kernels::avx512
