// AVX-VNNI int8 GEMM: vpdpbusd ymm in its VEX encoding (_mm256_dpbusd_avx_epi32), built with
// -mavxvnni for this file only; the AVX2 table takes it when cpuid reports AVX-VNNI
// (7.1:EAX[4]; kernels/dispatch.cpp). Body and tiles: kernels/impl_gemm_i8_avx2_vnni.h.
#include "kernels/impl_gemm_i8_avx2_vnni.h"
#include "kernels/isa_kernels.h"

namespace bertrt::kernels::avx2 {
namespace {

struct DotVex {
  static __m256i dot(__m256i acc, __m256i a, __m256i w) { return _mm256_dpbusd_avx_epi32(acc, a, w); }
};

}  // namespace

void gemm_packed_i8_vnni(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                         const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                         const float* bias, float* c, size_t ldc) {
  v_gemm<DotVex>(m, n, k, a, lda, a_scale, a_zero, bp, w_scale, w_colsum, bias, c, ldc);
}

}  // namespace bertrt::kernels::avx2
