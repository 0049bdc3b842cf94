// GEMM on weights pre-packed at conversion time (model file layout "panel16").
//
// Packed layout of a weight W[K, N] (y = x W, row-major source): ceil(N / 16) panels, panel j
// holding columns [16 j, 16 j + 16) as K rows of 16 elements (row p of the panel at offset 16 p),
// panels one after another (panel stride 16 K elements); columns past N are zero. The same
// layout holds f32, f16 and bf16 elements. One layout for every ISA: AVX-512 kernels take two
// panels (32 columns) per tile, AVX2 one panel (two ymm), NEON one panel (four q registers).
//
// The kernels are the KernelTable entries gemm_packed_f32 / _f16 / _bf16 (kernels/kernels.h).
// They are single-threaded; the caller (stages/) splits work between threads by rows and by
// panel-aligned column ranges. Each output element is computed by one call with the same k
// order, so results do not depend on how the work is split.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace bertrt::kernels {

inline constexpr size_t kPackedPanel = 16;

// Elements (f32 or 16-bit) needed to hold W[K, N] packed.
inline size_t packed_elems(size_t k, size_t n) { return (n + kPackedPanel - 1) / kPackedPanel * kPackedPanel * k; }
// The same count, under its older name.
inline size_t packed_floats(size_t k, size_t n) { return packed_elems(k, n); }

// w[K, N] (row stride ldw) -> out[packed_elems(K, N)].
void pack_panels(const float* w, size_t k, size_t n, size_t ldw, float* out);
// The same for f16 / bf16 weights (the bits are copied; padding columns are +0).
void pack_panels_u16(const uint16_t* w, size_t k, size_t n, size_t ldw, uint16_t* out);

}  // namespace bertrt::kernels
