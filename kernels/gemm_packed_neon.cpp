// NEON packed GEMM: tiles of up to 6 rows x 16 columns (one panel, four q registers per row),
// 24 accumulators, bias added in the epilogue; the last panel's columns stored one by one.
#include <arm_neon.h>

#include "kernels/gemm_packed.h"

namespace bertrt::kernels {
namespace {

constexpr size_t P = kPackedPanel;
constexpr int MR = 6;

template <int R>
inline void tile(size_t k, const float* a, size_t lda, const float* b, const float* bias, float* c, size_t ldc,
                 size_t cols) {
  float32x4_t acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_f32(0.0f);
  for (size_t p = 0; p < k; ++p) {
    const float* w = b + p * P;
    const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4), w2 = vld1q_f32(w + 8), w3 = vld1q_f32(w + 12);
    for (int r = 0; r < R; ++r) {
      const float32x4_t av = vdupq_n_f32(a[r * lda + p]);
      acc[r][0] = vfmaq_f32(acc[r][0], av, w0);
      acc[r][1] = vfmaq_f32(acc[r][1], av, w1);
      acc[r][2] = vfmaq_f32(acc[r][2], av, w2);
      acc[r][3] = vfmaq_f32(acc[r][3], av, w3);
    }
  }
  for (int r = 0; r < R; ++r) {
    float out[P];
    for (int q = 0; q < 4; ++q) vst1q_f32(out + 4 * q, acc[r][q]);
    float* crow = c + r * ldc;
    for (size_t q = 0; q < cols; ++q) crow[q] = out[q] + (bias ? bias[q] : 0.0f);
  }
}

}  // namespace

void gemm_packed_neon(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp, const float* bias,
                      float* c, size_t ldc) {
  for (size_t j0 = 0; j0 < n; j0 += P) {
    const float* b = bp + (j0 / P) * P * k;
    const size_t cols = n - j0 < P ? n - j0 : P;
    const float* bj = bias ? bias + j0 : nullptr;
    float* cj = c + j0;
    size_t i = 0;
    for (; i + MR <= m; i += MR) tile<MR>(k, a + i * lda, lda, b, bj, cj + i * ldc, ldc, cols);
    const float* ar = a + i * lda;
    float* cr = cj + i * ldc;
    switch (m - i) {
      case 0: break;
      case 1: tile<1>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 2: tile<2>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 3: tile<3>(k, ar, lda, b, bj, cr, ldc, cols); break;
      case 4: tile<4>(k, ar, lda, b, bj, cr, ldc, cols); break;
      default: tile<5>(k, ar, lda, b, bj, cr, ldc, cols); break;
    }
  }
}

}  // namespace bertrt::kernels
