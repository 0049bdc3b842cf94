// bertrt_session_encode_texts: the one text -> vectors pipeline (tokenize, sort by length, pad,
// forward, pool, restore input order), shared by `bertrt embed` and the Python Model.encode_texts.
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
  size_t max_length = 0, batch_size = 32;
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
    r.batch_size = o->batch_size ? o->batch_size : 32;
    r.pool = o->pool;
    r.normalize = o->normalize != 0;
    r.progress = o->progress;
    r.user = o->progress_user_data;
  }
  if (r.max_length == 0) r.max_length = c.max_seq_len;
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

// Runs the texts order[start, start + b) (already tokenized) as one padded batch and writes their
// pooled vectors into out at their input positions.
class BatchRunner {
 public:
  BatchRunner(bertrt::core::Session& s, int64_t pad_id, const Options& o) : s_(s), pad_id_(pad_id), o_(o) {}

  void run(const std::vector<std::vector<int64_t>>& ids, const size_t* order, size_t b, float* out) {
    const size_t H = s_.model().config().hidden_size;
    size_t width = 0;
    for (size_t k = 0; k < b; ++k) width = std::max(width, ids[order[k]].size());
    ids_.assign(b * width, pad_id_);
    mask_.assign(b * width, 0);
    for (size_t k = 0; k < b; ++k) {
      const auto& row = ids[order[k]];
      std::copy(row.begin(), row.end(), ids_.begin() + static_cast<std::ptrdiff_t>(k * width));
      std::fill_n(mask_.begin() + static_cast<std::ptrdiff_t>(k * width), row.size(), 1);
    }
    last_.resize(b * width * H);
    pooled_.resize(b * H);
    bertrt_forward_inputs in{};
    in.input_ids = ids_.data();
    in.attention_mask = mask_.data();
    in.batch = b;
    in.seq_len = width;
    bertrt_forward_outputs outs{};
    outs.last_hidden_state = last_.data();
    s_.forward(in, outs);
    s_.pool(last_.data(), mask_.data(), b, width, o_.pool, o_.normalize, pooled_.data());
    for (size_t k = 0; k < b; ++k) std::copy_n(pooled_.data() + k * H, H, out + order[k] * H);
  }

 private:
  bertrt::core::Session& s_;
  int64_t pad_id_;
  const Options& o_;
  std::vector<int64_t> ids_, mask_;
  std::vector<float> last_, pooled_;
};

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
    // Longest first, so that rows of one batch have similar lengths; results go back in input order.
    std::vector<size_t> order(count);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
    BatchRunner runner(session->impl, tokenizer->impl->pad_id(), o);
    for (size_t start = 0; start < count; start += o.batch_size) {
      const size_t b = std::min(o.batch_size, count - start);
      runner.run(ids, order.data() + start, b, out);
      if (o.progress) o.progress(start + b, count, o.user);
    }
    if (truncated_out) *truncated_out = truncated;
  });
}
