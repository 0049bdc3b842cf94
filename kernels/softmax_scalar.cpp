#include <cmath>
#include <limits>

#include "kernels/scalar.h"

namespace bertrt::kernels::scalar {

void masked_softmax(float* x, size_t rows, size_t cols, size_t ld, float scale, const uint8_t* key_valid,
                    float* inv_sums) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    float max_value = -std::numeric_limits<float>::infinity();
    bool any = false;
    for (size_t c = 0; c < cols; ++c) {
      if (key_valid && !key_valid[c]) continue;
      any = true;
      max_value = std::fmax(max_value, row[c] * scale);
    }
    if (!any) {
      for (size_t c = 0; c < cols; ++c) row[c] = 0.0f;
      if (inv_sums) inv_sums[r] = 0.0f;
      continue;
    }
    double sum = 0.0;
    for (size_t c = 0; c < cols; ++c) {
      if (key_valid && !key_valid[c]) {
        row[c] = 0.0f;
        continue;
      }
      row[c] = std::exp(row[c] * scale - max_value);
      sum += row[c];
    }
    const float inv = static_cast<float>(1.0 / sum);
    if (inv_sums) {
      inv_sums[r] = inv;
      continue;
    }
    for (size_t c = 0; c < cols; ++c) row[c] *= inv;
  }
}

}  // namespace bertrt::kernels::scalar
