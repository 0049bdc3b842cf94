// Thin C++20 layer over the C API: RAII handles, std::span views, exceptions carrying the status.
// No logic of its own: every call forwards to bertrt.h.
//
//   bertrt::Model model("model.bertrt");
//   bertrt::Session session(model);
//   std::vector<float> embeds(B * T * H), hidden(B * T * H), last(B * T * H);
//   session.lookup(ids, B, T, embeds);     // edit embeds here
//   session.embed(embeds, {}, {}, B, T, hidden);
//   session.encode(hidden, mask, B, T, last);
//
// Lifetimes and threads are as in bertrt.h: a Model, and a Tokenizer, may be shared by threads;
// a Session is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bertrt/bertrt.h"
#include "bertrt/error.hpp"

namespace bertrt {

inline void check(bertrt_status status) {
  if (status != BERTRT_OK) throw Error(status, std::string(bertrt_status_str(status)) + ": " + bertrt_last_error());
}

// "cls", "mean", "max", "pooler" <-> bertrt_pool_mode (throws Error naming the valid names).
inline bertrt_pool_mode pool_mode_from_name(const std::string& name) {
  bertrt_pool_mode mode = BERTRT_POOL_MEAN;
  check(bertrt_pool_mode_from_name(name.c_str(), &mode));
  return mode;
}
inline std::string pool_mode_name(bertrt_pool_mode mode) {
  const char* name = bertrt_pool_mode_name(mode);
  return name ? name : "";
}

// The kernels chosen for this CPU: ISA, best ISA, why BERTRT_ISA was not honoured ("" if it was
// or is unset), and the kernel names ("<entry>__<isa>").
inline std::string kernel_isa() { return bertrt_kernel_isa(); }
inline std::string kernel_best_isa() { return bertrt_kernel_best_isa(); }
inline std::string kernel_isa_error() {
  const char* why = bertrt_kernel_isa_error();
  return why ? why : "";
}
inline std::vector<std::string> kernel_names() {
  std::vector<std::string> names;
  for (size_t i = 0; i < bertrt_kernel_count(); ++i) names.emplace_back(bertrt_kernel_name(i));
  return names;
}

namespace detail {
template <typename T>
void need(std::span<T> s, size_t count, const char* name) {
  if (s.size() < count)
    throw Error(BERTRT_ERROR_SHAPE, std::string(name) + " holds " + std::to_string(s.size()) + " elements, needs " +
                                        std::to_string(count));
}
template <typename T>
auto ptr_or_null(std::span<T> s) {
  return s.empty() ? nullptr : s.data();
}
struct ModelDeleter {
  void operator()(bertrt_model* m) const { bertrt_model_free(m); }
};
struct SessionDeleter {
  void operator()(bertrt_session* s) const { bertrt_session_free(s); }
};
struct TokenizerDeleter {
  void operator()(bertrt_tokenizer* t) const { bertrt_tokenizer_free(t); }
};
struct EncodingDeleter {
  void operator()(bertrt_encoding* e) const { bertrt_encoding_free(e); }
};
}  // namespace detail

class Model {
 public:
  // verify_weights: also check every tensor's data checksum (see bertrt_open_options).
  explicit Model(const std::string& path, bool verify_weights = false) {
    bertrt_open_options options{verify_weights ? 1 : 0};
    bertrt_model* m = nullptr;
    check(bertrt_model_open(path.c_str(), &options, &m));
    handle_.reset(m);
    check(bertrt_model_get_config(m, &config_));
  }
  const bertrt_config& config() const { return config_; }
  size_t hidden_size() const { return static_cast<size_t>(config_.hidden_size); }
  const bertrt_model* get() const { return handle_.get(); }

  // What the file says about itself; strings live as long as this Model.
  bertrt_model_file_info file_info() const {
    bertrt_model_file_info info{};
    check(bertrt_model_get_file_info(handle_.get(), &info));
    return info;
  }
  bertrt_tensor_info tensor_info(size_t index) const {
    bertrt_tensor_info info{};
    check(bertrt_model_get_tensor_info(handle_.get(), index, &info));
    return info;
  }
  // The task head (bertrt_model_get_head_info); strings live as long as this Model.
  bertrt_head_info head_info() const {
    bertrt_head_info info{};
    check(bertrt_model_get_head_info(handle_.get(), &info));
    return info;
  }
  bertrt_head_kind head_kind() const { return head_info().kind; }
  // id2label in index order (empty for a masked LM or no head).
  std::vector<std::string> labels() const {
    std::vector<std::string> out;
    for (int64_t i = 0; i < head_info().num_labels; ++i) {
      const char* label = nullptr;
      check(bertrt_model_get_head_label(handle_.get(), static_cast<size_t>(i), &label));
      out.emplace_back(label);
    }
    return out;
  }
  bertrt_tokenizer_settings tokenizer_settings() const {
    bertrt_tokenizer_settings settings{};
    check(bertrt_model_get_tokenizer_settings(handle_.get(), &settings));
    return settings;
  }

