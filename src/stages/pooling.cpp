#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "stages/stages.h"

namespace bertrt::core {

// Matches sentence-transformers: mean over tokens with mask 1 divided by max(count, 1e-9);
// max over tokens with mask 1 (a row with none gives -1e9, as masked tokens are set to -1e9 there);
// normalisation divides by max(L2 norm, 1e-12).
void pool(const Model& model, Workspace& ws, const float* hidden, const int64_t* mask, const Sequences& seqs,
          bertrt_pool_mode mode, bool normalize, float* out) {
  const ModelConfig& c = model.config();
  const size_t h = c.hidden_size, batch = seqs.batch;
  if (seqs.packed()) mask = nullptr;
  // Sequence b: its rows and their mask (null: all valid).
  auto rows = [&](size_t b) { return hidden + seqs.first_row(b) * h; };
  auto valid = [&](size_t b, size_t t) { return !mask || mask[b * seqs.seq_len + t] != 0; };
  switch (mode) {
    case BERTRT_POOL_CLS:
      for (size_t b = 0; b < batch; ++b) std::memcpy(out + b * h, rows(b), h * sizeof(float));
      break;
    case BERTRT_POOL_MEAN:
      for (size_t b = 0; b < batch; ++b) {
        std::vector<double> sum(h, 0.0);
        double count = 0.0;
        for (size_t t = 0; t < seqs.length(b); ++t) {
          if (!valid(b, t)) continue;
          const float* row = rows(b) + t * h;
          for (size_t j = 0; j < h; ++j) sum[j] += row[j];
          count += 1.0;
        }
        const double denom = std::max(count, 1e-9);
        for (size_t j = 0; j < h; ++j) out[b * h + j] = static_cast<float>(sum[j] / denom);
      }
      break;
    case BERTRT_POOL_MAX:
      for (size_t b = 0; b < batch; ++b) {
        float* o = out + b * h;
        std::fill(o, o + h, -1e9f);
        for (size_t t = 0; t < seqs.length(b); ++t) {
          if (!valid(b, t)) continue;
          const float* row = rows(b) + t * h;
          for (size_t j = 0; j < h; ++j) o[j] = std::max(o[j], row[j]);
        }
      }
      break;
    case BERTRT_POOL_POOLER: {
      if (!model.has_pooler())
        throw Error(BERTRT_ERROR_NO_POOLER, "this model has no pooler weights (converted without a pooler)");
      float* first = grow(ws.pooled, batch * h);
      for (size_t b = 0; b < batch; ++b) std::memcpy(first + b * h, rows(b), h * sizeof(float));
      linear(ws, first, batch, model.pooler(), model.pooler_bias(), kernels::Activation::none, out);
      for (size_t i = 0; i < batch * h; ++i) out[i] = std::tanh(out[i]);
      break;
    }
    default: throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "unknown pooling mode " + std::to_string(static_cast<int>(mode)));
  }
  if (normalize) {
    for (size_t b = 0; b < batch; ++b) {
      float* o = out + b * h;
      double sq = 0.0;
      for (size_t j = 0; j < h; ++j) sq += static_cast<double>(o[j]) * o[j];
      const double inv = 1.0 / std::max(std::sqrt(sq), 1e-12);
      for (size_t j = 0; j < h; ++j) o[j] = static_cast<float>(o[j] * inv);
    }
  }
}

}  // namespace bertrt::core
