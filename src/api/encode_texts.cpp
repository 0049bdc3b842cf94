// bertrt_session_encode_texts: the one text -> vectors pipeline (tokenize, batch, forward, pool),
// shared by `bertrt embed`, the Python Model.encode_texts and `bertrt serve`. Batches are packed
// (no padding: the texts of a batch back to back, up to a token budget) unless the caller asks for
// the padded layout (length-sorted batches padded to their longest text).
#include <algorithm>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "bertrt/bertrt.h"
#include "c_api_types.h"
#include "common/error.h"
#include "tokenizer/tokenizer_c_api.h"

using bertrt::Error;

namespace {

struct Options {
  size_t max_length = 0, batch_size = 0, max_batch_tokens = 2048;
  bool padded = false;
  bertrt_pool_mode pool = BERTRT_POOL_MEAN;
  bool normalize = false;
  bertrt_progress_fn progress = nullptr;
  void* user = nullptr;
};

Options resolve(const bertrt::core::Model& model, const bertrt_encode_texts_options* o) {
  const bertrt::core::ModelConfig& c = model.config();
  Options r;
  r.pool = c.default_pool;
  r.normalize = c.default_normalize;
  if (o) {
    if (!bertrt_pool_mode_name(o->pool))
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "unknown pool mode " + std::to_string(static_cast<int>(o->pool)));
    r.max_length = o->max_length;
    r.batch_size = o->batch_size;
    if (o->max_batch_tokens) r.max_batch_tokens = o->max_batch_tokens;
    r.padded = o->padded != 0;
    r.pool = o->pool;
    r.normalize = o->normalize != 0;
    r.progress = o->progress;
    r.user = o->progress_user_data;
  }
  if (r.max_length == 0) r.max_length = c.max_seq_len;
  if (r.padded && r.batch_size == 0) r.batch_size = 32;
  return r;
}

// The ids of every text, cut to max_length; counts the texts that were cut.
std::vector<std::vector<int64_t>> tokenize_all(const bertrt::core::Tokenizer& tok, const char* const* texts,
                                               const size_t* lens, size_t count, size_t max_length,
                                               size_t& truncated) {
  std::vector<std::vector<int64_t>> ids(count);
  for (size_t i = 0; i < count; ++i) {
    if (!texts[i] && !(lens && lens[i] == 0))
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "texts[" + std::to_string(i) + "] is NULL");
    const std::string_view text = !texts[i] ? std::string_view() : lens ? std::string_view(texts[i], lens[i])
                                                                        : std::string_view(texts[i]);
    try {
      // One token of headroom tells a text that fits from one that was cut; only those are encoded twice.
      ids[i] = tok.encode(text, nullptr, max_length + 1).ids;
      if (ids[i].size() > max_length) {
        ids[i] = tok.encode(text, nullptr, max_length).ids;
        ++truncated;
      }
    } catch (const Error& e) {
      throw Error(e.status(), "texts[" + std::to_string(i) + "]: " + e.what());
    }
  }
  return ids;
}

// Runs the texts order[0, b) (already tokenized) as one batch, packed or padded, and writes their
// pooled vectors into out at their input positions.
class BatchRunner {
 public:
  BatchRunner(bertrt::core::Session& s, int64_t pad_id, const Options& o) : s_(s), pad_id_(pad_id), o_(o) {}

  void run(const std::vector<std::vector<int64_t>>& ids, const size_t* order, size_t b, float* out) {
    const size_t H = s_.model().config().hidden_size;
    pooled_.resize(b * H);
    if (o_.padded) run_padded(ids, order, b);
    else run_packed(ids, order, b);
    for (size_t k = 0; k < b; ++k) std::copy_n(pooled_.data() + k * H, H, out + order[k] * H);
  }

