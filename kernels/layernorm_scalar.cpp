#include <cmath>

#include "kernels/scalar.h"

namespace bertrt::kernels::scalar {

// Two passes (mean, then centred variance) in double: the reference must not lose digits
// when a row has a large mean.
void layernorm_row(const float* in, const float* gamma, const float* beta, float eps, size_t hidden, float* out) {
  double sum = 0.0;
  for (size_t j = 0; j < hidden; ++j) sum += in[j];
  const double mean = sum / static_cast<double>(hidden);
  double var = 0.0;
  for (size_t j = 0; j < hidden; ++j) {
    const double d = in[j] - mean;
    var += d * d;
  }
  var /= static_cast<double>(hidden);
  const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
  for (size_t j = 0; j < hidden; ++j)
    out[j] = static_cast<float>((in[j] - mean) * inv) * gamma[j] + beta[j];
}

// The sum is formed in the output row itself (element j only reads a[j], b[j] before writing
// out[j], so out may alias a or b), then normalised in place: no scratch memory.
void add_bias_layernorm(const float* a, const float* b, const float* bias, const float* gamma, const float* beta,
                        float eps, size_t n, size_t hidden, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float* ar = a + i * hidden;
    const float* br = b + i * hidden;
    float* row = out + i * hidden;
    for (size_t j = 0; j < hidden; ++j) row[j] = ar[j] + br[j] + (bias ? bias[j] : 0.0f);
    layernorm_row(row, gamma, beta, eps, hidden, row);
  }
}

void embed_layernorm(const EmbedLayerNormArgs& args) {
  const size_t h = args.hidden;
  for (size_t i = 0; i < args.rows; ++i) {
    float* row = args.out + i * h;  // the sum is formed in place (inputs_embeds may alias out)
    if (args.inputs_embeds) {
      for (size_t j = 0; j < h; ++j) row[j] = args.inputs_embeds[i * h + j];
    } else {
      const size_t id = static_cast<size_t>(args.input_ids[i]);
      switch (args.word_dtype) {
        case DType::f32: gather_f32(static_cast<const float*>(args.word_table), args.input_ids + i, 1, h, row); break;
        case DType::f16: f16_to_f32(static_cast<const uint16_t*>(args.word_table) + id * h, h, row); break;
        case DType::bf16: bf16_to_f32(static_cast<const uint16_t*>(args.word_table) + id * h, h, row); break;
      }
    }
    const float* pos = args.position_table + static_cast<size_t>(args.position_ids[i]) * h;
    const float* typ = args.type_table + static_cast<size_t>(args.token_type_ids[i]) * h;
    for (size_t j = 0; j < h; ++j) row[j] = row[j] + pos[j] + typ[j];
    layernorm_row(row, args.gamma, args.beta, args.eps, h, row);
  }
}

}  // namespace bertrt::kernels::scalar
