#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/gemm_packed.h"
#include "stages/stages.h"


namespace bertrt::core {
namespace {

constexpr size_t P = kernels::kPackedPanel;

// K^T [d, keys] of one head into panels: panel j, row p holds K[16 j + q][p] (zero past keys).
void pack_kt(const float* kmat, size_t ld, size_t keys, size_t d, float* out) {
  const size_t panels = (keys + P - 1) / P;
  for (size_t j = 0; j < panels; ++j) {
    float* panel = out + j * P * d;
    const size_t cols = std::min(P, keys - j * P);
    for (size_t q = 0; q < cols; ++q) {
      const float* krow = kmat + (j * P + q) * ld;
      for (size_t p = 0; p < d; ++p) panel[p * P + q] = krow[p];
    }
    for (size_t q = cols; q < P; ++q)
      for (size_t p = 0; p < d; ++p) panel[p * P + q] = 0.0f;
  }
}

}  // namespace

AttentionPlan attention_plan(const ModelConfig& c, Workspace& ws, size_t batch, size_t seq_len, int threads) {
  const size_t d = c.head_dim, T = seq_len;
  (void)batch;
  AttentionPlan p;
  p.kt_floats = (T + P - 1) / P * P * d;
  const size_t v_floats = kernels::packed_floats(T, d);
  p.slice = (p.kt_floats + v_floats + P - 1) / P * P;
  p.scores = grow(ws.scores, static_cast<size_t>(threads) * (T * T + T));
  p.inv_sums = p.scores + static_cast<size_t>(threads) * T * T;
  // Per thread: K^T packed [ceil(T/16) panels of d x 16] then V packed [ceil(d/16) panels of T x 16],
  // each slice a multiple of 16 floats so that every slice starts 64-byte aligned as the buffer does.
  p.pack = grow(ws.attn_pack, static_cast<size_t>(threads) * p.slice);
  return p;
}

// One (sequence, head): scores = Q K^T over the sequence's valid key span only, masked softmax,
// context = P V. Q, K and V are strided views of the fused qkv rows (row stride 3H): no copies,
// no transposes. Padded keys outside the span cost nothing.
void attention_job(const ModelConfig& c, const AttentionPlan& plan, int tid, size_t job, const float* qkv,
                   const Sequences& seqs, float* context, float* attentions) {
  const kernels::KernelTable& k = kernels::active();
  const auto gemm = k.gemm_packed_f32;
  const size_t h = c.hidden_size, d = c.head_dim, heads = c.num_heads, ld = 3 * h;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const size_t b = job / heads, head = job % heads;
  const size_t T = seqs.length(b), row0 = seqs.first_row(b), TT = seqs.seq_len;  // TT: scratch stride
  const KeySpan span = seqs.span(b);
  const size_t keys = span.end - span.begin;
  float* ctx = context + row0 * h + head * d;
  float* probs_out = attentions ? attentions + (b * heads + head) * T * T : nullptr;
  if (keys == 0) {  // no valid key at all: defined as zero context
    for (size_t t = 0; t < T; ++t) std::memset(ctx + t * h, 0, d * sizeof(float));
    if (probs_out) std::memset(probs_out, 0, T * T * sizeof(float));
    return;
  }
  const float* q = qkv + row0 * ld + head * d;
  const float* kmat = qkv + (row0 + span.begin) * ld + h + head * d;
  const float* v = qkv + (row0 + span.begin) * ld + 2 * h + head * d;
  float* scores = plan.scores + static_cast<size_t>(tid) * TT * TT;
  float* kt = plan.pack + static_cast<size_t>(tid) * plan.slice;
  float* vp = kt + plan.kt_floats;
  // scores[T, keys] = Q K^T; context[T, d] = P V: the packed micro-kernels on per-head packed
  // copies of K^T and V (O(keys d) to pack, O(T keys d) to multiply).
  pack_kt(kmat, ld, keys, d, kt);
  // Query rows after the last valid token are padding: not computed, context and probabilities 0.
  const size_t qrows = span.end;
  gemm(qrows, keys, d, q, ld, kt, nullptr, scores, keys);
  // The softmax rows stay unnormalised and the rows of P V (d values each) are scaled by 1 / sum
  // instead of the rows of P (keys values each); probabilities, when asked for, are scaled on the
  // way out, so the context is the same with or without them.
  float* inv_sums = plan.inv_sums + static_cast<size_t>(tid) * TT;
  k.masked_softmax(scores, qrows, keys, keys, scale, span.contiguous ? nullptr : seqs.keys(b) + span.begin,
                   inv_sums);
  kernels::pack_panels(v, keys, d, ld, vp);
  gemm(qrows, d, keys, scores, keys, vp, nullptr, ctx, h);
  for (size_t t = 0; t < qrows; ++t) {
    float* row = ctx + t * h;
    const float s = inv_sums[t];
    for (size_t i = 0; i < d; ++i) row[i] *= s;
  }
  for (size_t t = qrows; t < T; ++t) std::memset(ctx + t * h, 0, d * sizeof(float));
  if (probs_out) {
    for (size_t t = 0; t < T; ++t) {
      float* row = probs_out + t * T;
      std::memset(row, 0, T * sizeof(float));
      if (t < qrows) {
        const float* e = scores + t * keys;
        const float s = inv_sums[t];
        for (size_t j = 0; j < keys; ++j) row[span.begin + j] = e[j] * s;
      }
    }
  }
}

}  // namespace bertrt::core
