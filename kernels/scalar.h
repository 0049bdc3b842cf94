// Scalar reference kernels: the specification every SIMD variant is tested against.
#pragma once

#include "kernels/kernels.h"

namespace bertrt::kernels::scalar {

float f16_to_f32_one(uint16_t h);
inline float bf16_to_f32_one(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &bits, sizeof f);
  return f;
}

void gather_f32(const float* table, const int64_t* ids, size_t n, size_t hidden, float* out);
void gather_f16(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out);
void gather_bf16(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out);
void embed_layernorm(const EmbedLayerNormArgs& args);
void add_bias_layernorm(const float* a, const float* b, const float* bias, const float* gamma, const float* beta,
                        float eps, size_t n, size_t hidden, float* out);
void masked_softmax(float* x, size_t rows, size_t cols, size_t ld, float scale, const uint8_t* key_valid,
                    float* inv_sums);
void bias_activation(float* x, size_t rows, size_t cols, size_t ld, const float* bias, Activation act);
void f16_to_f32(const uint16_t* src, size_t n, float* dst);
void bf16_to_f32(const uint16_t* src, size_t n, float* dst);
void gemm_packed_f32(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp, const float* bias,
                     float* c, size_t ldc);
void gemm_packed_f16(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp, const float* bias,
                     float* c, size_t ldc);
void gemm_packed_bf16(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp,
                      const float* bias, float* c, size_t ldc);
void convert_rows_bf16(size_t m, size_t k, const float* x, size_t ldx, uint16_t* out, size_t ldo);
void gemm_packed_bf16x2(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                        const float* bias, float* c, size_t ldc);
void quantize_rows_u8(size_t m, size_t k, const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale,
                      int32_t* zero);
void gemm_packed_i8(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                    const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                    const float* bias, float* c, size_t ldc);

// Two-pass LayerNorm of one row (in: [H], may alias out).
void layernorm_row(const float* in, const float* gamma, const float* beta, float eps, size_t hidden, float* out);
float gelu_erf(float x);
float gelu_tanh(float x);

}  // namespace bertrt::kernels::scalar
