// Pieces of the NEON int8 GEMMs shared by gemm_i8_neon.cpp (plain NEON) and
// gemm_i8_neon_dotprod.cpp (sdot): the tile arguments, the activation word reader, the epilogue
// (kernels/gemm_i8.h) and the panel/row driver. Internal linkage: each file gets its own copy.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_i8.h"

namespace bertrt::kernels::neon {
namespace {

constexpr size_t kP = kI8Panel;
constexpr size_t kBlock = 4 * kP;  // bytes per 4-k block of a panel

struct I8Tile {
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

// sums[r][q] = columns 4q..4q+3 of row r, sum_p (a - zero_bias) w; isum = sums - (a_zero[r] -
// zero_bias) colsum (mod 2^32); writes c[r, 0..cols).
template <int R>
inline void i8_epilogue(const int32x4_t (&sums)[R][4], int32_t zero_bias, const I8Tile& t) {
  float ws[kP] = {}, bias[kP] = {};
  int32_t colsum[kP] = {};
  std::memcpy(ws, t.w_scale, t.cols * sizeof(float));
  std::memcpy(colsum, t.colsum, t.cols * sizeof(int32_t));
  if (t.bias) std::memcpy(bias, t.bias, t.cols * sizeof(float));
  for (int r = 0; r < R; ++r) {
    const float32x4_t as = vdupq_n_f32(t.a_scale[r]);
    // Two's complement products: the wrapping multiply of uint32 lanes.
    const uint32x4_t z = vdupq_n_u32(static_cast<uint32_t>(t.a_zero[r]) - static_cast<uint32_t>(zero_bias));
    float out[kP];
    for (int q = 0; q < 4; ++q) {
      const uint32x4_t corr = vmulq_u32(z, vreinterpretq_u32_s32(vld1q_s32(colsum + 4 * q)));
      const int32x4_t isum = vreinterpretq_s32_u32(vsubq_u32(vreinterpretq_u32_s32(sums[r][q]), corr));
      const float32x4_t s = vmulq_f32(as, vld1q_f32(ws + 4 * q));
      vst1q_f32(out + 4 * q, vfmaq_f32(vld1q_f32(bias + 4 * q), vcvtq_f32_s32(isum), s));
    }
    std::memcpy(t.c + r * t.ldc, out, t.cols * sizeof(float));
  }
}

// Rows [0, m) of one panel: tiles of MR rows, then one of the remaining rows.
template <template <int> class Tile, int R>
inline void i8_rest(size_t rest, const I8Tile& t) {
  if constexpr (R >= 1) {
    if (rest == R) Tile<R>::run(t);
    else i8_rest<Tile, R - 1>(rest, t);
  }
}

template <int MR, template <int> class Tile>
void i8_gemm(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale, const int32_t* a_zero,
             const int8_t* bp, const float* w_scale, const int32_t* w_colsum, const float* bias, float* c, size_t ldc) {
  const size_t k4 = i8_k4(k);
  for (size_t j0 = 0; j0 < n; j0 += kP) {
    I8Tile t{k, a, lda, a_scale, a_zero, bp + (j0 / kP) * kP * k4, w_scale + j0, w_colsum + j0,
             bias ? bias + j0 : nullptr, c + j0, ldc, n - j0 < kP ? n - j0 : kP};
    size_t i = 0;
    for (; i + MR <= m; i += MR, t.a += MR * lda, t.a_scale += MR, t.a_zero += MR, t.c += MR * ldc) Tile<MR>::run(t);
    i8_rest<Tile, MR - 1>(m - i, t);
  }
}

}  // namespace
}  // namespace bertrt::kernels::neon
