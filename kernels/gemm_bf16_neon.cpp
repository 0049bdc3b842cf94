// Plain NEON bf16x2 GEMM (CPUs without the BF16 extension) and the f32 -> bf16 row conversion.
// GEMM: each quarter of a block (4 columns x one k pair) widened to f32 (the even k by a 16-bit
// left shift, the odd k by masking the low half), the row's pair likewise, then two fused
// multiply-adds per accumulator in the scalar twin's order (odd k first): bit-identical to it.
// Tiles of up to 4 rows x 16 columns (16 accumulators, 8 widened weight vectors, 2 broadcasts).
#include "kernels/impl_gemm_bf16_neon.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::neon {
namespace {

struct DotWiden {
  static constexpr int kMR = 4;
  struct W {
    float32x4_t even, odd;
  };
  using A = W;
  static W load(const uint16_t* p) {
    const uint32x4_t v = vld1q_u32(reinterpret_cast<const uint32_t*>(p));
    return {vreinterpretq_f32_u32(vshlq_n_u32(v, 16)), vreinterpretq_f32_u32(vandq_u32(v, vdupq_n_u32(0xffff0000u)))};
  }
  static A prep(uint32_t word) {
    return {vreinterpretq_f32_u32(vdupq_n_u32(word << 16)), vreinterpretq_f32_u32(vdupq_n_u32(word & 0xffff0000u))};
  }
  static float32x4_t dot(float32x4_t acc, const A& a, const W& w) {
    return vfmaq_f32(vfmaq_f32(acc, a.odd, w.odd), a.even, w.even);
  }
};

// 4 f32 -> 4 bf16 (kernels/gemm_bf16.h: f32_to_bf16_rne).
inline uint16x4_t to_bf16(uint32x4_t u) {
  const uint32x4_t abs = vandq_u32(u, vdupq_n_u32(0x7fffffffu));
  const uint32x4_t hi = vshrq_n_u32(u, 16);
  const uint32x4_t r = vshrq_n_u32(vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7fffu)), vandq_u32(hi, vdupq_n_u32(1))), 16);
  const uint32x4_t tiny = vcltq_u32(abs, vdupq_n_u32(0x00800000u));
  const uint32x4_t nan = vcgtq_u32(abs, vdupq_n_u32(0x7f800000u));
  const uint32x4_t zero = vandq_u32(hi, vdupq_n_u32(0x8000u));
  const uint32x4_t quiet = vorrq_u32(hi, vdupq_n_u32(0x40u));
  return vmovn_u32(vbslq_u32(nan, quiet, vbslq_u32(tiny, zero, r)));
}

}  // namespace

void gemm_packed_bf16x2(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                        const float* bias, float* c, size_t ldc) {
  bf16_gemm<DotWiden>(m, n, k, a, lda, bp, bias, c, ldc);
}

void convert_rows_bf16(size_t m, size_t k, const float* x, size_t ldx, uint16_t* out, size_t ldo) {
  for (size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    uint16_t* o = out + i * ldo;
    size_t p = 0;
    for (; p + 4 <= k; p += 4) vst1_u16(o + p, to_bf16(vld1q_u32(reinterpret_cast<const uint32_t*>(row + p))));
    for (; p < k; ++p) o[p] = f32_to_bf16_rne(row[p]);
    if (k % 2 != 0) o[k] = 0;
  }
}

}  // namespace bertrt::kernels::neon
