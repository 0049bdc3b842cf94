// The AVX-VNNI kernel's tile logic with vpdpbusd ymm in its EVEX encoding (_mm256_dpbusd_epi32,
// -mavx512vnni -mavx512vl): the same 256-bit code, runnable on AVX-512 VNNI CPUs that lack
// AVX-VNNI, so that the kernel tests and bench_gemm exercise it there. No table takes it (an
// AVX-512 VNNI CPU runs the zmm kernel). Body and tiles: kernels/impl_gemm_i8_avx2_vnni.h.
#include "kernels/impl_gemm_i8_avx2_vnni.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx2 {
namespace {

struct DotEvex {
  static __m256i dot(__m256i acc, __m256i a, __m256i w) { return _mm256_dpbusd_epi32(acc, a, w); }
};

}  // namespace

void gemm_packed_i8_vnni_evex(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                              const int32_t* a_zero, const int8_t* bp, const float* w_scale,
                              const int32_t* w_colsum, const float* bias, float* c, size_t ldc) {
  v_gemm<DotEvex>(m, n, k, a, lda, a_scale, a_zero, bp, w_scale, w_colsum, bias, c, ldc);
}

}  // namespace bertrt::kernels::avx2
