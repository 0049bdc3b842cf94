// The kernel layer: one table of function pointers, filled once at start-up from CPU feature
// detection (or BERTRT_ISA). Stages call kernels only through kernels::active(); kernels know
// nothing about layers or models. Shapes are given in comments as [rows, cols].
//
// Every function here has a scalar implementation (kernels/*_scalar.cpp) that is the
// specification; the SIMD variants are tested against it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bertrt::kernels {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, neon = 3 };
const char* isa_name(Isa isa);

// Storage type of a weight table.
enum class DType : uint8_t { f32 = 0, f16 = 1, bf16 = 2 };

enum class Activation : int { none = 0, gelu_erf = 1, gelu_tanh = 2, relu = 3 };

// Fused embeddings: out[i] = LayerNorm(word[i] + position_table[position_ids[i]]
//                                      + type_table[token_type_ids[i]]) * gamma + beta
// where word[i] is inputs_embeds[i] (f32) when inputs_embeds is set, otherwise
// row input_ids[i] of word_table (dtype word_dtype). Ids are validated by the caller.
struct EmbedLayerNormArgs {
  size_t rows = 0;                       // N = B*T
  size_t hidden = 0;                     // H
  const float* inputs_embeds = nullptr;  // [N, H] or null
  const void* word_table = nullptr;      // [V, H] (used when inputs_embeds is null)
  DType word_dtype = DType::f32;
  const int64_t* input_ids = nullptr;       // [N]
  const float* position_table = nullptr;    // [P, H]
  const int64_t* position_ids = nullptr;    // [N]
  const float* type_table = nullptr;        // [TV, H]
  const int64_t* token_type_ids = nullptr;  // [N]
  const float* gamma = nullptr;             // [H]
  const float* beta = nullptr;              // [H]
  float eps = 1e-12f;
  float* out = nullptr;                     // [N, H]
};

struct KernelTable {
  Isa isa = Isa::scalar;

  // out[i, :] = table[ids[i], :] widened to f32. table [V, H], ids [n] (validated), out [n, H].
  void (*gather_f32)(const float* table, const int64_t* ids, size_t n, size_t hidden, float* out);
  void (*gather_f16)(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out);
  void (*gather_bf16)(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out);

  void (*embed_layernorm)(const EmbedLayerNormArgs& args);

  // out[i] = LayerNorm(a[i] + b[i] + bias) * gamma + beta, rows [n, H]; out may alias a or b.
  // bias may be null (treated as zeros).
  void (*add_bias_layernorm)(const float* a, const float* b, const float* bias, const float* gamma,
                             const float* beta, float eps, size_t n, size_t hidden, float* out);

  // In place over rows [rows, cols] with row stride ld: x = softmax(x * scale) over the columns
  // whose key_valid entry is nonzero (key_valid [cols], null = all valid); masked columns become 0.
  // A row with no valid column becomes all zeros. Max-subtracted. With inv_sums [rows] set, the
  // rows are left unnormalised, e = exp(x * scale - max), and inv_sums[r] = 1 / sum(e) (0 for a
  // row with no valid column): attention scales the rows of P V instead (d values, not cols).
  void (*masked_softmax)(float* x, size_t rows, size_t cols, size_t ld, float scale, const uint8_t* key_valid,
                         float* inv_sums);

  // In place over rows [rows, cols] with row stride ld: x = act(x + bias); bias [cols] or null.
  void (*bias_activation)(float* x, size_t rows, size_t cols, size_t ld, const float* bias, Activation act);

  // dst[i] = widen(src[i]) for n elements.
  void (*f16_to_f32)(const uint16_t* src, size_t n, float* dst);
  void (*bf16_to_f32)(const uint16_t* src, size_t n, float* dst);

  // C[m, n] = A[m, k] (row stride lda) * W + bias on weights packed in the panel16 layout
  // (kernels/gemm_packed.h). bp = first panel of the (panel-aligned) column range, bias (may be
  // null) its first column; n may end inside a panel (columns past n are not written); C row
  // stride ldc. No alignment is required (64-byte aligned panels are fastest). Each output element
  // is computed in a fixed k order by one call: results do not depend on how a caller splits rows
  // or panel-aligned column ranges.
  void (*gemm_packed_f32)(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp,
                          const float* bias, float* c, size_t ldc);
  // The same on f16 / bf16 panels (uint16_t elements, same layout), widened to f32 inside the
  // micro-kernel, one panel row at a time; f32 accumulation.
  void (*gemm_packed_f16)(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp,
                          const float* bias, float* c, size_t ldc);
  void (*gemm_packed_bf16)(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp,
                           const float* bias, float* c, size_t ldc);

