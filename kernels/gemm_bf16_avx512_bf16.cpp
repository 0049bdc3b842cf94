// AVX-512 BF16 bf16x2 GEMM: vdpbf16ps zmm, one instruction per 16 columns x one k pair of a row
// (the row's pair broadcast as one 32-bit word, the weights as packed); tiles of up to 6 rows x
// 64 columns (24 accumulators), the tile template of impl_gemm_bf16_avx512.h with a one-
// instruction Dot policy. Compiled with -mavx512bf16 for this file only; the table takes it when
// cpuid reports AVX512_BF16 (kernels/dispatch.cpp). vdpbf16ps computes the scalar twin's sums
// (odd k, then even k, each bf16 product exact) but flushes subnormal accumulators to zero.
// The development machine lacks AVX512_BF16: the tile template's per-pair k loop is tested there
// with widening arithmetic (gemm_packed_bf16x2_pairs in gemm_bf16_avx512.cpp); this policy runs
// only where the CPU has the extension.
#include "kernels/impl_gemm_bf16_avx512.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx512 {
namespace {

struct DotBf16 {
  static constexpr int kMR = 6;
  static constexpr int kNP = 4;
  static constexpr bool kWidenRows = false;
  using W = __m512bh;
  using A = __m512bh;
  static W load(const uint16_t* p) { return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p)); }
  static A prep(uint32_t word) { return reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(word))); }
  static __m512 dot(__m512 acc, A a, W w) { return _mm512_dpbf16_ps(acc, a, w); }
};

}  // namespace

void gemm_packed_bf16x2_bf16(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                             const float* bias, float* c, size_t ldc) {
  bf16_gemm<DotBf16>(m, n, k, a, lda, bp, bias, c, ldc);
}

}  // namespace bertrt::kernels::avx512
