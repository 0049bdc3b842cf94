// AVX-512 VNNI int8 GEMM: vpdpbusd zmm, one instruction per 16 columns x 4 k of a row (u8
// activations broadcast as one 32-bit word, s8 weights as packed); tiles of up to 6 rows x 64
// columns (4 panels), 24 zmm accumulators: per 4-k step 4 weight loads and 6 broadcasts feed 24
// vpdpbusd, well inside the load ports' share while vpdpbusd issues 2 per cycle (p0 and p5 on
// Sapphire Rapids). Compiled with -mavx512vnni; the table takes it only when cpuid reports
// AVX512_VNNI (kernels/dispatch.cpp).
#include "kernels/impl_gemm_i8_avx512.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx512 {
namespace {

struct DotVnni {
  static constexpr int kParts = 1;
  static constexpr int kMR = 6;
  static constexpr int kNP = 4;
  using W = __m512i;
  using A = __m512i;
  static W load(const int8_t* p) { return _mm512_loadu_si512(p); }
  static A prep(uint32_t word) { return _mm512_set1_epi32(static_cast<int>(word)); }
  static void dot(__m512i (&acc)[1], A a, W w) { acc[0] = _mm512_dpbusd_epi32(acc[0], a, w); }
  static __m512i reduce(const __m512i (&acc)[1]) { return acc[0]; }
};

}  // namespace

void gemm_packed_i8_vnni(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                         const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                         const float* bias, float* c, size_t ldc) {
  i8_gemm<DotVnni>(m, n, k, a, lda, a_scale, a_zero, bp, w_scale, w_colsum, bias, c, ldc);
}

}  // namespace bertrt::kernels::avx512