  // bf16 inference on bf16 activations (kernels/gemm_bf16.h states the layout and arithmetic).
  // x[m, k] f32 (row stride ldx) -> out[m, K2] bf16 (row stride ldo >= K2, K2 = k rounded up to
  // even): round to nearest even, subnormals to signed zero, NaN quiet, a zero after an odd k.
  // Every table returns the scalar twin's bits.
  void (*convert_rows_bf16)(size_t m, size_t k, const float* x, size_t ldx, uint16_t* out, size_t ldo);
  // C[m, n] = A W + bias: A [m, K2] bf16 (row stride lda, as convert_rows_bf16 writes), W packed
  // panel_bf16x2 (bp: first panel of a panel-aligned column range), bias [n] or null, C row stride
  // ldc; columns past n are not written. Bit-identical to the scalar twin except the bf16
  // dot-product instruction variants (AVX512_BF16 flushes subnormal accumulators; NEON bfdot
  // rounds as Arm's BFDotAdd). Independent of how a caller splits rows or column ranges.
  void (*gemm_packed_bf16x2)(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                             const float* bias, float* c, size_t ldc);

  // int8 inference (kernels/gemm_i8.h states the scheme and the packed layout).
  // Dynamic per-row asymmetric quantization of x[m, k] (row stride ldx, finite values): with
  // lo = min(0, min_p x[i, p]), hi = max(0, max_p x[i, p]): scale[i] = (hi - lo) / 255, zero[i] =
  // round(-lo / scale[i]) in [0, 255], q[i, p] = clamp(round_to_nearest_even(x[i, p] / scale[i]) +
  // zero[i], 0, 255) (row stride ldq); a row whose range is below kI8TinyRow gets scale 0, zero
  // point 0 and all bytes 0. Every table returns the scalar twin's bytes, scales and zero points.
  void (*quantize_rows_u8)(size_t m, size_t k, const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale,
                           int32_t* zero);
  // C[m, n] = dequant(A W) + bias: A [m, k] u8 (row stride lda, a_scale [m], zero points a_zero
  // [m], any int32), W int8 packed (bp, first panel of a panel-aligned column range; w_scale [n],
  // w_colsum as packed, from the same first column), bias [n] or null, C row stride ldc;
  // k <= kMaxI8K. int32 sums minus a_zero[i] w_colsum[j], then c = fma(float(isum), a_scale[i] *
  // w_scale[j], bias[j]): bit-identical on every table, and independent of how a caller splits
  // rows or panel-aligned column ranges. A rows are read only up to k (no padding needed);
  // columns past n are not written.
  void (*gemm_packed_i8)(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                         const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum,
                         const float* bias, float* c, size_t ldc);
};

// The table chosen at start-up: the best ISA the CPU and OS support, or BERTRT_ISA if set
// (a level the CPU lacks is an error reported by isa_error()).
const KernelTable& active();
// Table for a given ISA, or null when it is not compiled in or not supported by this CPU.
const KernelTable* table_for(Isa isa);
// True when this CPU (and OS) can run the ISA.
bool cpu_supports(Isa isa);

// Extensions that pick a faster variant of an entry inside a table (gemm_packed_i8): the AVX-512
// table takes vpdpbusd zmm with AVX512_VNNI (cpuid 7.0:ECX[11]), the AVX2 table vpdpbusd ymm
// with AVX-VNNI (cpuid 7.1:EAX[4]), the NEON table sdot with HWCAP_ASIMDDP. The variant's name
// gets a suffix: "gemm_packed_i8__avx512_vnni", "gemm_packed_i8__avx2_vnni",
// "gemm_packed_i8__neon_dotprod".
// gemm_packed_bf16x2 likewise takes vdpbf16ps with AVX512_BF16 (cpuid 7.1:EAX[5]) and bfdot with
// HWCAP2_BF16: "gemm_packed_bf16x2__avx512_bf16", "gemm_packed_bf16x2__neon_bf16".
enum class CpuExt : int { avx512_vnni = 0, avx_vnni = 1, neon_dotprod = 2, avx512_bf16 = 3, neon_bf16 = 4 };
bool cpu_has(CpuExt ext);

// Scalar reference table (always available).
const KernelTable& scalar_table();

// Best ISA this CPU and OS support (what active() uses when BERTRT_ISA is unset).
Isa best_isa();
// Why BERTRT_ISA could not be honoured (unknown value, or a level this CPU/OS lacks), or null
// when it was honoured or unset. The C API refuses to open a model then (BERTRT_ERROR_UNSUPPORTED
// with this text); active() never fails and falls back to best_isa() for kernel-level callers.
const char* isa_error();
// Number of table entries, and the name of entry i of `table` as "<entry>__<isa>", e.g.
// "gather_f16__avx512" (null when i is out of range). For `bertrt info`.
size_t kernel_count();
const char* kernel_name(const KernelTable& table, size_t i);

// Plain C-order single-precision GEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
// Uses OpenBLAS when built with it, a blocked scalar loop otherwise. Test and benchmark oracles
// only (kernels/gemm.cpp, library bertrt_reference_gemm): not part of libbertrt.
void sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha, const float* a, size_t lda,
           const float* b, size_t ldb, float beta, float* c, size_t ldc);
// The always-available reference GEMM (no BLAS), used as a test oracle.
void sgemm_reference(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha, const float* a,
                     size_t lda, const float* b, size_t ldb, float beta, float* c, size_t ldc);

}  // namespace bertrt::kernels
