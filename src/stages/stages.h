// The pipeline stages. Each is a few calls into kernels/; none knows which ISA runs.
// Shapes: N = B*T rows, H hidden, I intermediate. Inputs are validated by the caller (Session).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/aligned.h"
#include "model/model.h"
#include "stages/linear.h"
#include "threads/phases.h"

namespace bertrt::core {

// Scratch memory owned by a Session. Buffers only grow, so calls at the same or a smaller
// shape allocate nothing.
struct Workspace {
  // Float buffers are cache-line aligned (common/aligned.h).
  AlignedVector<float> embedded;   // [N, H]  embedding output inside forward
  AlignedVector<float> qkv;        // [N, 3H]
  AlignedVector<float> context;    // [N, H]
  AlignedVector<float> projected;  // [N, H]
  AlignedVector<float> attn_norm;  // [N, H]  output of the attention block
  AlignedVector<float> ffn;        // [N, I]
  AlignedVector<uint8_t> xq;       // [N, max(H, I)] activation rows quantized for int8 matrices
  AlignedVector<float> xq_scale;   // [N] their scales
  AlignedVector<int32_t> xq_zero;  // [N] and zero points
  AlignedVector<uint16_t> xbf16;   // [N, max(H, I) rounded up to even] activation rows as bf16
  AlignedVector<float> ping, pong; // [N, H]  layer outputs when the caller keeps no hidden states
  AlignedVector<float> scores;     // [threads, T, T], then [threads, T] softmax 1 / row sums
  std::vector<size_t> row_blocks;  // (first row, rows) pairs of the packed GEMM's row blocks
  std::vector<size_t> row_chunks;  // the same rows in the encoder's smaller conversion chunks
  AlignedVector<float> attn_pack;  // [threads, 2, T rounded up to 16, head_dim] packed K^T and V
  AlignedVector<float> pooled;     // [B, H]
  std::vector<int64_t> ids;      // [N] default position/type ids
  std::vector<uint8_t> key_valid;  // [B, T]
  std::vector<float*> layer_out;   // [L] destinations of the layers inside encode
  Parallel parallel;               // thread count, team, phase counters
};

template <typename T, typename A>
T* grow(std::vector<T, A>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Which keys of each row are valid, and the contiguous span that holds them.
struct KeySpan {
  size_t begin = 0, end = 0;  // valid keys lie in [begin, end)
  bool contiguous = true;     // every key in [begin, end) is valid
};

// Where each sequence's rows lie in an [N, ...] activation.
// - Padded: batch rows of seq_len tokens (sequence b at rows b * seq_len ..), with a key mask:
//   key_valid [B, T] and the span of valid keys per sequence (spans [B]).
// - Packed (offsets set): sequence b is rows [offsets[b], offsets[b + 1]), every key valid, no
//   padding anywhere; seq_len is the longest sequence (it sizes the per-thread attention scratch).
struct Sequences {
  size_t batch = 0, seq_len = 0;
  const size_t* offsets = nullptr;     // packed: [batch + 1]
  const uint8_t* key_valid = nullptr;  // padded: [batch, seq_len]
  const KeySpan* spans = nullptr;      // padded: [batch]

  bool packed() const { return offsets != nullptr; }
  size_t rows() const { return packed() ? offsets[batch] : batch * seq_len; }
  size_t first_row(size_t b) const { return packed() ? offsets[b] : b * seq_len; }
  size_t length(size_t b) const { return packed() ? offsets[b + 1] - offsets[b] : seq_len; }
  KeySpan span(size_t b) const { return packed() ? KeySpan{0, length(b), true} : spans[b]; }
  // Validity of sequence b's keys, null when every key is valid.
  const uint8_t* keys(size_t b) const { return packed() ? nullptr : key_valid + b * seq_len; }
};

// Attention split into its parts, for callers that run the (batch, head) jobs inside their own
// parallel region. attention_plan grows the per-thread scratch for `threads` threads (call it
// before the run; seq_len: the longest sequence); attention_job runs job b * heads + head on
// thread tid's scratch. attentions [B, heads, T, T] (padded batches only) may be null.
struct AttentionPlan {
  float* scores = nullptr;  // [threads, T, T]
  float* inv_sums = nullptr;  // [threads, T] 1 / softmax row sums
  float* pack = nullptr;    // [threads, slice], 64-byte aligned
  size_t slice = 0, kt_floats = 0;
};
AttentionPlan attention_plan(const ModelConfig& c, Workspace& ws, size_t batch, size_t seq_len, int threads);
void attention_job(const ModelConfig& c, const AttentionPlan& plan, int tid, size_t job, const float* qkv,
                   const Sequences& seqs, float* context, float* attentions);

// The encoder layers: x [N, H] -> layer_out[l] [N, H] for every layer l (none may alias x or
// another), on the session's team; N = seqs.rows(). attentions [L, B, heads, T, T] optional
// (padded batches only). Results are bitwise identical for every thread count; a packed batch's
// sequences equal those sequences run alone within float32 rounding (the linear layers see the
// same rows; only the GEMM row blocks differ).
void encode(const Model& model, Workspace& ws, const float* x, const Sequences& seqs, float* const* layer_out,
            float* attentions);

// out[B, H] from hidden [N, H]. attention_mask [B, T] (padded; null: all ones) is ignored for
// packed sequences, whose rows are all valid.
void pool(const Model& model, Workspace& ws, const float* hidden, const int64_t* attention_mask,
          const Sequences& seqs, bertrt_pool_mode mode, bool normalize, float* out);

}  // namespace bertrt::core

namespace bertrt::core {

// Widths: E = embedding_size (= H except ELECTRA).
// inputs_embeds[n, E] = word_embeddings[input_ids[n]].
void lookup(const Model& model, const int64_t* input_ids, size_t n, float* out);

// out[N, E] = LayerNorm(word + position + type); word from inputs_embeds, or from the table by
// input_ids when inputs_embeds is null (the fused path of forward). Null ids take the defaults:
// types 0; positions from default_position_ids (from input_ids when inputs_embeds is null), per
// sequence (a packed sequence gets the positions it would get alone). Rows N = seqs.rows().
void embed(const Model& model, Workspace& ws, const float* inputs_embeds, const int64_t* input_ids,
           const int64_t* token_type_ids, const int64_t* position_ids, const Sequences& seqs, float* out);

// The default position ids out[B, T] of the model's family: 0..T-1 (BERT, DistilBERT, ELECTRA);
// RoBERTa, XLM-R, CamemBERT: from input_ids padding_idx + the running count of non-pad ids (pad ids
// get padding_idx), without ids (input_ids null) padding_idx + 1 .. padding_idx + T.
void default_position_ids(const ModelConfig& c, const int64_t* input_ids, size_t batch, size_t seq_len,
                          int64_t* out);

}  // namespace bertrt::core
