#include "model/session.h"

#include <cmath>
#include <cstring>
#include <string>

#include "common/error.h"

namespace bertrt::core {
namespace {

std::string at(size_t i, size_t seq_len) {
  return "[" + std::to_string(i / seq_len) + ", " + std::to_string(i % seq_len) + "]";
}

}  // namespace

void Session::set_threads(int threads) {
  if (threads < 0) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "threads must be >= 0");
  ws_.parallel.threads = threads;
}

void Session::check_shape(size_t batch, size_t seq_len) const {
  const ModelConfig& c = model_->config();
  if (batch == 0 || seq_len == 0)
    throw Error(BERTRT_ERROR_SHAPE, "batch and seq_len must be positive (got " + std::to_string(batch) + " x " +
                                        std::to_string(seq_len) + ")");
  if (seq_len > c.max_seq_len)
    throw Error(BERTRT_ERROR_SEQUENCE_TOO_LONG,
                "seq_len " + std::to_string(seq_len) + " exceeds the model's max_position_embeddings " +
                    std::to_string(c.max_positions) +
                    (c.position_offset ? " minus padding_idx + 1 = " + std::to_string(c.max_seq_len) : std::string()));
  // Keep every buffer size (largest: B*heads*T*T attentions, B*T*I activations) far from overflow.
  if (batch > (size_t{1} << 24) || batch * seq_len > (size_t{1} << 26))
    throw Error(BERTRT_ERROR_SHAPE, "batch " + std::to_string(batch) + " x seq_len " + std::to_string(seq_len) +
                                        " is too large");
}

void Session::check_ids(const int64_t* ids, size_t batch, size_t seq_len) const {
  if (!ids) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "input_ids is NULL");
  const int64_t v = static_cast<int64_t>(model_->config().vocab_size);
  for (size_t i = 0; i < batch * seq_len; ++i)
    if (ids[i] < 0 || ids[i] >= v)
      throw Error(BERTRT_ERROR_TOKEN_ID, "input_ids" + at(i, seq_len) + " = " + std::to_string(ids[i]) +
                                             " is outside the vocabulary [0, " + std::to_string(v) + ")");
}

void Session::check_types_positions(const int64_t* types, const int64_t* positions, size_t batch,
                                    size_t seq_len) const {
  const ModelConfig& c = model_->config();
  const int64_t tv = static_cast<int64_t>(c.type_vocab_size), pv = static_cast<int64_t>(c.max_positions);
  for (size_t i = 0; types && tv == 0 && i < batch * seq_len; ++i)
    if (types[i] != 0)
      throw Error(BERTRT_ERROR_TOKEN_TYPE, "token_type_ids" + at(i, seq_len) + " = " + std::to_string(types[i]) +
                                               ", but a " + family_name(c.family) +
                                               " model has no token types (pass NULL or zeros)");
  for (size_t i = 0; types && tv > 0 && i < batch * seq_len; ++i)
    if (types[i] < 0 || types[i] >= tv)
      throw Error(BERTRT_ERROR_TOKEN_TYPE, "token_type_ids" + at(i, seq_len) + " = " + std::to_string(types[i]) +
                                               " is outside [0, type_vocab_size = " + std::to_string(tv) + ")");
  for (size_t i = 0; positions && i < batch * seq_len; ++i)
    if (positions[i] < 0 || positions[i] >= pv)
      throw Error(BERTRT_ERROR_POSITION, "position_ids" + at(i, seq_len) + " = " + std::to_string(positions[i]) +
                                             " is outside [0, max_position_embeddings = " + std::to_string(pv) + ")");
}

void Session::check_finite(const float* x, size_t count, const char* what) const {
  if (!x) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  for (size_t i = 0; i < count; ++i)
    if (!std::isfinite(x[i]))
      throw Error(BERTRT_ERROR_NON_FINITE, std::string(what) + " holds a NaN or Inf at element " + std::to_string(i));
}

void Session::check_mask(const int64_t* mask, size_t batch, size_t seq_len) const {
  for (size_t i = 0; mask && i < batch * seq_len; ++i)
    if (mask[i] != 0 && mask[i] != 1)
      throw Error(BERTRT_ERROR_ATTENTION_MASK,
                  "attention_mask" + at(i, seq_len) + " = " + std::to_string(mask[i]) + " (must be 0 or 1)");
}

void Session::lookup(const int64_t* input_ids, size_t batch, size_t seq_len, float* out) {
  check_shape(batch, seq_len);
  check_ids(input_ids, batch, seq_len);
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "inputs_embeds_out is NULL");
  core::lookup(*model_, input_ids, batch * seq_len, out);
}

void Session::embed(const float* inputs_embeds, const int64_t* token_type_ids, const int64_t* position_ids,
                    size_t batch, size_t seq_len, float* out) {
  check_shape(batch, seq_len);
  check_finite(inputs_embeds, batch * seq_len * model_->config().embedding_size, "inputs_embeds");
  check_types_positions(token_type_ids, position_ids, batch, seq_len);
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "embedding_output_out is NULL");
  core::embed(*model_, ws_, inputs_embeds, nullptr, token_type_ids, position_ids, Sequences{batch, seq_len}, out);
}

