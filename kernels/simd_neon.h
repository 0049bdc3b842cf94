// NEON (AArch64 Advanced SIMD) vector wrapper used by the generic kernel bodies
// (kernels/*_impl.h). Include only inside namespace bertrt::kernels::neon. Internal linkage only;
// see simd_avx2.h for why intrinsics. NEON has no masked loads: tails go through a small
// zero-filled stack buffer so that nothing past the caller's buffer is read or written.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bertrt::kernels::neon {
namespace {

struct Vec {
  using F = float32x4_t;
  using M = uint32x4_t;
  static constexpr size_t width = 4;

  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1(float v) { return vdupq_n_f32(v); }
  static F load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, F v) { vst1q_f32(p, v); }
  static M lanes(size_t n) {
    const uint32_t idx[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(idx), vdupq_n_u32(static_cast<uint32_t>(n)));
  }
  static F load_n(const float* p, size_t n) {
    float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    std::memcpy(tmp, p, n * sizeof(float));
    return vld1q_f32(tmp);
  }
  static void store_n(float* p, F v, size_t n) {
    float tmp[4];
    vst1q_f32(tmp, v);
    std::memcpy(p, tmp, n * sizeof(float));
  }

  static F load_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static F load_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
  static F load_f16_n(const uint16_t* p, size_t n) {
    uint16_t tmp[4] = {0, 0, 0, 0};
    std::memcpy(tmp, p, n * sizeof(uint16_t));
    return load_f16(tmp);
  }
  static F load_bf16_n(const uint16_t* p, size_t n) {
    uint16_t tmp[4] = {0, 0, 0, 0};
    std::memcpy(tmp, p, n * sizeof(uint16_t));
    return load_bf16(tmp);
  }

  static F add(F a, F b) { return vaddq_f32(a, b); }
  static F sub(F a, F b) { return vsubq_f32(a, b); }
  static F mul(F a, F b) { return vmulq_f32(a, b); }
  static F div(F a, F b) { return vdivq_f32(a, b); }
  static F fma(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F fnma(F a, F b, F c) { return vfmsq_f32(c, a, b); }
  // 1/sqrt(a) for a > 0 within a few float ulp: the 8-bit estimate and two Newton steps
  // (vrsqrtsq_f32(a y, y) = (3 - a y^2) / 2).
  static F rsqrt(F a) {
    F y = vrsqrteq_f32(a);
    y = vmulq_f32(y, vrsqrtsq_f32(vmulq_f32(a, y), y));
    return vmulq_f32(y, vrsqrtsq_f32(vmulq_f32(a, y), y));
  }
  static F max(F a, F b) { return vmaxq_f32(a, b); }
  static F min(F a, F b) { return vminq_f32(a, b); }
  static F abs(F a) { return vabsq_f32(a); }
  static F copysign(F mag, F sgn) { return vbslq_f32(vdupq_n_u32(0x80000000u), sgn, mag); }
  static F round_nearest(F a) { return vrndnq_f32(a); }
  static F pow2i(F n) {
    const int32x4_t e = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
  }

  static M lt(F a, F b) { return vcltq_f32(a, b); }
  static F select(M m, F a, F b) { return vbslq_f32(m, a, b); }
  static F keep(M m, F a) { return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(a))); }

  static M key_mask(const uint8_t* kv) {
    uint32_t word;
    std::memcpy(&word, kv, 4);
    const uint16x8_t h = vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(word)));
    const uint32x4_t w = vmovl_u16(vget_low_u16(h));
    return vtstq_u32(w, w);
  }
  static M key_mask_n(const uint8_t* kv, size_t n) {
    uint8_t tmp[4] = {0, 0, 0, 0};
    std::memcpy(tmp, kv, n);
    return key_mask(tmp);
  }

  static float reduce_add(F v) { return vaddvq_f32(v); }
  static float reduce_max(F v) { return vmaxvq_f32(v); }
  // A volatile asm rather than __builtin_prefetch, which GCC 12 can drop as dead code when it
  // sits in an inlined lambda (see simd_avx512.h). Prefetches never fault.
  static void prefetch(const void* p) { asm volatile("prfm pldl1keep, [%0]" : : "r"(p)); }
};

}  // namespace
}  // namespace bertrt::kernels::neon
