#include "kernels/gemm_packed.h"

#include <cstring>

namespace bertrt::kernels {

void pack_panels(const float* w, size_t k, size_t n, size_t ldw, float* out) {
  const size_t panels = (n + kPackedPanel - 1) / kPackedPanel;
  for (size_t j = 0; j < panels; ++j) {
    const size_t c0 = j * kPackedPanel, cols = n - c0 < kPackedPanel ? n - c0 : kPackedPanel;
    float* panel = out + j * kPackedPanel * k;
    for (size_t p = 0; p < k; ++p) {
      float* dst = panel + p * kPackedPanel;
      std::memcpy(dst, w + p * ldw + c0, cols * sizeof(float));
      for (size_t c = cols; c < kPackedPanel; ++c) dst[c] = 0.0f;
    }
  }
}

void gemm_packed_scalar(size_t m, size_t n, size_t k, const float* a, size_t lda, const float* bp,
                        const float* bias, float* c, size_t ldc) {
  constexpr size_t P = kPackedPanel;
  for (size_t j0 = 0; j0 < n; j0 += P) {
    const float* panel = bp + (j0 / P) * P * k;
    const size_t cols = n - j0 < P ? n - j0 : P;
    for (size_t i = 0; i < m; ++i) {
      float acc[P] = {};
      const float* arow = a + i * lda;
      for (size_t p = 0; p < k; ++p) {
        const float av = arow[p];
        const float* w = panel + p * P;
        for (size_t q = 0; q < P; ++q) acc[q] += av * w[q];
      }
      float* crow = c + i * ldc + j0;
      for (size_t q = 0; q < cols; ++q) crow[q] = acc[q] + (bias ? bias[j0 + q] : 0.0f);
    }
  }
}

PackedGemmFn packed_gemm_for(Isa isa) {
  switch (isa) {
#if defined(__x86_64__) || defined(_M_X64)
    case Isa::avx512: return gemm_packed_avx512;
    case Isa::avx2: return gemm_packed_avx2;
#endif
#if defined(__aarch64__)
    case Isa::neon: return gemm_packed_neon;
#endif
    default: return gemm_packed_scalar;
  }
}

}  // namespace bertrt::kernels