void Session::project(const float* embedding_output, size_t batch, size_t seq_len, float* out) {
  check_shape(batch, seq_len);
  const ModelConfig& c = model_->config();
  const size_t n = batch * seq_len;
  check_finite(embedding_output, n * c.embedding_size, "embedding_output");
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "hidden_out is NULL");
  if (model_->has_projection())
    core::linear(ws_, embedding_output, n, model_->projection(), model_->projection_bias(), kernels::Activation::none,
                 out);
  else if (out != embedding_output)
    std::memcpy(out, embedding_output, n * c.hidden_size * sizeof(float));
}

void Session::encode(const float* hidden, const int64_t* mask, size_t batch, size_t seq_len, float* hidden_states,
                     float* attentions, float* out) {
  check_shape(batch, seq_len);
  check_finite(hidden, batch * seq_len * model_->config().hidden_size, "hidden");
  check_mask(mask, batch, seq_len);
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "last_hidden_state_out is NULL");
  encode_unchecked(hidden, padded(mask, batch, seq_len), hidden_states, attentions, out);
}

Sequences Session::padded(const int64_t* mask, size_t batch, size_t seq_len) {
  set_spans(mask, batch, seq_len);
  return Sequences{batch, seq_len, nullptr, ws_.key_valid.data(), spans_.data()};
}

void Session::encode_unchecked(const float* hidden, const Sequences& seqs, float* hidden_states, float* attentions,
                               float* out) {
  const ModelConfig& c = model_->config();
  const size_t nh = seqs.rows() * c.hidden_size, layers = c.num_layers;
  if (hidden_states && hidden_states != hidden) std::memcpy(hidden_states, hidden, nh * sizeof(float));
  if (layers == 0) {
    if (out != hidden) std::memcpy(out, hidden, nh * sizeof(float));
    return;
  }
  // Layer outputs: the caller's hidden_states, else two scratch buffers in turn; the last into out.
  float** dsts = grow(ws_.layer_out, layers);
  for (size_t l = 0; l < layers; ++l)
    dsts[l] = l + 1 == layers ? out : hidden_states ? hidden_states + (l + 1) * nh : grow(l % 2 ? ws_.pong : ws_.ping, nh);
  core::encode(*model_, ws_, hidden, seqs, dsts, attentions);
  if (hidden_states) std::memcpy(hidden_states + layers * nh, out, nh * sizeof(float));
}

// Key validity per row and the span of valid keys: attention (and the head) skip everything outside it.
void Session::set_spans(const int64_t* mask, size_t batch, size_t seq_len) {
  uint8_t* valid = grow(ws_.key_valid, batch * seq_len);
  if (spans_.size() < batch) spans_.resize(batch);
  for (size_t b = 0; b < batch; ++b) {
    KeySpan s{seq_len, 0, true};
    size_t count = 0;
    for (size_t t = 0; t < seq_len; ++t) {
      const bool v = !mask || mask[b * seq_len + t] != 0;
      valid[b * seq_len + t] = v ? 1 : 0;
      if (v) {
        s.begin = std::min(s.begin, t);
        s.end = t + 1;
        ++count;
      }
    }
    if (count == 0) s = KeySpan{0, 0, true};
    s.contiguous = count == s.end - s.begin;
    spans_[b] = s;
  }
}

void Session::pool(const float* hidden, const int64_t* mask, size_t batch, size_t seq_len, bertrt_pool_mode mode,
                   bool normalize, float* out) {
  check_shape(batch, seq_len);
  check_finite(hidden, batch * seq_len * model_->config().hidden_size, "last_hidden_state");
  check_mask(mask, batch, seq_len);
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "pooled_out is NULL");
  core::pool(*model_, ws_, hidden, mask, Sequences{batch, seq_len}, mode, normalize, out);
}

void Session::forward(const bertrt_forward_inputs& in, const bertrt_forward_outputs& out) {
  const size_t batch = in.batch, seq_len = in.seq_len;
  check_shape(batch, seq_len);
  if ((in.input_ids == nullptr) == (in.inputs_embeds == nullptr))
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "give exactly one of input_ids and inputs_embeds");
  if (!out.last_hidden_state) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "last_hidden_state output is NULL");
  if (out.pooler_output && !model_->has_pooler())
    throw Error(BERTRT_ERROR_NO_POOLER, "pooler_output requested but this model has no pooler weights");
  if (out.logits) require_head();
  const ModelConfig& c = model_->config();
  const size_t n = batch * seq_len;
  if (in.input_ids)
    check_ids(in.input_ids, batch, seq_len);
  else
    check_finite(in.inputs_embeds, n * c.embedding_size, "inputs_embeds");
  check_types_positions(in.token_type_ids, in.position_ids, batch, seq_len);
  check_mask(in.attention_mask, batch, seq_len);
  forward_unchecked(in, Sequences{batch, seq_len}, out);
}

