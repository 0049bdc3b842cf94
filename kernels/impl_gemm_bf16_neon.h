// The NEON bf16x2 GEMM body, shared by gemm_bf16_neon.cpp (plain NEON: pairs widened to f32, two
// FMAs) and gemm_bf16_neon_bf16.cpp (bfdot). A tile is R rows x one panel (16 columns, four q
// accumulators per row); a Dot policy says how one 64-byte block (16 columns x one k pair, four
// 16-byte quarters) meets a row's pair: load(block quarter) -> W, prep(word) -> A,
// dot(acc, a, w) -> acc. Epilogue c = acc + bias (kernels/gemm_bf16.h). Internal linkage: each
// file gets its own copy.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_bf16.h"

namespace bertrt::kernels::neon {
namespace {

constexpr size_t kBfP = kBf16Panel;

struct Bf16Tile {
  size_t pairs;
  const uint16_t* a;
  size_t lda;
  const uint16_t* b;  // the panel
  const float* bias;  // null = none
  float* c;
  size_t ldc;
  size_t cols;  // 1..16
};

template <class D, int R>
__attribute__((noinline)) void bf16_tile(const Bf16Tile& t) {
  float32x4_t acc[R][4];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_f32(0.0f);
  const uint16_t* b = t.b;
  const uint16_t* a = t.a;
  for (size_t g = 0; g < t.pairs; ++g, b += 2 * kBfP, a += 2) {
    typename D::W w[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) w[q] = D::load(b + 8 * q);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      uint32_t word;
      std::memcpy(&word, a + r * t.lda, 4);
      const typename D::A av = D::prep(word);
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) acc[r][q] = D::dot(acc[r][q], av, w[q]);
    }
  }
  float bias[kBfP] = {};
  if (t.bias) std::memcpy(bias, t.bias, t.cols * sizeof(float));
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (t.cols == kBfP) {
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) vst1q_f32(t.c + r * t.ldc + 4 * q, vaddq_f32(acc[r][q], vld1q_f32(bias + 4 * q)));
    } else {
      float out[kBfP];
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) vst1q_f32(out + 4 * q, vaddq_f32(acc[r][q], vld1q_f32(bias + 4 * q)));
      std::memcpy(t.c + r * t.ldc, out, t.cols * sizeof(float));
    }
  }
}

template <class D, int R = D::kMR - 1>
inline void bf16_rest(size_t rest, const Bf16Tile& t) {
  if constexpr (R >= 1) {
    if (rest == R) bf16_tile<D, R>(t);
    else bf16_rest<D, R - 1>(rest, t);
  }
}

template <class D>
void bf16_gemm(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp, const float* bias,
               float* c, size_t ldc) {
  const size_t k2 = bf16_k2(k);
  for (size_t j0 = 0; j0 < n; j0 += kBfP) {
    Bf16Tile t{k2 / 2, a, lda, bp + (j0 / kBfP) * kBfP * k2, bias ? bias + j0 : nullptr, c + j0, ldc,
               n - j0 < kBfP ? n - j0 : kBfP};
    size_t i = 0;
    for (; i + D::kMR <= m; i += D::kMR, t.a += D::kMR * lda, t.c += D::kMR * ldc) bf16_tile<D, D::kMR>(t);
    bf16_rest<D>(m - i, t);
  }
}

}  // namespace
}  // namespace bertrt::kernels::neon
