// The AVX-512 bf16x2 GEMM body, shared by gemm_bf16_avx512.cpp (AVX-512F: pairs widened to f32,
// two FMAs) and gemm_bf16_avx512_bf16.cpp (vdpbf16ps). A Dot policy says how one 64-byte block of
// a panel (16 columns x 2 k, one 32-bit pair per column) meets a row's pair of activations:
//   kMR x kNP  rows x panels of a full tile
//   W          the block as loaded (raw or widened), load(block) -> W
//   A          a row's pair prepared, prep(word) -> A
//   dot(acc, a, w) accumulates one pair into 16 f32 lanes (lane c = column c)
//   kWidenRows  true: the tile's rows are widened to f32 a chunk of pairs at a time into a stack
//               buffer first, and dot_f32(acc, even, odd, w) takes the pair's two values as
//               broadcasts from that buffer (a load each, no ALU work per row and pair); false:
//               prep() per row and pair
// Column blocks of kNP panels outside, row tiles of kMR rows inside, so that a block's panels
// stay in cache while every row tile streams through them; the last block and tile are narrower
// (fewer panels, fewer rows, masked stores for the last columns). Every loop over rows and panels
// is unrolled at compile time, so the accumulators live in registers for the whole k loop.
// Epilogue: c = acc + bias (kernels/gemm_bf16.h). Internal linkage: each file gets its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_bf16.h"

namespace bertrt::kernels::avx512 {
namespace {

constexpr size_t kBfP = kBf16Panel;

struct Bf16Tile {
  size_t pairs;        // K2 / 2
  const uint16_t* a;   // row 0 of the tile
  size_t lda;          // bf16 values
  const uint16_t* b0;  // first panel; panel q starts at b0 + q * 16 K2
  const float* bias;   // null = none
  float* c;
  size_t ldc;
  size_t cols;  // columns of this tile to write, 1..16 NP
};

inline __mmask16 bf16_cols_mask(size_t cols) {
  return cols >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1u);
}

inline uint32_t bf16_pair(const uint16_t* a) {
  uint32_t w;
  std::memcpy(&w, a, 4);
  return w;
}

// Each k step reads one 64-byte line of every panel; the line kBfAhead bytes further on is
// prefetched then, as the f32 panel kernel does: in a forward the first row tile of a block
// finds its panels in L3 or DRAM, where the hardware streamer alone leaves the FMAs waiting.
constexpr size_t kBfAhead = 2048;
inline void bf16_prefetch_ahead(const uint16_t* line) {
  _mm_prefetch(reinterpret_cast<const char*>(line) + kBfAhead, _MM_HINT_T0);  // never faults
}

// Pairs per chunk of the widened rows (a tile of R rows keeps R x 1 KiB on the stack).
constexpr size_t kBfChunk = 128;

// count (even, <= 2 kBfChunk) bf16 values -> f32 (exact: the bf16 bits are the f32's high half).
inline void bf16_widen(const uint16_t* src, size_t count, float* dst) {
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
    _mm512_store_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
  }
  if (i < count) {
    const __mmask16 m = static_cast<__mmask16>((1u << (count - i)) - 1u);
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, src + i));
    _mm512_store_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
  }
}

// One k step's block of each panel (panel q at b + q * ps), each with its prefetch ahead.
template <class D, int NP>
__attribute__((always_inline)) inline void bf16_load_step(typename D::W (&w)[NP], const uint16_t* b, size_t ps) {
#pragma GCC unroll 8
  for (int q = 0; q < NP; ++q) {
    bf16_prefetch_ahead(b + static_cast<size_t>(q) * ps);
    w[q] = D::load(b + static_cast<size_t>(q) * ps);
  }
}

template <class D, int R, int NP>
__attribute__((noinline)) void bf16_tile(const Bf16Tile& t) {
  const size_t ps = kBfP * 2 * t.pairs, lda = t.lda;
  __m512 acc[R][NP];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_setzero_ps();
  const uint16_t* b = t.b0;
  if constexpr (D::kWidenRows) {
    alignas(64) float rows[R][2 * kBfChunk];
    for (size_t g0 = 0; g0 < t.pairs; g0 += kBfChunk) {
      const size_t n = t.pairs - g0 < kBfChunk ? t.pairs - g0 : kBfChunk;
      for (int r = 0; r < R; ++r) bf16_widen(t.a + static_cast<size_t>(r) * lda + 2 * g0, 2 * n, rows[r]);
      for (size_t g = 0; g < n; ++g, b += 2 * kBfP) {
        typename D::W w[NP];
        bf16_load_step<D, NP>(w, b, ps);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
          for (int q = 0; q < NP; ++q) acc[r][q] = D::dot_f32(acc[r][q], rows[r][2 * g], rows[r][2 * g + 1], w[q]);
      }
    }
  } else {
    const uint16_t* a = t.a;
    for (size_t g = 0; g < t.pairs; ++g, b += 2 * kBfP, a += 2) {
      typename D::W w[NP];
      bf16_load_step<D, NP>(w, b, ps);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const typename D::A av = D::prep(bf16_pair(a + static_cast<size_t>(r) * lda));
#pragma GCC unroll 8
        for (int q = 0; q < NP; ++q) acc[r][q] = D::dot(acc[r][q], av, w[q]);
      }
    }
  }
#pragma GCC unroll 8
  for (int q = 0; q < NP; ++q) {
    const size_t c0 = static_cast<size_t>(q) * kBfP;
    const __mmask16 m = bf16_cols_mask(t.cols - c0);
    const __m512 bv = t.bias ? _mm512_maskz_loadu_ps(m, t.bias + c0) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) _mm512_mask_storeu_ps(t.c + r * t.ldc + c0, m, _mm512_add_ps(acc[r][q], bv));
  }
}

template <class D, int NP, int R = D::kMR - 1>
inline void bf16_rest(size_t rest, const Bf16Tile& t) {
  if constexpr (R >= 1) {
    if (rest == R) bf16_tile<D, R, NP>(t);
    else bf16_rest<D, NP, R - 1>(rest, t);
  }
}

template <class D, int NP>
inline void bf16_rows(size_t m, Bf16Tile t) {
  size_t i = 0;
  for (; i + D::kMR <= m; i += D::kMR, t.a += D::kMR * t.lda, t.c += D::kMR * t.ldc) bf16_tile<D, D::kMR, NP>(t);
  bf16_rest<D, NP>(m - i, t);
}

// A column block of `panels` (1..kNP) panels.
template <class D, int NP = D::kNP>
inline void bf16_block(size_t panels, size_t m, const Bf16Tile& t) {
  if constexpr (NP >= 1) {
    if (panels == NP) bf16_rows<D, NP>(m, t);
    else bf16_block<D, NP - 1>(panels, m, t);
  }
}

template <class D>
void bf16_gemm(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp, const float* bias,
               float* c, size_t ldc) {
  const size_t k2 = bf16_k2(k), block = D::kNP * kBfP;
  for (size_t j0 = 0; j0 < n; j0 += block) {
    const size_t cols = n - j0 < block ? n - j0 : block;
    const Bf16Tile t{k2 / 2, a, lda, bp + (j0 / kBfP) * kBfP * k2, bias ? bias + j0 : nullptr, c + j0, ldc, cols};
    bf16_block<D>((cols + kBfP - 1) / kBfP, m, t);
  }
}

}  // namespace
}  // namespace bertrt::kernels::avx512
