// Packing and quantization for the int8 GEMM, and its scalar twins: the specification the SIMD
// kernels are tested against (kernels/gemm_i8.h states the arithmetic). Integer sums are kept
// in uint32 so that the twin wraps exactly as the hardware does past kMaxI8K (no UB).
#include <cstring>

#include "kernels/gemm_i8.h"
#include "kernels/scalar.h"

namespace bertrt::kernels {
namespace {

constexpr size_t P = kI8Panel;

}  // namespace

void pack_panels_i8(const int8_t* wq, size_t k, size_t n, size_t ldw, int8_t* out, int32_t* colsum) {
  const size_t panels = (n + P - 1) / P, k4 = i8_k4(k);
  for (size_t j = 0; j < panels; ++j) {
    int8_t* panel = out + j * P * k4;
    std::memset(panel, 0, P * k4);
    for (size_t c = 0; c < P; ++c) {
      const size_t col = j * P + c;
      int32_t sum = 0;
      for (size_t p = 0; col < n && p < k; ++p) {
        const int8_t w = wq[p * ldw + col];
        panel[(p / 4) * 4 * P + 4 * c + p % 4] = w;
        sum += w;
      }
      colsum[col] = sum;
    }
  }
}

void quantize_columns_i8(const float* w, size_t k, size_t n, size_t ldw, int8_t* wq, size_t ldq, float* w_scale) {
  for (size_t j = 0; j < n; ++j) {
    float amax = 0.0f;
    for (size_t p = 0; p < k; ++p) amax = std::fmax(amax, std::fabs(w[p * ldw + j]));
    const float inv = symmetric_factors(amax, &w_scale[j]);
    for (size_t p = 0; p < k; ++p) {
      const float v = std::fmin(std::fmax(w[p * ldw + j] * inv, -127.0f), 127.0f);
      wq[p * ldq + j] = static_cast<int8_t>(std::nearbyint(v));
    }
  }
}

namespace scalar {

void quantize_rows_u8(size_t m, size_t k, const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale,
                      int32_t* zero) {
  for (size_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    float lo = 0.0f, hi = 0.0f;
    for (size_t p = 0; p < k; ++p) {
      lo = std::fmin(lo, row[p]);
      hi = std::fmax(hi, row[p]);
    }
    const float inv = quantize_row_factors(lo, hi, &scale[i], &zero[i]);
    for (size_t p = 0; p < k; ++p) q[i * ldq + p] = quantize_u8_one(row[p], inv, zero[i]);
  }
}

// Panel by panel, row by row, k in ascending order: exact integer sums, then the epilogue.
void gemm_packed_i8(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, const float* a_scale,
                    const int32_t* a_zero, const int8_t* bp, const float* w_scale, const int32_t* w_colsum, const float* bias, float* c,
                    size_t ldc) {
  const size_t k4 = i8_k4(k);
  for (size_t j0 = 0; j0 < n; j0 += P) {
    const int8_t* panel = bp + (j0 / P) * P * k4;
    const size_t cols = n - j0 < P ? n - j0 : P;
    for (size_t i = 0; i < m; ++i) {
      uint32_t acc[P] = {};
      const uint8_t* arow = a + i * lda;
      for (size_t p = 0; p < k; ++p) {
        const int8_t* block = panel + (p / 4) * 4 * P + p % 4;
        for (size_t q = 0; q < P; ++q)
          acc[q] += static_cast<uint32_t>(static_cast<int32_t>(arow[p]) * static_cast<int32_t>(block[4 * q]));
      }
      float* crow = c + i * ldc + j0;
      const auto zero = static_cast<uint32_t>(a_zero[i]);
      for (size_t q = 0; q < cols; ++q) {
        const uint32_t corr = zero * static_cast<uint32_t>(w_colsum[j0 + q]);  // a_zero colsum, mod 2^32
        const auto isum = static_cast<int32_t>(acc[q] - corr);
        const float s = a_scale[i] * w_scale[j0 + q];
        crow[q] = std::fma(static_cast<float>(isum), s, bias ? bias[j0 + q] : 0.0f);
      }
    }
  }
}

}  // namespace scalar
}  // namespace bertrt::kernels
