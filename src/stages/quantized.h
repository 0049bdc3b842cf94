// int8 matrices in the linear stage: the activation rows are quantized per row into the session's
// workspace (kernels/gemm_i8.h: asymmetric, one scale and zero point per row), then the int8 GEMM
// runs with its dequantize + bias epilogue. Quantizing a row depends on that row alone, so results
// do not depend on how rows are split between threads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/model.h"

namespace bertrt::core {

struct Workspace;

// Activation rows quantized for an int8 matrix: q [rows, ld] u8, scale [rows], zero [rows].
struct QuantizedRows {
  uint8_t* q = nullptr;
  float* scale = nullptr;
  int32_t* zero = nullptr;
  size_t ld = 0;
};

// Room in the workspace for n rows of k columns (row stride k); grows ws.xq, xq_scale, xq_zero, so
// call it before a parallel run, never inside one.
QuantizedRows quantized_rows(Workspace& ws, size_t n, size_t k);

// Rows [r0, r0 + rows) of x (row stride qr.ld, qr.ld columns) -> the same rows of qr.
void quantize_rows(const float* x, size_t r0, size_t rows, const QuantizedRows& qr);

// C[rows, cols] = dequant(A W[:, c0 : c0 + cols]) + bias[c0 :] for A = rows [r0, r0 + rows) of a
// (quantized with ld = w.in); c0 a multiple of the panel width, C row stride ldc, bias may be null.
void gemm_block_i8(const WeightMatrix& w, const QuantizedRows& a, size_t r0, size_t rows, size_t c0, size_t cols,
                   const float* bias, float* c, size_t ldc);

}  // namespace bertrt::core
