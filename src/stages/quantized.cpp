#include "stages/quantized.h"

#include "kernels/gemm_i8.h"
#include "stages/stages.h"

namespace bertrt::core {

QuantizedRows quantized_rows(Workspace& ws, size_t n, size_t k) {
  QuantizedRows qr;
  qr.q = grow(ws.xq, n * k);
  qr.scale = grow(ws.xq_scale, n);
  qr.zero = grow(ws.xq_zero, n);
  qr.ld = k;
  return qr;
}

void quantize_rows(const float* x, size_t r0, size_t rows, const QuantizedRows& qr) {
  if (rows == 0) return;
  const size_t k = qr.ld;
  kernels::active().quantize_rows_u8(rows, k, x + r0 * k, k, qr.q + r0 * k, k, qr.scale + r0, qr.zero + r0);
}

void gemm_block_i8(const WeightMatrix& w, const QuantizedRows& a, size_t r0, size_t rows, size_t c0, size_t cols,
                   const float* bias, float* c, size_t ldc) {
  const size_t k = w.in;
  const auto* panels = static_cast<const int8_t*>(w.data) + c0 * kernels::i8_k4(k);  // c0 / 16 panels of 16 k4
  kernels::active().gemm_packed_i8(rows, cols, k, a.q + r0 * a.ld, a.ld, a.scale + r0, a.zero + r0, panels,
                                   w.scale + c0, w.colsum + c0, bias ? bias + c0 : nullptr, c, ldc);
}

}  // namespace bertrt::core
