// Declarations of the per-ISA kernels (internal). Each ISA has its own namespace with the same
// function names as the KernelTable entries (see kernel_list.inc); the implementations live in
// kernels/<family>_<isa>.cpp, compiled into a static library with that ISA's flags only.
// Call them only through a table from dispatch.cpp (or after cpu_supports()).
#pragma once

#include "kernels/kernels.h"

#define BERTRT_DECLARE_ISA_KERNELS(ns)                                                                      \
  namespace bertrt::kernels::ns {                                                                           \
  void gather_f32(const float* table, const int64_t* ids, size_t n, size_t hidden, float* out);             \
  void gather_f16(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out);          \
  void gather_bf16(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out);         \
  void embed_layernorm(const EmbedLayerNormArgs& args);                                                     \
  void add_bias_layernorm(const float* a, const float* b, const float* bias, const float* gamma,            \
                          const float* beta, float eps, size_t n, size_t hidden, float* out);               \
  void masked_softmax(float* x, size_t rows, size_t cols, size_t ld, float scale, const uint8_t* key_valid,  \
                      float* inv_sums);                                                                     \
  void bias_activation(float* x, size_t rows, size_t cols, size_t ld, const float* bias, Activation act);    \
  void f16_to_f32(const uint16_t* src, size_t n, float* dst);                                               \
  void bf16_to_f32(const uint16_t* src, size_t n, float* dst);                                              \
  void gemm_packed_f32(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp,           \
                       const float* bias, float* c, size_t ldc);                                            \
  void gemm_packed_f16(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp,        \
                       const float* bias, float* c, size_t ldc);                                            \
  void gemm_packed_bf16(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp,       \
                        const float* bias, float* c, size_t ldc);                                           \
  void convert_rows_bf16(size_t m, size_t k, const float* x, size_t ldx, uint16_t* out, size_t ldo);         \
  void gemm_packed_bf16x2(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,  \
                          const float* bias, float* c, size_t ldc);                                         \
  void quantize_rows_u8(size_t m, size_t k, const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale, \
                        int32_t* zero);                                                                     \
  void gemm_packed_i8(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,     \
                      const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum, \
                      const float* bias, float* c, size_t ldc);                                             \
  /* Building blocks exposed for the accuracy tests: dst[i] = exp(src[i]) / erf(src[i]). */                 \
  void exp_f32(const float* src, size_t n, float* dst);                                                     \
  void erf_f32(const float* src, size_t n, float* dst);                                                     \
  }

#if defined(__x86_64__) || defined(_M_X64)
#define BERTRT_KERNELS_X86 1
BERTRT_DECLARE_ISA_KERNELS(avx2)
BERTRT_DECLARE_ISA_KERNELS(avx512)
// Variants the tables take when cpuid reports the extension (kernels/dispatch.cpp): the same
// contract as gemm_packed_i8. The plain avx512::gemm_packed_i8 needs only AVX-512 BW.
namespace bertrt::kernels::avx2 {
// vpdpbusd ymm, VEX form: needs AVX-VNNI (the AVX2 table takes it then).
void gemm_packed_i8_vnni(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                         const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                         const float* bias, float* c, size_t ldc);
// The same code with the EVEX form: needs AVX512_VNNI + AVX512VL; tests and benchmarks only.
void gemm_packed_i8_vnni_evex(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                              const int32_t* a_zero, const int8_t* bp, const float* w_scale,
                              const int32_t* w_colsum, const float* bias, float* c, size_t ldc);
}  // namespace bertrt::kernels::avx2
namespace bertrt::kernels::avx512 {
void gemm_packed_i8_vnni(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                         const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                         const float* bias, float* c, size_t ldc);
// vdpbf16ps (kernels/gemm_bf16_avx512_bf16.cpp), taken when cpuid reports AVX512_BF16.
void gemm_packed_bf16x2_bf16(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                             const float* bias, float* c, size_t ldc);
// The widening arithmetic on the k loop the vdpbf16ps variant runs (each row's pair broadcast from
// a register per step): that loop's test on CPUs without AVX512_BF16; tests and benchmarks only.
void gemm_packed_bf16x2_pairs(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                              const float* bias, float* c, size_t ldc);
}
#endif
#if defined(__aarch64__)
#define BERTRT_KERNELS_NEON 1
BERTRT_DECLARE_ISA_KERNELS(neon)
// Taken by the NEON table when HWCAP_ASIMDDP is set (kernels/dispatch.cpp).
namespace bertrt::kernels::neon {
void gemm_packed_i8_dotprod(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                            const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                            const float* bias, float* c, size_t ldc);
// bfdot (kernels/gemm_bf16_neon_bf16.cpp), taken when HWCAP2_BF16 is set.
void gemm_packed_bf16x2_bf16(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                             const float* bias, float* c, size_t ldc);
}
#endif
