// int8 GEMM: y = dequant(x_q W_q) + bias, with int32 accumulation (layout "panel16x4_i8").
//
// Scheme.
//   Weights W[K, N]: int8, symmetric per output column: W ~ w_scale[j] * Wq[:, j], Wq in
//   [-127, 127] (quantize_columns_i8; any int8, -128 included, is accepted by the kernels).
//   Activations x[M, K]: quantized per row at run time (KernelTable::quantize_rows_u8),
//   symmetric with a fixed zero point of 128: x[i, p] ~ a_scale[i] * (a[i, p] - 128), a in
//   [1, 255] (any uint8 is accepted by the kernels). No per-row sums are needed: with
//   colsum[j] = sum_p Wq[p, j] (computed at pack time),
//     isum[i, j] = sum_p a[i, p] Wq[p, j] - 128 colsum[j] = sum_p (a[i, p] - 128) Wq[p, j]
//   exactly in int32 (two's complement, for K <= kMaxI8K nothing wraps), and
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
// (vpdpbusd zmm), AVX-512 BW and AVX2 without VNNI (weights and activations widened to int16,
// then vpmaddwd: u8 x s8 products summed in pairs into int32, which cannot saturate; vpmaddubsw
// is not used because its int16 pair sums can), NEON with dotprod (sdot on a - 128, i.e. the
// activation bytes with their top bit flipped; colsum not needed) and plain NEON (int16
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

// One activation: round-to-nearest-even of x * inv, clamped to [-127, 127], plus 128. Shared
// by the scalar twin and the SIMD kernels' row tails (the SIMD bodies compute the same).
inline uint8_t quantize_u8_one(float x, float inv) {
  const float v = std::fmin(std::fmax(x * inv, -127.0f), 127.0f);
  return static_cast<uint8_t>(static_cast<int>(std::nearbyint(v)) + 128);
}
// The per-row factors from the row's largest |x|: *scale = amax / 127, returns 127 / amax
// (both 0 for a row below kI8TinyRow).
inline float quantize_row_factors(float amax, float* scale) {
  if (!(amax >= kI8TinyRow)) {
    *scale = 0.0f;
    return 0.0f;
  }
  *scale = amax / 127.0f;
  return 127.0f / amax;
}

}  // namespace bertrt::kernels
