#include <cmath>
#include <cstring>

#include "stages/stages.h"

#ifdef BERTRT_HAVE_BLAS
#include <cblas.h>
#endif

#ifdef BERTRT_HAVE_OPENMP
#include <omp.h>
#endif

namespace bertrt::core {

// Per (batch row, head): scores = Q K^T over the row's valid key span only, masked softmax,
// context = P V. Q, K and V are strided views of the fused qkv rows (row stride 3H): no copies,
// no transposes. Padded keys outside the span cost nothing.
void attention(const ModelConfig& c, Workspace& ws, const float* qkv, size_t batch, size_t seq_len,
               const uint8_t* key_valid, const KeySpan* spans, float* context, float* attentions) {
  const kernels::KernelTable& k = kernels::active();
  const size_t h = c.hidden_size, d = c.head_dim, heads = c.num_heads, ld = 3 * h, T = seq_len;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int threads = thread_count(ws);
#ifdef BERTRT_HAVE_BLAS
  openblas_set_num_threads(1);  // the (batch, head) loop below is the parallel one
#endif
  float* scores_all = grow(ws.scores, static_cast<size_t>(threads) * T * T);
  const long jobs = static_cast<long>(batch * heads);

#ifdef BERTRT_HAVE_OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
  for (long job = 0; job < jobs; ++job) {
    int tid = 0;
#ifdef BERTRT_HAVE_OPENMP
    tid = omp_get_thread_num();
#endif
    const size_t b = static_cast<size_t>(job) / heads, head = static_cast<size_t>(job) % heads;
    const KeySpan span = spans[b];
    const size_t keys = span.end - span.begin;
    float* ctx = context + b * T * h + head * d;
    float* probs_out = attentions ? attentions + (b * heads + head) * T * T : nullptr;
    if (keys == 0) {  // no valid key at all: defined as zero context
      for (size_t t = 0; t < T; ++t) std::memset(ctx + t * h, 0, d * sizeof(float));
      if (probs_out) std::memset(probs_out, 0, T * T * sizeof(float));
      continue;
    }
    const float* q = qkv + b * T * ld + head * d;
    const float* kmat = qkv + (b * T + span.begin) * ld + h + head * d;
    const float* v = qkv + (b * T + span.begin) * ld + 2 * h + head * d;
    float* scores = scores_all + static_cast<size_t>(tid) * T * T;
    kernels::sgemm(false, true, T, keys, d, 1.0f, q, ld, kmat, ld, 0.0f, scores, keys);
    k.masked_softmax(scores, T, keys, keys, scale, span.contiguous ? nullptr : key_valid + b * T + span.begin);
    kernels::sgemm(false, false, T, d, keys, 1.0f, scores, keys, v, ld, 0.0f, ctx, h);
    if (probs_out) {
      for (size_t t = 0; t < T; ++t) {
        float* row = probs_out + t * T;
        std::memset(row, 0, T * sizeof(float));
        std::memcpy(row + span.begin, scores + t * keys, keys * sizeof(float));
      }
    }
  }
}

}  // namespace bertrt::core