// embed (-> project) -> encode (-> pooler) (-> head) over checked inputs; layout: packed
// sequences, or a padded [B, T] grid whose mask is in.attention_mask.
void Session::forward_unchecked(const bertrt_forward_inputs& in, const Sequences& layout,
                                const bertrt_forward_outputs& out) {
  const ModelConfig& c = model_->config();
  const size_t n = layout.rows(), nh = n * c.hidden_size;
  // The embedding output lands where the caller wants it, else in hidden_states[0] (when it is the
  // encoder input), else scratch. ELECTRA then projects it from E to H: the encoder input.
  const bool project = model_->has_projection();
  float* emb = out.embedding_output                ? out.embedding_output
               : out.hidden_states && !project ? out.hidden_states
                                                   : grow(ws_.embedded, n * c.embedding_size);
  core::embed(*model_, ws_, in.inputs_embeds, in.input_ids, in.token_type_ids, in.position_ids, layout, emb);
  const float* encoder_in = emb;
  if (project) {
    float* projected = out.hidden_states ? out.hidden_states : grow(encoder_in_, nh);
    core::linear(ws_, emb, n, model_->projection(), model_->projection_bias(), kernels::Activation::none, projected);
    encoder_in = projected;
  }
  const int64_t* mask = layout.packed() ? nullptr : in.attention_mask;
  encode_unchecked(encoder_in, layout.packed() ? layout : padded(mask, layout.batch, layout.seq_len),
                   out.hidden_states, out.attentions, out.last_hidden_state);
  if (out.pooler_output)
    core::pool(*model_, ws_, out.last_hidden_state, mask, layout, BERTRT_POOL_POOLER, false, out.pooler_output);
  if (out.logits) head_unchecked(out.last_hidden_state, mask, layout, out.logits);
}

void Session::require_head() const {
  if (model_->head().kind == HeadKind::none)
    throw Error(BERTRT_ERROR_NO_HEAD, "this model has no task head (converted from a base model, or without heads)");
}

void Session::head(const float* hidden, const int64_t* mask, size_t batch, size_t seq_len, float* out) {
  require_head();
  check_shape(batch, seq_len);
  check_finite(hidden, batch * seq_len * model_->config().hidden_size, "last_hidden_state");
  check_mask(mask, batch, seq_len);
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "logits_out is NULL");
  head_unchecked(hidden, mask, Sequences{batch, seq_len}, out);
}

void Session::head_unchecked(const float* hidden, const int64_t* mask, const Sequences& layout, float* out) {
  const size_t H = model_->config().hidden_size, batch = layout.batch;
  if (model_->head().kind == HeadKind::sequence) {
    float* first = grow(head_scratch_.rows, batch * H);  // token 0 of each sequence
    for (size_t b = 0; b < batch; ++b)
      std::memcpy(first + b * H, hidden + layout.first_row(b) * H, H * sizeof(float));
    core::head(*model_, ws_, head_scratch_, first, batch, nullptr, out);
    return;
  }
  if (layout.packed()) {  // every row is a token
    core::head(*model_, ws_, head_scratch_, hidden, layout.rows(), nullptr, out);
    return;
  }
  const Sequences seqs = padded(mask, batch, layout.seq_len);
  const RowBlocks rows = row_blocks(ws_, batch, seqs.seq_len, seqs.spans);
  core::head(*model_, ws_, head_scratch_, hidden, seqs.rows(), &rows, out);
}

void Session::head_at(const float* hidden, size_t batch, size_t seq_len, const int64_t* positions, size_t count,
                      float* out) {
  require_head();
  if (model_->head().kind == HeadKind::sequence)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
                "this model's head is a sequence head (one row of logits per sequence, from token 0): positions "
                "apply to token and masked-LM heads");
  check_shape(batch, seq_len);
  if (!hidden) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "last_hidden_state is NULL");
  if (!positions) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "positions is NULL");
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "logits_out is NULL");
  if (count == 0 || count > (size_t{1} << 26))
    throw Error(BERTRT_ERROR_SHAPE, "count must be in [1, 2^26] (got " + std::to_string(count) + ")");
  const size_t H = model_->config().hidden_size, n = batch * seq_len;
  float* rows = grow(head_scratch_.rows, count * H);
  for (size_t i = 0; i < count; ++i) {
    if (positions[i] < 0 || static_cast<size_t>(positions[i]) >= n)
      throw Error(BERTRT_ERROR_POSITION, "positions[" + std::to_string(i) + "] = " + std::to_string(positions[i]) +
                                             " is outside [0, batch * seq_len = " + std::to_string(n) + ")");
    std::memcpy(rows + i * H, hidden + static_cast<size_t>(positions[i]) * H, H * sizeof(float));
  }
  check_finite(rows, count * H, "last_hidden_state (at positions)");
  core::head(*model_, ws_, head_scratch_, rows, count, nullptr, out);
}

}  // namespace bertrt::core
