// Plain NEON int8 GEMM (CPUs without dotprod) and the per-row u8 quantization.
// GEMM: each 64-byte block (16 columns x 4 k) widened to eight int16x8 (two columns x 4 k
// each), the row's 4 activation bytes zero-extended and repeated; the u8 x s8 products fit int16
// exactly (|a w| <= 255 * 128), mul then sadalp adds them in pairs into int32, so each column
// owns two lanes, added at the end by addp; tiles of up to 2 rows x 16 columns (16 accumulators).
#include "kernels/impl_gemm_i8_neon.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::neon {
namespace {

template <int R>
struct TileMul {
  template <bool kTail>
  static inline __attribute__((always_inline)) void step(int32x4_t (&acc)[R][8], const I8Tile& t, size_t g) {
    int16x8_t w[8];
    for (int q = 0; q < 4; ++q) {
      const int8x16_t b = vld1q_s8(t.b + g * kBlock + 16 * q);
      w[2 * q] = vmovl_s8(vget_low_s8(b));
      w[2 * q + 1] = vmovl_high_s8(b);
    }
    for (int r = 0; r < R; ++r) {
      const uint32_t word = i8_word<kTail>(t.a + r * t.lda, 4 * g, t.k);
      const int16x8_t av = vreinterpretq_s16_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(word))));
      for (int h = 0; h < 8; ++h) acc[r][h] = vpadalq_s16(acc[r][h], vmulq_s16(w[h], av));
    }
  }
  static void run(const I8Tile& t) {
    int32x4_t acc[R][8];
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < 8; ++h) acc[r][h] = vdupq_n_s32(0);
    const size_t full = t.k / 4;
    for (size_t g = 0; g < full; ++g) step<false>(acc, t, g);
    if (full * 4 < t.k) step<true>(acc, t, full);
    int32x4_t sums[R][4];
    for (int q = 0; q < 4; ++q)
      for (int r = 0; r < R; ++r) sums[r][q] = vpaddq_s32(acc[r][2 * q], acc[r][2 * q + 1]);
    i8_epilogue<R>(sums, 0, t);
  }
};

}  // namespace

void gemm_packed_i8(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                    const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                    const float* bias, float* c, size_t ldc) {
  i8_gemm<2, TileMul>(m, n, k, a, lda, a_scale, a_zero, bp, w_scale, w_colsum, bias, c, ldc);
}

// Per row: min and max over 4 lanes (from 0), then q = x * inv rounded to nearest even (fcvtns)
// + zero, narrowed twice with unsigned saturation (the clamp to [0, 255]); the same values as
// the scalar twin.
void quantize_rows_u8(size_t m, size_t k, const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale,
                      int32_t* zero) {
  for (size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    uint8_t* qrow = q + i * ldq;
    float32x4_t vmin = vdupq_n_f32(0.0f), vmax = vdupq_n_f32(0.0f);
    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
      const float32x4_t v = vld1q_f32(row + p);
      vmin = vminq_f32(vmin, v);
      vmax = vmaxq_f32(vmax, v);
    }
    float lo = vminvq_f32(vmin), hi = vmaxvq_f32(vmax);
    for (size_t r = p; r < k; ++r) {
      lo = std::fmin(lo, row[r]);
      hi = std::fmax(hi, row[r]);
    }
    const float inv = quantize_row_factors(lo, hi, &scale[i], &zero[i]);
    const float32x4_t vinv = vdupq_n_f32(inv);
    const int32x4_t zp = vdupq_n_s32(zero[i]);
    for (p = 0; p + 8 <= k; p += 8) {
      int32x4_t v[2];
      for (int h = 0; h < 2; ++h) v[h] = vaddq_s32(vcvtnq_s32_f32(vmulq_f32(vld1q_f32(row + p + 4 * h), vinv)), zp);
      const uint16x8_t w16 = vcombine_u16(vqmovun_s32(v[0]), vqmovun_s32(v[1]));
      vst1_u8(qrow + p, vqmovn_u16(w16));
    }
    for (; p < k; ++p) qrow[p] = quantize_u8_one(row[p], inv, zero[i]);
  }
}

}  // namespace bertrt::kernels::neon
