// NEON packed GEMMs: tiles of up to 6 rows x 16 columns (one panel, four q registers per row),
// 24 accumulators, bias added in the epilogue; the last panel's columns stored one by one. One
// tile body for every weight type: a load functor reads a panel row of 16 weights as four f32
// vectors (f16 through fcvtl, bf16 shifted into the high half by shll).
#include <arm_neon.h>

#include <cstdint>

#include "kernels/gemm_packed.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::neon {
namespace {

constexpr size_t P = kPackedPanel;
constexpr int MR = 6;

struct LoadF32 {
  using T = float;
  static void load(const float* p, float32x4_t (&w)[4]) {
    w[0] = vld1q_f32(p);
    w[1] = vld1q_f32(p + 4);
    w[2] = vld1q_f32(p + 8);
    w[3] = vld1q_f32(p + 12);
  }
};
struct LoadF16 {
  using T = uint16_t;
  static void load(const uint16_t* p, float32x4_t (&w)[4]) {
    const float16x8_t lo = vreinterpretq_f16_u16(vld1q_u16(p)), hi = vreinterpretq_f16_u16(vld1q_u16(p + 8));
    w[0] = vcvt_f32_f16(vget_low_f16(lo));
    w[1] = vcvt_high_f32_f16(lo);
    w[2] = vcvt_f32_f16(vget_low_f16(hi));
    w[3] = vcvt_high_f32_f16(hi);
  }
};
struct LoadBF16 {
  using T = uint16_t;
  static void load(const uint16_t* p, float32x4_t (&w)[4]) {
    const uint16x8_t lo = vld1q_u16(p), hi = vld1q_u16(p + 8);
    w[0] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(lo), 16));
    w[1] = vreinterpretq_f32_u32(vshll_high_n_u16(lo, 16));
    w[2] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(hi), 16));
    w[3] = vreinterpretq_f32_u32(vshll_high_n_u16(hi, 16));
  }
};

template <class L, int R>
inline void tile(size_t k, const float* a, size_t lda, const typename L::T* b, const float* bias, float* c,
                 size_t ldc, size_t cols) {
  float32x4_t acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_f32(0.0f);
  for (size_t p = 0; p < k; ++p) {
    float32x4_t w[4];
    L::load(b + p * P, w);
    for (int r = 0; r < R; ++r) {
      const float32x4_t av = vdupq_n_f32(a[r * lda + p]);
      for (int q = 0; q < 4; ++q) acc[r][q] = vfmaq_f32(acc[r][q], av, w[q]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float out[P];
    for (int q = 0; q < 4; ++q) vst1q_f32(out + 4 * q, acc[r][q]);
    float* crow = c + r * ldc;
    for (size_t q = 0; q < cols; ++q) crow[q] = out[q] + (bias ? bias[q] : 0.0f);
  }
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

}  // namespace bertrt::kernels::neon
