// Packing for the bf16x2 GEMM and its scalar twins: the specification the SIMD kernels are tested
// against (kernels/gemm_bf16.h states the arithmetic).
#include <cmath>

#include "kernels/gemm_bf16.h"
#include "kernels/scalar.h"

namespace bertrt::kernels {
namespace {

constexpr size_t P = kBf16Panel;

template <class Get>
void pack_bf16x2(size_t k, size_t n, uint16_t* out, Get get) {
  const size_t panels = (n + P - 1) / P, k2 = bf16_k2(k);
  for (size_t j = 0; j < panels; ++j) {
    uint16_t* panel = out + j * P * k2;
    std::memset(panel, 0, P * k2 * sizeof(uint16_t));
    for (size_t c = 0; c < P && j * P + c < n; ++c)
      for (size_t p = 0; p < k; ++p) panel[(p / 2) * 2 * P + 2 * c + p % 2] = get(p, j * P + c);
  }
}

}  // namespace

void pack_panels_bf16x2(const float* w, size_t k, size_t n, size_t ldw, uint16_t* out) {
  pack_bf16x2(k, n, out, [&](size_t p, size_t col) { return f32_to_bf16_rne(w[p * ldw + col]); });
}

void pack_panels_bf16x2_u16(const uint16_t* w, size_t k, size_t n, size_t ldw, uint16_t* out) {
  pack_bf16x2(k, n, out, [&](size_t p, size_t col) {
    const uint16_t h = w[p * ldw + col];
    return (h & 0x7f80u) == 0 ? static_cast<uint16_t>(h & 0x8000u) : h;
  });
}

namespace scalar {

void convert_rows_bf16(size_t m, size_t k, const float* x, size_t ldx, uint16_t* out, size_t ldo) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t p = 0; p < k; ++p) out[i * ldo + p] = f32_to_bf16_rne(x[i * ldx + p]);
    if (k % 2 != 0) out[i * ldo + k] = 0;
  }
}

void gemm_packed_bf16x2(size_t m, size_t n, size_t k, const uint16_t* a, size_t lda, const uint16_t* bp,
                        const float* bias, float* c, size_t ldc) {
  const size_t k2 = bf16_k2(k), pairs = k2 / 2;
  for (size_t j = 0; j < n; ++j) {
    const uint16_t* panel = bp + (j / P) * P * k2 + 2 * (j % P);
    const float b = bias ? bias[j] : 0.0f;
    for (size_t i = 0; i < m; ++i) {
      const uint16_t* row = a + i * lda;
      float acc = 0.0f;
      for (size_t g = 0; g < pairs; ++g) {
        const uint16_t* w = panel + g * 2 * P;
        acc = std::fma(bf16_to_f32_one(row[2 * g + 1]), bf16_to_f32_one(w[1]), acc);
        acc = std::fma(bf16_to_f32_one(row[2 * g]), bf16_to_f32_one(w[0]), acc);
      }
      c[i * ldc + j] = acc + b;
    }
  }
}

}  // namespace scalar
}  // namespace bertrt::kernels
