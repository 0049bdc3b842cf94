// AVX-512 (F/BW/DQ/VL) + F16C vector wrapper used by the generic kernel bodies (kernels/*_impl.h).
// Include only from files compiled with the AVX-512 flags, inside namespace
// bertrt::kernels::avx512. Internal linkage only; see simd_avx2.h for why intrinsics.
// Tails use AVX-512 mask registers: masked loads/stores neither fault nor touch masked lanes.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace bertrt::kernels::avx512 {
namespace {

struct Vec {
  using F = __m512;     // 16 floats
  using M = __mmask16;  // lane mask
  static constexpr size_t width = 16;

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static M lanes(size_t n) { return static_cast<M>((1u << n) - 1u); }  // n in [0, 16]
  static F load_n(const float* p, size_t n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
  static void store_n(float* p, F v, size_t n) { _mm512_mask_storeu_ps(p, lanes(n), v); }

  static F load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static F widen_bf16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static F load_bf16(const uint16_t* p) { return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static F load_f16_n(const uint16_t* p, size_t n) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes(n), p)); }
  static F load_bf16_n(const uint16_t* p, size_t n) { return widen_bf16(_mm256_maskz_loadu_epi16(lanes(n), p)); }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnma(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  // 1/sqrt(a) for a > 0 within ~2 float ulp: the 14-bit estimate and one Newton step.
  static F rsqrt(F a) {
    const F y = _mm512_rsqrt14_ps(a);
    const F t = _mm512_mul_ps(_mm512_mul_ps(a, y), y);  // a y^2, about 1
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), y), _mm512_sub_ps(_mm512_set1_ps(3.0f), t));
  }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F abs(F a) { return _mm512_abs_ps(a); }
  static F copysign(F mag, F sgn) {
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(mag), _mm512_castps_si512(sgn),
                                                         _mm512_set1_epi32(0x7fffffff), 0xe4));  // mask ? mag : sgn
  }
  static F round_nearest(F a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F pow2i(F n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }

  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }  // m ? a : b
  static F keep(M m, F a) { return _mm512_maskz_mov_ps(m, a); }

  static M key_mask(const uint8_t* kv) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kv));
    return _mm_test_epi8_mask(b, b);
  }
  static M key_mask_n(const uint8_t* kv, size_t n) {
    const __m128i b = _mm_maskz_loadu_epi8(lanes(n), kv);
    return _mm_test_epi8_mask(b, b);
  }

  static float reduce_add(F v) {
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float reduce_max(F v) {
    __m256 s = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  // A volatile asm rather than _mm_prefetch: GCC 12's dead-code elimination drops
  // __builtin_prefetch when it sits in a lambda inlined into a loop (the LayerNorm kernels' next-row
  // prefetch vanished that way). Prefetches never fault, so p may point past any mapping.
  static void prefetch(const void* p) { asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p))); }
};

}  // namespace
}  // namespace bertrt::kernels::avx512
