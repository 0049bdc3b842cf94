// Packed batches: sequences of different lengths back to back, no padding (bertrt.h, "Packed
// batches"). The checks of session.cpp apply to the N rows as one flat run of tokens; the stages
// take a packed Sequences layout.
#include <algorithm>
#include <string>

#include "common/error.h"
#include "model/session.h"

namespace bertrt::core {

Sequences Session::packed(const int64_t* offsets, size_t batch) {
  const ModelConfig& c = model_->config();
  if (!offsets) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "offsets is NULL");
  if (batch == 0 || batch > (size_t{1} << 24))
    throw Error(BERTRT_ERROR_SHAPE, "batch must be in [1, 2^24] (got " + std::to_string(batch) + ")");
  if (offsets[0] != 0)
    throw Error(BERTRT_ERROR_SHAPE, "offsets[0] = " + std::to_string(offsets[0]) + " (must be 0)");
  offsets_.resize(batch + 1);
  offsets_[0] = 0;
  size_t longest = 0;
  for (size_t b = 0; b < batch; ++b) {
    if (offsets[b + 1] <= offsets[b])
      throw Error(BERTRT_ERROR_SHAPE, "sequence " + std::to_string(b) + " is empty or negative: offsets[" +
                                          std::to_string(b) + "] = " + std::to_string(offsets[b]) + ", offsets[" +
                                          std::to_string(b + 1) + "] = " + std::to_string(offsets[b + 1]));
    if (offsets[b + 1] > (int64_t{1} << 26))
      throw Error(BERTRT_ERROR_SHAPE, "a packed batch holds at most 2^26 tokens (offsets[" +
                                          std::to_string(b + 1) + "] = " + std::to_string(offsets[b + 1]) + ")");
    const int64_t len = offsets[b + 1] - offsets[b];  // both in [0, 2^26] now
    if (static_cast<uint64_t>(len) > c.max_seq_len)
      throw Error(BERTRT_ERROR_SEQUENCE_TOO_LONG, "sequence " + std::to_string(b) + " has " + std::to_string(len) +
                                                      " tokens, more than the model's " +
                                                      std::to_string(c.max_seq_len));
    offsets_[b + 1] = static_cast<size_t>(offsets[b + 1]);
    longest = std::max(longest, static_cast<size_t>(len));
  }
  return Sequences{batch, longest, offsets_.data()};
}

void Session::embed_packed(const float* inputs_embeds, const int64_t* token_type_ids, const int64_t* position_ids,
                           const int64_t* offsets, size_t batch, float* out) {
  const Sequences seqs = packed(offsets, batch);
  const size_t n = seqs.rows();
  check_finite(inputs_embeds, n * model_->config().embedding_size, "inputs_embeds");
  check_types_positions(token_type_ids, position_ids, 1, n);
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "embedding_output_out is NULL");
  core::embed(*model_, ws_, inputs_embeds, nullptr, token_type_ids, position_ids, seqs, out);
}

void Session::encode_packed(const float* hidden, const int64_t* offsets, size_t batch, float* hidden_states,
                            float* out) {
  const Sequences seqs = packed(offsets, batch);
  check_finite(hidden, seqs.rows() * model_->config().hidden_size, "hidden");
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "last_hidden_state_out is NULL");
  encode_unchecked(hidden, seqs, hidden_states, nullptr, out);
}

void Session::pool_packed(const float* hidden, const int64_t* offsets, size_t batch, bertrt_pool_mode mode,
                          bool normalize, float* out) {
  const Sequences seqs = packed(offsets, batch);
  check_finite(hidden, seqs.rows() * model_->config().hidden_size, "last_hidden_state");
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "pooled_out is NULL");
  core::pool(*model_, ws_, hidden, nullptr, seqs, mode, normalize, out);
}

void Session::head_packed(const float* hidden, const int64_t* offsets, size_t batch, float* out) {
  require_head();
  const Sequences seqs = packed(offsets, batch);
  check_finite(hidden, seqs.rows() * model_->config().hidden_size, "last_hidden_state");
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "logits_out is NULL");
  head_unchecked(hidden, nullptr, seqs, out);
}

void Session::forward_packed(const bertrt_packed_inputs& in, const bertrt_forward_outputs& out) {
  const Sequences seqs = packed(in.offsets, in.batch);
  if ((in.input_ids == nullptr) == (in.inputs_embeds == nullptr))
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "give exactly one of input_ids and inputs_embeds");
  if (!out.last_hidden_state) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "last_hidden_state output is NULL");
  if (out.attentions)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
                "a packed forward gives no attentions (they are [B, heads, T, T]: ask a padded forward)");
  if (out.pooler_output && !model_->has_pooler())
    throw Error(BERTRT_ERROR_NO_POOLER, "pooler_output requested but this model has no pooler weights");
  if (out.logits) require_head();
  const size_t n = seqs.rows();
  if (in.input_ids)
    check_ids(in.input_ids, 1, n);
  else
    check_finite(in.inputs_embeds, n * model_->config().embedding_size, "inputs_embeds");
  check_types_positions(in.token_type_ids, in.position_ids, 1, n);
  bertrt_forward_inputs rows{};
  rows.input_ids = in.input_ids;
  rows.inputs_embeds = in.inputs_embeds;
  rows.token_type_ids = in.token_type_ids;
  rows.position_ids = in.position_ids;
  forward_unchecked(rows, seqs, out);
}

}  // namespace bertrt::core