 private:
  std::unique_ptr<bertrt_model, detail::ModelDeleter> handle_;
  bertrt_config config_{};
};

class Tokenizer;

class Session {
 public:
  explicit Session(const Model& model)
      : hidden_(model.hidden_size()), embedding_(static_cast<size_t>(model.config().embedding_size)),
        config_(model.config()), head_(model.head_info()) {
    bertrt_session* s = nullptr;
    check(bertrt_session_create(model.get(), &s));
    handle_.reset(s);
  }
  void set_threads(int threads) { check(bertrt_session_set_threads(handle_.get(), threads)); }

  void lookup(std::span<const int64_t> input_ids, size_t batch, size_t seq_len, std::span<float> inputs_embeds) {
    detail::need(input_ids, batch * seq_len, "input_ids");
    detail::need(inputs_embeds, batch * seq_len * embedding_, "inputs_embeds");
    check(bertrt_session_lookup(handle_.get(), input_ids.data(), batch, seq_len, inputs_embeds.data()));
  }
  void embed(std::span<const float> inputs_embeds, std::span<const int64_t> token_type_ids,
             std::span<const int64_t> position_ids, size_t batch, size_t seq_len, std::span<float> out) {
    detail::need(inputs_embeds, batch * seq_len * embedding_, "inputs_embeds");
    if (!token_type_ids.empty()) detail::need(token_type_ids, batch * seq_len, "token_type_ids");
    if (!position_ids.empty()) detail::need(position_ids, batch * seq_len, "position_ids");
    detail::need(out, batch * seq_len * embedding_, "embedding_output");
    check(bertrt_session_embed(handle_.get(), inputs_embeds.data(), detail::ptr_or_null(token_type_ids),
                               detail::ptr_or_null(position_ids), batch, seq_len, out.data()));
  }
  // hidden[B, T, H] from embedding_output[B, T, E]: ELECTRA's embeddings_project, a copy for models
  // without one (bertrt_session_project).
  void project(std::span<const float> embedding_output, size_t batch, size_t seq_len, std::span<float> hidden) {
    detail::need(embedding_output, batch * seq_len * embedding_, "embedding_output");
    detail::need(hidden, batch * seq_len * hidden_, "hidden");
    check(bertrt_session_project(handle_.get(), embedding_output.data(), batch, seq_len, hidden.data()));
  }
  // hidden_states ([L+1, B, T, H]) and attentions ([L, B, heads, T, T]) are optional (empty spans).
  void encode(std::span<const float> hidden, std::span<const int64_t> attention_mask, size_t batch, size_t seq_len,
              std::span<float> last_hidden_state, std::span<float> hidden_states = {},
              std::span<float> attentions = {}) {
    const size_t nh = batch * seq_len * hidden_;
    const size_t layers = static_cast<size_t>(config_.num_hidden_layers);
    detail::need(hidden, nh, "hidden");
    if (!attention_mask.empty()) detail::need(attention_mask, batch * seq_len, "attention_mask");
    detail::need(last_hidden_state, nh, "last_hidden_state");
    if (!hidden_states.empty()) detail::need(hidden_states, (layers + 1) * nh, "hidden_states");
    if (!attentions.empty())
      detail::need(attentions, layers * batch * static_cast<size_t>(config_.num_attention_heads) * seq_len * seq_len,
                   "attentions");
    bertrt_encode_outputs extra{detail::ptr_or_null(hidden_states), detail::ptr_or_null(attentions)};
    check(bertrt_session_encode(handle_.get(), hidden.data(), detail::ptr_or_null(attention_mask), batch, seq_len,
                                &extra, last_hidden_state.data()));
  }
  void pool(std::span<const float> last_hidden_state, std::span<const int64_t> attention_mask, size_t batch,
            size_t seq_len, bertrt_pool_mode mode, bool normalize, std::span<float> pooled) {
    detail::need(last_hidden_state, batch * seq_len * hidden_, "last_hidden_state");
    if (!attention_mask.empty()) detail::need(attention_mask, batch * seq_len, "attention_mask");
    detail::need(pooled, batch * hidden_, "pooled");
    check(bertrt_session_pool(handle_.get(), last_hidden_state.data(), detail::ptr_or_null(attention_mask), batch,
                              seq_len, mode, normalize ? 1 : 0, pooled.data()));
  }
  // The task head's logits (bertrt_session_head): [B, L] for a sequence head, [B, T, L] or
  // [B, T, V] for token and masked-LM heads. attention_mask may be empty (all ones).
  void head(std::span<const float> last_hidden_state, std::span<const int64_t> attention_mask, size_t batch,
            size_t seq_len, std::span<float> logits) {
    detail::need(last_hidden_state, batch * seq_len * hidden_, "last_hidden_state");
    if (!attention_mask.empty()) detail::need(attention_mask, batch * seq_len, "attention_mask");
    const size_t rows = head_.kind == BERTRT_HEAD_SEQUENCE ? batch : batch * seq_len;
    detail::need(logits, rows * static_cast<size_t>(head_.logits_size), "logits");
    check(bertrt_session_head(handle_.get(), last_hidden_state.data(), detail::ptr_or_null(attention_mask), batch,
                              seq_len, logits.data()));
  }
  // Token and masked-LM heads at positions (flat indices b * seq_len + t) only: logits [count, L or V]
  // (bertrt_session_head_at).
  void head_at(std::span<const float> last_hidden_state, size_t batch, size_t seq_len,
               std::span<const int64_t> positions, std::span<float> logits) {
    detail::need(last_hidden_state, batch * seq_len * hidden_, "last_hidden_state");
    detail::need(logits, positions.size() * static_cast<size_t>(head_.logits_size), "logits");
    check(bertrt_session_head_at(handle_.get(), last_hidden_state.data(), batch, seq_len, positions.data(),
                                 positions.size(), logits.data()));
  }
  void forward(const bertrt_forward_inputs& inputs, const bertrt_forward_outputs& outputs) {
    check(bertrt_session_forward(handle_.get(), &inputs, &outputs));
  }
  // Packed batches (bertrt.h, "Packed batches"): sequence b is rows [offsets[b], offsets[b + 1]) of
  // N = offsets.back() rows; batch = offsets.size() - 1.
  void forward_packed(const bertrt_packed_inputs& inputs, const bertrt_forward_outputs& outputs) {
    check(bertrt_session_forward_packed(handle_.get(), &inputs, &outputs));
  }
  void embed_packed(std::span<const float> inputs_embeds, std::span<const int64_t> token_type_ids,
                    std::span<const int64_t> position_ids, std::span<const int64_t> offsets, std::span<float> out) {
    const size_t n = packed_rows(offsets);
    detail::need(inputs_embeds, n * embedding_, "inputs_embeds");
    if (!token_type_ids.empty()) detail::need(token_type_ids, n, "token_type_ids");
    if (!position_ids.empty()) detail::need(position_ids, n, "position_ids");
    detail::need(out, n * embedding_, "embedding_output");
    check(bertrt_session_embed_packed(handle_.get(), inputs_embeds.data(), detail::ptr_or_null(token_type_ids),
                                      detail::ptr_or_null(position_ids), detail::ptr_or_null(offsets),
                                      packed_batch(offsets), out.data()));
  }
  // hidden_states ([L+1, N, H]) optional.
  void encode_packed(std::span<const float> hidden, std::span<const int64_t> offsets,
                     std::span<float> last_hidden_state, std::span<float> hidden_states = {}) {
    const size_t nh = packed_rows(offsets) * hidden_;
    detail::need(hidden, nh, "hidden");
    detail::need(last_hidden_state, nh, "last_hidden_state");
    if (!hidden_states.empty())
      detail::need(hidden_states, (static_cast<size_t>(config_.num_hidden_layers) + 1) * nh, "hidden_states");
    check(bertrt_session_encode_packed(handle_.get(), hidden.data(), detail::ptr_or_null(offsets), packed_batch(offsets),
                                       detail::ptr_or_null(hidden_states), last_hidden_state.data()));
  }
  void pool_packed(std::span<const float> last_hidden_state, std::span<const int64_t> offsets, bertrt_pool_mode mode,
                   bool normalize, std::span<float> pooled) {
    detail::need(last_hidden_state, packed_rows(offsets) * hidden_, "last_hidden_state");
    detail::need(pooled, packed_batch(offsets) * hidden_, "pooled");
    check(bertrt_session_pool_packed(handle_.get(), last_hidden_state.data(), detail::ptr_or_null(offsets),
                                     packed_batch(offsets), mode, normalize ? 1 : 0, pooled.data()));
  }
  // [B, L] for a sequence head, else [N, L] or [N, V].
  void head_packed(std::span<const float> last_hidden_state, std::span<const int64_t> offsets,
                   std::span<float> logits) {
    const size_t n = packed_rows(offsets);
    detail::need(last_hidden_state, n * hidden_, "last_hidden_state");
    const size_t rows = head_.kind == BERTRT_HEAD_SEQUENCE ? packed_batch(offsets) : n;
    detail::need(logits, rows * static_cast<size_t>(head_.logits_size), "logits");
    check(bertrt_session_head_packed(handle_.get(), last_hidden_state.data(), detail::ptr_or_null(offsets),
                                     packed_batch(offsets), logits.data()));
  }
  // Sentence embeddings out[texts.size(), H] (bertrt_session_encode_texts); options null: the
  // model's pooling defaults. Returns how many texts were cut to max_length. Defined below Tokenizer.
  size_t encode_texts(const Tokenizer& tokenizer, std::span<const std::string> texts, std::span<float> out,
                      const bertrt_encode_texts_options* options = nullptr);
  bertrt_session* get() { return handle_.get(); }

