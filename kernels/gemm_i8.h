// int8 GEMM: y = dequant(x_q W_q) + bias, with int32 accumulation (layout "panel16x4_i8").
//
// Scheme.
//   Weights W[K, N]: int8, symmetric per output column: W ~ w_scale[j] * Wq[:, j], Wq in
//   [-127, 127] (quantize_columns_i8; any int8, -128 included, is accepted by the kernels).
//   Activations x[M, K]: quantized per row at run time (KernelTable::quantize_rows_u8),
//   asymmetric, with a zero point per row: x[i, p] ~ a_scale[i] * (a[i, p] - a_zero[i]), a in
//   [0, 255], from the row's range [lo, hi] = [min(0, min_p x), max(0, max_p x)] (0 is always
//   exact): a_scale = (hi - lo) / 255, a_zero = round(-lo / a_scale) (quantize_row_factors).
//   Every quantization point is asymmetric: the step (hi - lo) / 255 is never coarser than the
//   symmetric max|x| / 127, and is half of it on one-sided rows such as a GELU output (>= -0.17),
//   the input of the FFN's down projection. The symmetric scheme is the special case a_zero = 128
//   (any int32 zero point is accepted by the kernels). With colsum[j] = sum_p Wq[p, j] (computed
//   at pack time), no per-row sums are needed:
//     isum[i, j] = sum_p a[i, p] Wq[p, j] - a_zero[i] colsum[j] = sum_p (a[i, p] - a_zero[i]) Wq[p, j]
//   exactly in int32 (two's complement: wrapping intermediates cancel; for K <= kMaxI8K and
//   a_zero in [0, 255] the result itself fits), and
//     c[i, j] = fma(float(isum[i, j]), a_scale[i] * w_scale[j], bias[j])   (bias 0 when null)
//   in f32, rounded to nearest: the float(int) conversion, the scale product and one fused
//   multiply-add. Every ISA computes this same expression, so all tables agree bit for bit.
//
// Packed layout of Wq[K, N]: K4 = K rounded up to a multiple of 4, ceil(N / 16) panels, panel j
// holding columns [16 j, 16 j + 16) as K4 / 4 blocks of 64 bytes; block g holds, for column
// c of the panel, the 4 consecutive weights Wq[4 g + t, 16 j + c], t = 0..3, at byte 4 c + t
// (one 32-bit lane per column: the operand order of vpdpbusd and of sdot by element). Panels
// follow one another (panel stride 16 K4 bytes); rows past K and columns past N are zero.
// colsum holds ceil(N / 16) * 16 entries (zero past N).
//
// Kernels per ISA (KernelTable::gemm_packed_i8): scalar (the specification), AVX-512 VNNI
// (vpdpbusd zmm), AVX2 with AVX-VNNI (vpdpbusd ymm), AVX-512 BW and AVX2 without VNNI (weights and activations widened to int16,
// then vpmaddwd: u8 x s8 products summed in pairs into int32, which cannot saturate; vpmaddubsw
// is not used because its int16 pair sums can), NEON with dotprod (sdot on a - 128, i.e. the
// activation bytes with their top bit flipped, then (a_zero[i] - 128) colsum[j] subtracted) and plain NEON (int16
// products, exact since |a w| <= 255 * 128, summed in pairs by sadalp).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace bertrt::kernels {

inline constexpr size_t kI8Panel = 16;
// Largest K for which no int32 sum can wrap: 255 * 128 * K < 2^31.
inline constexpr size_t kMaxI8K = 65536;
// Rows whose largest |x| is below this quantize to all-128 with scale 0 (1/scale would overflow).
inline constexpr float kI8TinyRow = 0x1p-100f;

inline size_t i8_k4(size_t k) { return (k + 3) / 4 * 4; }
// Bytes needed to hold Wq[K, N] packed, and entries of its colsum array.
inline size_t packed_i8_bytes(size_t k, size_t n) { return (n + kI8Panel - 1) / kI8Panel * kI8Panel * i8_k4(k); }
inline size_t packed_i8_colsums(size_t n) { return (n + kI8Panel - 1) / kI8Panel * kI8Panel; }

// wq[K, N] (row stride ldw) -> out[packed_i8_bytes(K, N)], colsum[packed_i8_colsums(N)].
void pack_panels_i8(const int8_t* wq, size_t k, size_t n, size_t ldw, int8_t* out, int32_t* colsum);

// Per-column symmetric quantization of f32 weights w[K, N] (row stride ldw, finite):
// w_scale[j] = max_p |w[p, j]| / 127 and wq[p, j] = round(w[p, j] / w_scale[j]) in [-127, 127]
// (row stride ldq); an all-zero (or below kI8TinyRow) column gets scale 0 and zeros.
void quantize_columns_i8(const float* w, size_t k, size_t n, size_t ldw, int8_t* wq, size_t ldq, float* w_scale);

// One activation: round-to-nearest-even of x * inv, plus the zero point, clamped to [0, 255].
// Shared by the scalar twin and the SIMD kernels' row tails (the SIMD bodies compute the same).
// |x * inv| <= 255 (1 + 2^-23) for x in the row's range, so the int conversion cannot overflow.
inline uint8_t quantize_u8_one(float x, float inv, int32_t zero) {
  const int v = static_cast<int>(std::nearbyint(x * inv)) + zero;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}
// The per-row factors from the row's range lo = min(0, min x) <= 0 <= hi = max(0, max x):
// *scale = (hi - lo) / 255 and *zero = round(-lo * inv) in [0, 255], returns inv = 255 / (hi - lo)
// (the range in double: hi - lo may exceed FLT_MAX). A row whose range is below kI8TinyRow gets
// scale 0, zero point 0 and inv 0 (every byte 0).
inline float quantize_row_factors(float lo, float hi, float* scale, int32_t* zero) {
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  if (!(range >= static_cast<double>(kI8TinyRow))) {
    *scale = 0.0f;
    *zero = 0;
    return 0.0f;
  }
  *scale = static_cast<float>(range / 255.0);
  const auto inv = static_cast<float>(255.0 / range);
  const int z = static_cast<int>(std::nearbyint(-lo * inv));
  *zero = z < 0 ? 0 : z > 255 ? 255 : z;
  return inv;
}
// Symmetric factors from a largest |x| (the weights' per-column scheme): *scale = amax / 127,
// returns 127 / amax (both 0 below kI8TinyRow).
inline float symmetric_factors(float amax, float* scale) {
  if (!(amax >= kI8TinyRow)) {
    *scale = 0.0f;
    return 0.0f;
  }
  *scale = amax / 127.0f;
  return 127.0f / amax;
}

}  // namespace bertrt::kernels
