#include <cmath>

#include "kernels/scalar.h"

namespace bertrt::kernels::scalar {

float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752440f)); }

float gelu_tanh(float x) {
  const float k = 0.79788456080286535588f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

void bias_activation(float* x, size_t rows, size_t cols, size_t ld, const float* bias, Activation act) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    for (size_t c = 0; c < cols; ++c) {
      float v = row[c] + (bias ? bias[c] : 0.0f);
      switch (act) {
        case Activation::none: break;
        case Activation::gelu_erf: v = gelu_erf(v); break;
        case Activation::gelu_tanh: v = gelu_tanh(v); break;
        case Activation::relu: v = v > 0.0f ? v : 0.0f; break;
      }
      row[c] = v;
    }
  }
}

}  // namespace bertrt::kernels::scalar
