// AVX2 + FMA + F16C vector wrapper used by the generic kernel bodies (kernels/*_impl.h).
// Include only from files compiled with -mavx2 -mfma -mf16c, inside namespace
// bertrt::kernels::avx2. Everything here has internal linkage (anonymous namespace), so no
// inline function compiled with these flags can be picked by the linker for code built without
// them. For the same reason the ISA files avoid inline std:: helpers (std::min, std::vector...).
//
// Why intrinsics and not xsimd: the per-ISA files must not share any externally visible inline
// function (an AVX-512 copy of a helper could be chosen for the AVX2 path), the reductions,
// masked tails, f16/bf16 widening and byte-mask loads need exact control, and the aarch64
// cross build should not depend on a host-only header package. The wrapper is small (this file)
// and the kernel bodies are written once against it.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bertrt::kernels::avx2 {
namespace {

struct Vec {
  using F = __m256;  // 8 floats
  using M = __m256;  // lane mask: all-ones / all-zeros per lane
  static constexpr size_t width = 8;

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static __m256i tail_bits(size_t n) {  // lanes < n set; n in [0, 8]
    alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - n));
  }
  static M lanes(size_t n) { return _mm256_castsi256_ps(tail_bits(n)); }
  // Reads only p[0..n), lanes >= n are 0 (vmaskmov does not fault on masked lanes).
  static F load_n(const float* p, size_t n) { return _mm256_maskload_ps(p, tail_bits(n)); }
  static void store_n(float* p, F v, size_t n) { _mm256_maskstore_ps(p, tail_bits(n), v); }

  static F load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static F load_bf16(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static F load_f16_n(const uint16_t* p, size_t n) {
    alignas(16) uint16_t tmp[8] = {};
    std::memcpy(tmp, p, n * sizeof(uint16_t));
    return load_f16(tmp);
  }
  static F load_bf16_n(const uint16_t* p, size_t n) {
    alignas(16) uint16_t tmp[8] = {};
    std::memcpy(tmp, p, n * sizeof(uint16_t));
    return load_bf16(tmp);
  }

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }    // a*b + c
  static F fnma(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a*b
  // 1/sqrt(a) for a > 0 within a few float ulp: the 12-bit estimate and one Newton step.
  static F rsqrt(F a) {
    const F y = _mm256_rsqrt_ps(a);
    const F t = _mm256_mul_ps(_mm256_mul_ps(a, y), y);  // a y^2, about 1
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), y), _mm256_sub_ps(_mm256_set1_ps(3.0f), t));
  }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F abs(F a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  // |mag| with the sign of sgn (mag must be non-negative).
  static F copysign(F mag, F sgn) { return _mm256_or_ps(mag, _mm256_and_ps(sgn, _mm256_set1_ps(-0.0f))); }
  static F round_nearest(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-126, 127].
  static F pow2i(F n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }

  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }  // m ? a : b
  static F keep(M m, F a) { return _mm256_and_ps(m, a); }                // m ? a : 0

  // Lanes whose byte kv[i] is nonzero; the _n form reads only kv[0..n).
  static M key_mask(const uint8_t* kv) {
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(kv));
    const __m256i w = _mm256_cvtepu8_epi32(b);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(w, _mm256_setzero_si256()));
  }
  static M key_mask_n(const uint8_t* kv, size_t n) {
    alignas(8) uint8_t tmp[8] = {};
    std::memcpy(tmp, kv, n);
    return key_mask(tmp);
  }

  static float reduce_add(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_max(F v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // A volatile asm rather than _mm_prefetch: GCC 12's dead-code elimination drops
  // __builtin_prefetch when it sits in a lambda inlined into a loop (the LayerNorm kernels' next-row
  // prefetch vanished that way). Prefetches never fault, so p may point past any mapping.
  static void prefetch(const void* p) { asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p))); }
};

}  // namespace
}  // namespace bertrt::kernels::avx2
