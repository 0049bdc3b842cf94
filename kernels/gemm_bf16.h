// bf16 GEMM with bf16 activations: c = sum_k a w (f32 accumulation) + bias, on weights packed in
// the "panel_bf16x2" layout (model file layout 3, docs/format.md).
//
// Packed layout of W[K, N] (y = x W): K2 = K rounded up to even, ceil(N / 16) panels, panel j
// holding columns [16 j, 16 j + 16) as K2 / 2 blocks of 16 32-bit lanes (64 bytes); lane c of
// block g holds the pair (W[2g, 16 j + c], W[2g + 1, 16 j + c]) as two bf16, the even k in the
// low half: the operand order of AVX-512 vdpbf16ps and of NEON bfdot. Panels follow one another
// (panel stride 16 K2 bf16 values); rows past K and columns past N are zero. Weights are rounded
// from f32 to nearest even, subnormals flushed to zero (pack_panels_bf16x2).
//
// Activations (KernelTable::convert_rows_bf16): each f32 row becomes K2 bf16 values, rounded to
// nearest even, subnormals flushed to (signed) zero, NaN kept a quiet NaN, and a zero appended
// when K is odd. The GEMM reads every A row as K2 / 2 32-bit pairs, so A rows must hold K2
// values (convert_rows_bf16 writes them).
//
// Arithmetic (the scalar twin is the specification): per output, acc = +0, then for each pair g
// in order acc = fma(a[2g+1], w[2g+1], acc); acc = fma(a[2g], w[2g], acc); then c = acc + bias
// (bias 0 when null). A product of two bf16 values is exact in f32 (8-bit significands), so this
// is also what vdpbf16ps computes, except that vdpbf16ps flushes subnormal f32 accumulators.
//
// Kernels per ISA (KernelTable::gemm_packed_bf16x2): scalar (the specification), AVX-512 with
// AVX512_BF16 (vdpbf16ps; the same tile template as the next one, with a one-instruction Dot
// policy), AVX-512F and AVX2 without BF16 (pairs widened to f32 by shifts and masks, two FMAs in
// the oracle's order: bit-identical to the scalar twin), NEON with BF16 (bfdot, whose rounding
// is Arm's BFDotAdd: not bit-identical, tested within a bound) and plain NEON (widening and two
// FMAs: bit-identical).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernels.h"

namespace bertrt::kernels {

inline constexpr size_t kBf16Panel = 16;

inline size_t bf16_k2(size_t k) { return (k + 1) / 2 * 2; }
// bf16 values needed to hold W[K, N] packed.
inline size_t packed_bf16x2_elems(size_t k, size_t n) {
  return (n + kBf16Panel - 1) / kBf16Panel * kBf16Panel * bf16_k2(k);
}

// f32 -> bf16, round to nearest even; subnormals become signed zero; NaN stays a quiet NaN (sign
// and top payload bits kept). Shared by the scalar twin, the packer and the SIMD row tails.
inline uint16_t f32_to_bf16_rne(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// w[K, N] f32 (row stride ldw) -> out[packed_bf16x2_elems(K, N)].
void pack_panels_bf16x2(const float* w, size_t k, size_t n, size_t ldw, uint16_t* out);
// The same from bf16 values w[K, N] (bits copied, subnormals flushed to zero).
void pack_panels_bf16x2_u16(const uint16_t* w, size_t k, size_t n, size_t ldw, uint16_t* out);

}  // namespace bertrt::kernels
