// NEON BF16 bf16x2 GEMM: bfdot (vbfdotq_f32), one instruction per 4 columns x one k pair of a
// row (the row's pair duplicated into every 32-bit lane, the weights as packed); tiles of up to
// 6 rows x 16 columns (24 accumulators). Compiled with -march=armv8.2-a+bf16 for this file only;
// the table takes it when HWCAP2_BF16 is set (kernels/dispatch.cpp). bfdot rounds as Arm's
// BFDotAdd (the pair's sum formed before it is added, with its own rounding, subnormals
// flushed), so its results differ from the scalar twin's by a few ulps of the sums; the kernel
// test bounds the difference.
#include "kernels/impl_gemm_bf16_neon.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::neon {
namespace {

struct DotBf16 {
  static constexpr int kMR = 6;
  using W = bfloat16x8_t;
  using A = bfloat16x8_t;
  static W load(const uint16_t* p) { return vreinterpretq_bf16_u16(vld1q_u16(p)); }
  static A prep(uint32_t word) { return vreinterpretq_bf16_u32(vdupq_n_u32(word)); }
  static float32x4_t dot(float32x4_t acc, A a, W w) { return vbfdotq_f32(acc, a, w); }
};

}  // namespace

void gemm_packed_bf16x2_bf16(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                             const float* bias, float* c, size_t ldc) {
  bf16_gemm<DotBf16>(m, n, k, a, lda, bp, bias, c, ldc);
}

}  // namespace bertrt::kernels::neon
