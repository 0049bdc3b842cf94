// NEON dotprod int8 GEMM (sdot, built with -march=armv8.2-a+dotprod for this file only; the table
// takes it when HWCAP_ASIMDDP is set). sdot multiplies signed bytes, so the activations enter as
// a - 128 (top bit flipped) and the epilogue subtracts (a_zero - 128) colsum. Tiles of up to
// 4 rows x 16 columns (16 accumulators); 16 activation bytes of a row are loaded once and used
// by element for 4 blocks.
#include "kernels/impl_gemm_i8_neon.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::neon {
namespace {

template <int R>
struct TileDot {
  template <int L>
  static inline __attribute__((always_inline)) void block(int32x4_t (&acc)[R][4], const int8_t* wp, const int8x16_t (&av)[R]) {
    int8x16_t w[4];
    for (int q = 0; q < 4; ++q) w[q] = vld1q_s8(wp + 16 * q);
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < 4; ++q) acc[r][q] = vdotq_laneq_s32(acc[r][q], w[q], av[r], L);
  }
  // The activation bytes of rows [0, R) at column p as signed bytes a - 128 (top bit flipped).
  static inline __attribute__((always_inline)) void load16(int8x16_t (&av)[R], const I8Tile& t, size_t p) {
    const uint8x16_t flip = vdupq_n_u8(0x80);
    for (int r = 0; r < R; ++r) av[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(t.a + r * t.lda + p), flip));
  }
  // Without pre-allocation scheduling: it hoisted the 16 weight loads of a 16-k step to its
  // start, 16 registers that with the 16 accumulators, 4 rows and the flip mask overflow the 32,
  // and the accumulators went through the stack every step.
  __attribute__((optimize("no-schedule-insns"))) static void run(const I8Tile& t) {
    int32x4_t acc[R][4];
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_s32(0);
    // The last blocks (past the last multiple of 16 k) first, one activation word each (bytes
    // past k: weights 0): integer sums do not depend on the order, and a loop after the main
    // one made the code generator keep the accumulators on the stack across the main loop.
    const size_t groups = t.k / 16;
    for (size_t g = 4 * groups; 4 * g < t.k; ++g) {
      int8x16_t av[R];
      for (int r = 0; r < R; ++r)
        av[r] = vreinterpretq_s8_u32(vdupq_n_u32(i8_word<true>(t.a + r * t.lda, 4 * g, t.k) ^ 0x80808080u));
      block<0>(acc, t.b + g * kBlock, av);
    }
    const int8_t* wp = t.b;
    for (size_t g = 0; g < groups; ++g, wp += 4 * kBlock) {  // 16 k: four blocks
      int8x16_t av[R];
      load16(av, t, 16 * g);
      block<0>(acc, wp, av);
      block<1>(acc, wp + kBlock, av);
      block<2>(acc, wp + 2 * kBlock, av);
      block<3>(acc, wp + 3 * kBlock, av);
    }
    i8_epilogue<R>(acc, 128, t);
  }
};

}  // namespace

void gemm_packed_i8_dotprod(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                            const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                            const float* bias, float* c, size_t ldc) {
  i8_gemm<4, TileDot>(m, n, k, a, lda, a_scale, a_zero, bp, w_scale, w_colsum, bias, c, ldc);
}

}  // namespace bertrt::kernels::neon
