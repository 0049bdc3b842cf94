// GEMM on weights pre-packed at conversion time (model file layout "panel16").
//
// Packed layout of a weight W[K, N] (y = x W, row-major source): ceil(N / 16) panels, panel j
// holding columns [16 j, 16 j + 16) as K rows of 16 floats (row p of the panel at offset 16 p),
// panels one after another (panel stride 16 K floats); columns past N are zero. One layout for
// every ISA: AVX-512 kernels take two panels (32 columns) per tile, AVX2 one panel (two ymm),
// NEON one panel (four q registers).
//
// The tile functions are single-threaded; the caller (stages/) splits work between threads by
// rows and by panel-aligned column ranges. Each output element is computed by one call with the
// same k order, so results do not depend on how the work is split.
#pragma once

#include <cstddef>

#include "kernels/kernels.h"

namespace bertrt::kernels {

inline constexpr size_t kPackedPanel = 16;

// Floats needed to hold W[K, N] packed.
inline size_t packed_floats(size_t k, size_t n) { return (n + kPackedPanel - 1) / kPackedPanel * kPackedPanel * k; }

// w[K, N] (row stride ldw) -> out[packed_floats(K, N)].
void pack_panels(const float* w, size_t k, size_t n, size_t ldw, float* out);

// C[m, n] = A[m, k] (row stride lda) * W + bias, where bp points at the first panel of the
// column range (panel-aligned) and bias (may be null) at its first column. n may end inside a
// panel; columns past n are not written. C has row stride ldc.
using PackedGemmFn = void (*)(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp,
                              const float* bias, float* c, size_t ldc);

// The scalar twin (the specification of the layout; any CPU).
void gemm_packed_scalar(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp,
                        const float* bias, float* c, size_t ldc);
#if defined(__x86_64__) || defined(_M_X64)
void gemm_packed_avx2(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp, const float* bias,
                      float* c, size_t ldc);
void gemm_packed_avx512(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp,
                        const float* bias, float* c, size_t ldc);
#endif
#if defined(__aarch64__)
void gemm_packed_neon(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp, const float* bias,
                      float* c, size_t ldc);
#endif

// The kernel for an ISA (scalar when that ISA has none).
PackedGemmFn packed_gemm_for(Isa isa);
// The kernel for the active table's ISA.
inline PackedGemmFn packed_gemm() { return packed_gemm_for(active().isa); }

}  // namespace bertrt::kernels
