// Packing into the panel16 layout, and the scalar packed GEMMs: the specification the SIMD
// kernels are tested against. The f16 / bf16 twins widen each weight exactly, then do the f32
// twin's arithmetic.
#include <cstring>

#include "kernels/gemm_packed.h"
#include "kernels/scalar.h"

namespace bertrt::kernels {
namespace {

constexpr size_t P = kPackedPanel;

template <class T>
void pack(const T* w, size_t k, size_t n, size_t ldw, T* out) {
  const size_t panels = (n + P - 1) / P;
  for (size_t j = 0; j < panels; ++j) {
    const size_t c0 = j * P, cols = n - c0 < P ? n - c0 : P;
    T* panel = out + j * P * k;
    for (size_t p = 0; p < k; ++p) {
      T* dst = panel + p * P;
      std::memcpy(dst, w + p * ldw + c0, cols * sizeof(T));
      for (size_t c = cols; c < P; ++c) dst[c] = T{0};
    }
  }
}

// C[m, n] = A[m, k] * widen(W) + bias, panel by panel, row by row, k in ascending order.
template <class T, class Widen>
void gemm(size_t m, size_t n, size_t k, const float* a, size_t lda, const T* bp, const float* bias, float* c,
          size_t ldc, Widen widen) {
  for (size_t j0 = 0; j0 < n; j0 += P) {
    const T* panel = bp + (j0 / P) * P * k;
    const size_t cols = n - j0 < P ? n - j0 : P;
    for (size_t i = 0; i < m; ++i) {
      float acc[P] = {};
      const float* arow = a + i * lda;
      for (size_t p = 0; p < k; ++p) {
        const float av = arow[p];
        const T* w = panel + p * P;
        for (size_t q = 0; q < P; ++q) acc[q] += av * widen(w[q]);
      }
      float* crow = c + i * ldc + j0;
      for (size_t q = 0; q < cols; ++q) crow[q] = acc[q] + (bias ? bias[j0 + q] : 0.0f);
    }
  }
}

}  // namespace

void pack_panels(const float* w, size_t k, size_t n, size_t ldw, float* out) { pack(w, k, n, ldw, out); }

void pack_panels_u16(const uint16_t* w, size_t k, size_t n, size_t ldw, uint16_t* out) { pack(w, k, n, ldw, out); }

namespace scalar {

void gemm_packed_f32(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp, const float* bias,
                     float* c, size_t ldc) {
  gemm(m, n, k, a, lda, bp, bias, c, ldc, [](float w) { return w; });
}

void gemm_packed_f16(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp, const float* bias,
                     float* c, size_t ldc) {
  gemm(m, n, k, a, lda, bp, bias, c, ldc, f16_to_f32_one);
}

void gemm_packed_bf16(size_t m, size_t n, size_t k, const float* a, size_t lda, const uint16_t* bp,
                      const float* bias, float* c, size_t ldc) {
  gemm(m, n, k, a, lda, bp, bias, c, ldc, bf16_to_f32_one);
}

}  // namespace scalar
}  // namespace bertrt::kernels