 private:
  void run_packed(const std::vector<std::vector<int64_t>>& ids, const size_t* order, size_t b) {
    ids_.clear();
    offsets_.assign(1, 0);
    for (size_t k = 0; k < b; ++k) {
      const auto& row = ids[order[k]];
      ids_.insert(ids_.end(), row.begin(), row.end());
      offsets_.push_back(static_cast<int64_t>(ids_.size()));
    }
    last_.resize(ids_.size() * s_.model().config().hidden_size);
    bertrt_packed_inputs in{};
    in.input_ids = ids_.data();
    in.offsets = offsets_.data();
    in.batch = b;
    bertrt_forward_outputs outs{};
    outs.last_hidden_state = last_.data();
    s_.forward_packed(in, outs);
    s_.pool_packed(last_.data(), offsets_.data(), b, o_.pool, o_.normalize, pooled_.data());
  }

  void run_padded(const std::vector<std::vector<int64_t>>& ids, const size_t* order, size_t b) {
    size_t width = 0;
    for (size_t k = 0; k < b; ++k) width = std::max(width, ids[order[k]].size());
    ids_.assign(b * width, pad_id_);
    mask_.assign(b * width, 0);
    for (size_t k = 0; k < b; ++k) {
      const auto& row = ids[order[k]];
      std::copy(row.begin(), row.end(), ids_.begin() + static_cast<std::ptrdiff_t>(k * width));
      std::fill_n(mask_.begin() + static_cast<std::ptrdiff_t>(k * width), row.size(), 1);
    }
    last_.resize(b * width * s_.model().config().hidden_size);
    bertrt_forward_inputs in{};
    in.input_ids = ids_.data();
    in.attention_mask = mask_.data();
    in.batch = b;
    in.seq_len = width;
    bertrt_forward_outputs outs{};
    outs.last_hidden_state = last_.data();
    s_.forward(in, outs);
    s_.pool(last_.data(), mask_.data(), b, width, o_.pool, o_.normalize, pooled_.data());
  }

  bertrt::core::Session& s_;
  int64_t pad_id_;
  const Options& o_;
  std::vector<int64_t> ids_, mask_, offsets_;
  std::vector<float> last_, pooled_;
};

// The texts of the batch that starts at order[start]: padded, batch_size of them; packed, as many
// as fit in max_batch_tokens (at least one) and batch_size (when set).
size_t batch_end(const std::vector<std::vector<int64_t>>& ids, const std::vector<size_t>& order, size_t start,
                 const Options& o) {
  const size_t count = order.size();
  if (o.padded) return std::min(count, start + o.batch_size);
  size_t end = start, tokens = 0;
  while (end < count && (o.batch_size == 0 || end - start < o.batch_size)) {
    const size_t n = ids[order[end]].size();
    if (end > start && tokens + n > o.max_batch_tokens) break;
    tokens += n;
    ++end;
  }
  return end;
}

}  // namespace

extern "C" BERTRT_API bertrt_status bertrt_session_encode_texts(bertrt_session* session, const bertrt_tokenizer* tokenizer,
                                                                const char* const* texts, const size_t* text_lens,
                                                                size_t count, const bertrt_encode_texts_options* options,
                                                                float* out, size_t* truncated_out) {
  return bertrt::guard_call([&] {
    if (truncated_out) *truncated_out = 0;
    if (!session) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "session is NULL");
    if (!tokenizer || !tokenizer->impl) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "tokenizer is NULL");
    if (count == 0) return;
    if (!texts) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "texts is NULL");
    if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "out is NULL");
    const Options o = resolve(session->impl.model(), options);
    size_t truncated = 0;
    const auto ids = tokenize_all(*tokenizer->impl, texts, text_lens, count, o.max_length, truncated);
    // Padded: longest first, so that rows of one batch have similar lengths. Packed batches keep
    // the input order (lengths mix, so every batch fills its token budget). Results go back in
    // input order.
    std::vector<size_t> order(count);
    std::iota(order.begin(), order.end(), size_t{0});
    if (o.padded)
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
    BatchRunner runner(session->impl, tokenizer->impl->pad_id(), o);
    for (size_t start = 0; start < count;) {
      const size_t end = batch_end(ids, order, start, o);
      runner.run(ids, order.data() + start, end - start, out);
      if (o.progress) o.progress(end, count, o.user);
      start = end;
    }
    if (truncated_out) *truncated_out = truncated;
  });
}