 private:
  // N of a packed batch's offsets for the span checks; 0 when the offsets are not plausible (the
  // C call then reports what is wrong with them).
  static size_t packed_rows(std::span<const int64_t> offsets) {
    if (offsets.empty() || offsets.back() < 0 || offsets.back() > (int64_t{1} << 26)) return 0;
    return static_cast<size_t>(offsets.back());
  }
  static size_t packed_batch(std::span<const int64_t> offsets) { return offsets.empty() ? 0 : offsets.size() - 1; }

  std::unique_ptr<bertrt_session, detail::SessionDeleter> handle_;
  size_t hidden_;
  size_t embedding_;  // E: lookup's and embed's width (= hidden_ except ELECTRA)
  bertrt_config config_;
  bertrt_head_info head_;
};

struct Encoding {
  std::vector<int64_t> ids, token_type_ids, attention_mask, offsets, sequence_ids;
  std::vector<std::string> tokens;  // bertrt_encoding_token of each token
};

// A padded batch: [batch, seq_len] each, padded with the pad id, type 0 and mask 0.
struct BatchEncoding {
  size_t batch = 0, seq_len = 0;
  std::vector<int64_t> ids, token_type_ids, attention_mask;
};

class Tokenizer {
 public:
  explicit Tokenizer(const Model& model) {
    bertrt_tokenizer* t = nullptr;
    check(bertrt_tokenizer_from_model(model.get(), &t));
    handle_.reset(t);
  }
  Tokenizer(const std::string& vocab_path, const bertrt_tokenizer_options& options) {
    bertrt_tokenizer* t = nullptr;
    check(bertrt_tokenizer_from_vocab_file(vocab_path.c_str(), &options, &t));
    handle_.reset(t);
  }
  // bertrt_tokenizer_from_file: a tokenizer.json, vocab.json + merges.txt, vocab.txt or a folder.
  static Tokenizer from_file(const std::string& path) {
    bertrt_tokenizer* t = nullptr;
    check(bertrt_tokenizer_from_file(path.c_str(), &t));
    return Tokenizer(t);
  }
  // bertrt_tokenizer_from_json: the text of a tokenizer.json.
  static Tokenizer from_json(std::string_view json) {
    bertrt_tokenizer* t = nullptr;
    check(bertrt_tokenizer_from_json(json.data(), json.size(), &t));
    return Tokenizer(t);
  }
  // add_special_tokens false: bertrt_tokenizer_encode_plain (no template tokens).
  Encoding encode(const std::string& text, const std::string* pair = nullptr, size_t max_length = 0,
                  bertrt_truncation truncation = BERTRT_TRUNCATION_LONGEST_FIRST,
                  bool add_special_tokens = true) const {
    bertrt_encoding* e = nullptr;
    auto* fn = add_special_tokens ? bertrt_tokenizer_encode : bertrt_tokenizer_encode_plain;
    check(fn(handle_.get(), text.data(), text.size(), pair ? pair->data() : nullptr, pair ? pair->size() : 0,
             max_length, truncation, &e));
    std::unique_ptr<bertrt_encoding, detail::EncodingDeleter> owned(e);
    const size_t n = bertrt_encoding_length(e);
    Encoding out;
    out.ids.assign(bertrt_encoding_ids(e), bertrt_encoding_ids(e) + n);
    out.token_type_ids.assign(bertrt_encoding_token_type_ids(e), bertrt_encoding_token_type_ids(e) + n);
    out.attention_mask.assign(bertrt_encoding_attention_mask(e), bertrt_encoding_attention_mask(e) + n);
    out.offsets.assign(bertrt_encoding_offsets(e), bertrt_encoding_offsets(e) + 2 * n);
    out.sequence_ids.assign(bertrt_encoding_sequence_ids(e), bertrt_encoding_sequence_ids(e) + n);
    out.tokens.reserve(n);
    for (size_t i = 0; i < n; ++i) out.tokens.emplace_back(bertrt_encoding_token(e, i));
    return out;
  }
  // texts (and pairs: empty, or one per text) encoded and padded to the longest row (pad_to 0)
  // or to pad_to. Texts are passed as NUL-terminated strings: they must not contain NUL bytes.
  BatchEncoding encode_batch(std::span<const std::string> texts, std::span<const std::string> pairs = {},
                             size_t max_length = 0, bertrt_truncation truncation = BERTRT_TRUNCATION_LONGEST_FIRST,
                             size_t pad_to = 0) const {
    if (!pairs.empty() && pairs.size() != texts.size())
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::to_string(texts.size()) + " texts but " +
                                                     std::to_string(pairs.size()) + " pairs");
    std::vector<const char*> t, p;
    for (const std::string& s : texts) t.push_back(s.c_str());
    for (const std::string& s : pairs) p.push_back(s.c_str());
    BatchEncoding out;
    out.batch = texts.size();
    const char* const* pp = pairs.empty() ? nullptr : p.data();
    check(bertrt_tokenizer_encode_batch_size(handle_.get(), t.data(), pp, t.size(), max_length, truncation, pad_to,
                                             &out.seq_len));
    const size_t n = out.batch * out.seq_len;
    out.ids.resize(n);
    out.token_type_ids.resize(n);
    out.attention_mask.resize(n);
    check(bertrt_tokenizer_encode_batch(handle_.get(), t.data(), pp, t.size(), max_length, truncation, out.seq_len,
                                        out.ids.data(), out.token_type_ids.data(), out.attention_mask.data()));
    return out;
  }
  std::string id_to_token(int64_t id) const {
    const char* s = bertrt_tokenizer_id_to_token(handle_.get(), id);
    return s ? s : "";
  }
  size_t vocab_size() const { return bertrt_tokenizer_vocab_size(handle_.get()); }
  int64_t pad_id() const { return bertrt_tokenizer_pad_id(handle_.get()); }
  int64_t cls_id() const { return bertrt_tokenizer_cls_id(handle_.get()); }
  int64_t sep_id() const { return bertrt_tokenizer_sep_id(handle_.get()); }
  int64_t unk_id() const { return bertrt_tokenizer_unk_id(handle_.get()); }
  const bertrt_tokenizer* get() const { return handle_.get(); }

 private:
  explicit Tokenizer(bertrt_tokenizer* t) : handle_(t) {}
  std::unique_ptr<bertrt_tokenizer, detail::TokenizerDeleter> handle_;
};

inline size_t Session::encode_texts(const Tokenizer& tokenizer, std::span<const std::string> texts,
                                    std::span<float> out, const bertrt_encode_texts_options* options) {
  detail::need(out, texts.size() * hidden_, "out");
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const std::string& s : texts) {
    ptrs.push_back(s.data());
    lens.push_back(s.size());
  }
  size_t truncated = 0;
  check(bertrt_session_encode_texts(handle_.get(), tokenizer.get(), ptrs.data(), lens.data(), texts.size(), options,
                                    out.data(), &truncated));
  return truncated;
}

}  // namespace bertrt
