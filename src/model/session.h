// A Session: one caller's scratch memory over a shared Model. Not thread-safe; use one per thread.
#pragma once

#include <memory>

#include "model/model.h"
#include "stages/head.h"
#include "stages/stages.h"

namespace bertrt::core {

class Session {
 public:
  explicit Session(std::shared_ptr<const Model> model) : model_(std::move(model)) {}

  const Model& model() const { return *model_; }
  void set_threads(int threads);

  // lookup and embed work at width E = embedding_size; encode, pool and forward's hidden states at H.
  void lookup(const int64_t* input_ids, size_t batch, size_t seq_len, float* inputs_embeds_out);
  void embed(const float* inputs_embeds, const int64_t* token_type_ids, const int64_t* position_ids, size_t batch,
             size_t seq_len, float* out);
  // hidden[B, T, H] = ELECTRA's embeddings_project of embedding_output[B, T, E] (the step forward
  // takes between embed and encode); an unchanged copy for models without a projection (E == H).
  void project(const float* embedding_output, size_t batch, size_t seq_len, float* hidden_out);
  // hidden_states [L+1, B, T, H] and attentions [L, B, heads, T, T] are optional.
  void encode(const float* hidden, const int64_t* attention_mask, size_t batch, size_t seq_len, float* hidden_states,
              float* attentions, float* last_hidden_state_out);
  void pool(const float* last_hidden_state, const int64_t* attention_mask, size_t batch, size_t seq_len,
            bertrt_pool_mode mode, bool normalize, float* out);
  void forward(const bertrt_forward_inputs& in, const bertrt_forward_outputs& out);
  // The task head's logits from last_hidden_state [B, T, H]: [B, L] (sequence), [B, T, L] (token),
  // [B, T, V] (masked LM). head_at: token and masked-LM heads at positions[count] (flat token
  // indices b * T + t) only, logits [count, L or V].
  void head(const float* last_hidden_state, const int64_t* attention_mask, size_t batch, size_t seq_len,
            float* logits_out);
  void head_at(const float* last_hidden_state, size_t batch, size_t seq_len, const int64_t* positions, size_t count,
               float* logits_out);
  // Packed batches: `batch` sequences back to back in [N, ...] rows, sequence b at rows
  // [offsets[b], offsets[b + 1]) (bertrt.h, "Packed batches"). Each result row equals the one its
  // sequence gets alone (padded calls with a mask of ones) within float32 rounding.
  void embed_packed(const float* inputs_embeds, const int64_t* token_type_ids, const int64_t* position_ids,
                    const int64_t* offsets, size_t batch, float* out);
  void encode_packed(const float* hidden, const int64_t* offsets, size_t batch, float* hidden_states,
                     float* last_hidden_state_out);
  void pool_packed(const float* last_hidden_state, const int64_t* offsets, size_t batch, bertrt_pool_mode mode,
                   bool normalize, float* out);
  void head_packed(const float* last_hidden_state, const int64_t* offsets, size_t batch, float* logits_out);
  void forward_packed(const bertrt_packed_inputs& in, const bertrt_forward_outputs& out);
  // Jobs each thread ran in the last parallel run (slot = thread index), for tests.
  const std::vector<long>& jobs_by_thread() const { return ws_.parallel.jobs_by_thread; }

 private:
  void check_shape(size_t batch, size_t seq_len) const;
  void check_ids(const int64_t* input_ids, size_t batch, size_t seq_len) const;
  void check_types_positions(const int64_t* token_type_ids, const int64_t* position_ids, size_t batch,
                             size_t seq_len) const;
  void check_finite(const float* x, size_t count, const char* what) const;
  void check_mask(const int64_t* mask, size_t batch, size_t seq_len) const;
  void require_head() const;
  // Fills ws_.key_valid and spans_ from a [B, T] mask (null: all valid).
  void set_spans(const int64_t* mask, size_t batch, size_t seq_len);
  // The padded layout of a [B, T] grid under mask (fills the key spans).
  Sequences padded(const int64_t* mask, size_t batch, size_t seq_len);
  // Checks a packed batch's offsets[batch + 1] and keeps them (as size_t) for the call.
  Sequences packed(const int64_t* offsets, size_t batch);
  void head_unchecked(const float* hidden, const int64_t* mask, const Sequences& layout, float* logits);
  void encode_unchecked(const float* hidden, const Sequences& seqs, float* hidden_states, float* attentions,
                        float* out);
  void forward_unchecked(const bertrt_forward_inputs& in, const Sequences& layout, const bertrt_forward_outputs& out);

  std::shared_ptr<const Model> model_;
  Workspace ws_;
  std::vector<KeySpan> spans_;
  std::vector<size_t> offsets_;  // a packed call's offsets
  AlignedVector<float> encoder_in_;  // [N, H] ELECTRA's projected embeddings inside forward
  HeadScratch head_scratch_;
};

}  // namespace bertrt::core
