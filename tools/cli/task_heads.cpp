// The task-head verbs' computations (see task_heads.h).
#include "cli/task_heads.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace bertrt::heads {
namespace {

const char* kind_name(bertrt_head_kind kind) {
  const char* name = bertrt_head_kind_name(kind);
  return name ? name : "unknown";
}

// The token types forward is given: the encodings' own, except for models without token types
// (DistilBERT, type_vocab_size 1), which get none (zeros, as Hugging Face feeds them).
bool use_types(const Model& model) { return model.config().type_vocab_size >= 2; }

// forward on one batch; last_hidden_state [B, T, H] always, logits when given.
void run_batch(Session& session, const Model& model, const Batch& b, std::vector<float>& last,
               std::vector<float>* logits) {
  const size_t B = b.rows.size(), T = b.seq_len;
  last.resize(B * T * model.hidden_size());
  bertrt_forward_inputs in{};
  in.input_ids = b.ids.data();
  in.attention_mask = b.mask.data();
  in.token_type_ids = use_types(model) ? b.types.data() : nullptr;
  in.batch = B;
  in.seq_len = T;
  bertrt_forward_outputs out{};
  out.last_hidden_state = last.data();
  out.logits = logits ? logits->data() : nullptr;
  session.forward(in, out);
}

std::pair<std::string, std::string> split_tag(const std::string& label) {
  if (label.rfind("B-", 0) == 0) return {"B", label.substr(2)};
  if (label.rfind("I-", 0) == 0) return {"I", label.substr(2)};
  return {"I", label};  // not in B-/I- form: a continuation, as Hugging Face reads it
}

}  // namespace

void require_head(const Model& model, bertrt_head_kind kind, const char* verb) {
  const bertrt_head_info head = model.head_info();
  if (head.kind == BERTRT_HEAD_NONE)
    throw Error(BERTRT_ERROR_NO_HEAD, std::string(verb) + " needs a model with a " + kind_name(kind) +
                                          " head; this model has no task head (converted from a base model, "
                                          "or with --no-heads)");
  if (head.kind != kind)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string(verb) + " needs a " + kind_name(kind) +
                                                   " head; this model's head is " + kind_name(head.kind) + " (" +
                                                   head.architecture + ")");
}

std::vector<Batch> make_batches(std::span<const Encoding> encodings, size_t batch_size, int64_t pad_id) {
  if (batch_size == 0) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "batch size must be positive");
  std::vector<size_t> order(encodings.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return encodings[a].ids.size() > encodings[b].ids.size(); });
  std::vector<Batch> batches;
  for (size_t first = 0; first < order.size(); first += batch_size) {
    Batch b;
    b.rows.assign(order.begin() + static_cast<std::ptrdiff_t>(first),
                  order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), first + batch_size)));
    for (size_t r : b.rows) b.seq_len = std::max(b.seq_len, encodings[r].ids.size());
    if (b.seq_len == 0) throw Error(BERTRT_ERROR_SHAPE, "an encoding has no tokens");
    const size_t n = b.rows.size() * b.seq_len;
    b.ids.assign(n, pad_id);
    b.types.assign(n, 0);
    b.mask.assign(n, 0);
    for (size_t i = 0; i < b.rows.size(); ++i) {
      const Encoding& e = encodings[b.rows[i]];
      std::copy(e.ids.begin(), e.ids.end(), b.ids.begin() + static_cast<std::ptrdiff_t>(i * b.seq_len));
      std::copy(e.token_type_ids.begin(), e.token_type_ids.end(),
                b.types.begin() + static_cast<std::ptrdiff_t>(i * b.seq_len));
      std::copy(e.attention_mask.begin(), e.attention_mask.end(),
                b.mask.begin() + static_cast<std::ptrdiff_t>(i * b.seq_len));
    }
    batches.push_back(std::move(b));
  }
  return batches;
}

std::vector<float> sequence_logits(Session& session, const Model& model, std::span<const Encoding> encodings,
                                   size_t batch_size, int64_t pad_id) {
  require_head(model, BERTRT_HEAD_SEQUENCE, "sequence_logits");
  const size_t L = static_cast<size_t>(model.head_info().logits_size);
  std::vector<float> out(encodings.size() * L), last, logits;
  for (const Batch& b : make_batches(encodings, batch_size, pad_id)) {
    logits.resize(b.rows.size() * L);
    run_batch(session, model, b, last, &logits);
    for (size_t i = 0; i < b.rows.size(); ++i)
      std::copy_n(logits.begin() + static_cast<std::ptrdiff_t>(i * L), L,
                  out.begin() + static_cast<std::ptrdiff_t>(b.rows[i] * L));
  }
  return out;
}

std::vector<std::vector<float>> token_logits(Session& session, const Model& model,
                                             std::span<const Encoding> encodings, size_t batch_size, int64_t pad_id) {
  require_head(model, BERTRT_HEAD_TOKEN, "token_logits");
  const size_t L = static_cast<size_t>(model.head_info().logits_size);
  std::vector<std::vector<float>> out(encodings.size());
  std::vector<float> last, logits;
  for (const Batch& b : make_batches(encodings, batch_size, pad_id)) {
    logits.resize(b.rows.size() * b.seq_len * L);
    run_batch(session, model, b, last, &logits);
    for (size_t i = 0; i < b.rows.size(); ++i) {
      const size_t n = encodings[b.rows[i]].ids.size() * L;
      const auto row = logits.begin() + static_cast<std::ptrdiff_t>(i * b.seq_len * L);
      out[b.rows[i]].assign(row, row + static_cast<std::ptrdiff_t>(n));
    }
  }
  return out;
}

ScoreFunction classify_function(const bertrt_head_info& head) {
  if (head.num_labels == 1) return ScoreFunction::none;
  if (std::string_view(head.problem_type) == "multi_label_classification") return ScoreFunction::sigmoid;
  if (std::string_view(head.problem_type) == "regression") return ScoreFunction::none;
  return ScoreFunction::softmax;
}

const char* score_function_name(ScoreFunction f) {
  return f == ScoreFunction::softmax ? "softmax" : f == ScoreFunction::sigmoid ? "sigmoid" : "none";
}

float sigmoid(float x) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x)))); }

void apply_scores(std::span<float> values, size_t width, ScoreFunction f) {
  if (width == 0 || f == ScoreFunction::none) return;
  for (size_t r = 0; r + width <= values.size(); r += width) {
    float* v = values.data() + r;
    if (f == ScoreFunction::sigmoid) {
      for (size_t j = 0; j < width; ++j) v[j] = sigmoid(v[j]);
      continue;
    }
    const double top = *std::max_element(v, v + width);
    double sum = 0;
    for (size_t j = 0; j < width; ++j) sum += std::exp(static_cast<double>(v[j]) - top);
    for (size_t j = 0; j < width; ++j) v[j] = static_cast<float>(std::exp(static_cast<double>(v[j]) - top) / sum);
  }
}

std::vector<size_t> top_k(std::span<const float> values, size_t k) {
  std::vector<size_t> idx(values.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  k = std::min(k, idx.size());
  auto larger = [&](size_t a, size_t b) { return values[a] > values[b] || (values[a] == values[b] && a < b); };
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), larger);
  idx.resize(k);
  return idx;
}

std::vector<Entity> group_entities(std::span<const TokenTag> tokens, std::string_view text) {
  std::vector<Entity> out;
  size_t first = 0;
  auto close = [&](size_t end) {  // the group tokens[first, end)
    if (end == first) return;
    std::string group = split_tag(tokens[first].label).second;
    if (group != "O") {
      double sum = 0;
      for (size_t i = first; i < end; ++i) sum += tokens[i].score;
      Entity e;
      e.entity_group = std::move(group);
      e.score = static_cast<float>(sum / static_cast<double>(end - first));
      e.start = tokens[first].start;
      e.end = tokens[end - 1].end;
      const size_t s = static_cast<size_t>(std::clamp<int64_t>(e.start, 0, static_cast<int64_t>(text.size())));
      const size_t t = static_cast<size_t>(std::clamp<int64_t>(e.end, static_cast<int64_t>(s), static_cast<int64_t>(text.size())));
      e.word = std::string(text.substr(s, t - s));
      out.push_back(std::move(e));
    }
    first = end;
  };
  for (size_t i = 1; i < tokens.size(); ++i) {
    const auto [bi, tag] = split_tag(tokens[i].label);
    if (tag != split_tag(tokens[i - 1].label).second || bi == "B") close(i);
  }
  close(tokens.size());
  return out;
}

int64_t mask_token_id(const Model& model, const Tokenizer& tokenizer) {
  const bertrt_tokenizer_settings settings = model.tokenizer_settings();
  const std::string mask = settings.mask_token ? settings.mask_token : "";
  for (const std::string& name : {mask, std::string("[MASK]"), std::string("<mask>")}) {
    if (name.empty()) continue;
    for (size_t id = 0; id < tokenizer.vocab_size(); ++id)
      if (tokenizer.id_to_token(static_cast<int64_t>(id)) == name) return static_cast<int64_t>(id);
  }
  throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "the model's tokenizer has no mask token ('" + mask + "')");
}

std::vector<std::vector<MaskCandidate>> fill_mask(Session& session, const Model& model, const Tokenizer& tokenizer,
                                                  const Encoding& encoding, int64_t mask_id, size_t k) {
  require_head(model, BERTRT_HEAD_MASKED_LM, "fill-mask");
  std::vector<int64_t> positions;
  for (size_t t = 0; t < encoding.ids.size(); ++t)
    if (encoding.ids[t] == mask_id) positions.push_back(static_cast<int64_t>(t));
  if (positions.empty())
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "the text has no mask token ('" + tokenizer.id_to_token(mask_id) + "')");
  Batch b = make_batches(std::span<const Encoding>(&encoding, 1), 1, tokenizer.pad_id()).front();
  std::vector<float> last;
  run_batch(session, model, b, last, nullptr);
  const size_t V = static_cast<size_t>(model.head_info().logits_size);
  std::vector<float> logits(positions.size() * V);
  session.head_at(last, 1, b.seq_len, positions, logits);
  std::vector<std::vector<MaskCandidate>> out;
  for (size_t p = 0; p < positions.size(); ++p) {
    std::span<float> row(logits.data() + p * V, V);
    apply_scores(row, V, ScoreFunction::softmax);
    std::vector<MaskCandidate> best;
    for (size_t id : top_k(row, k))
      best.push_back({static_cast<int64_t>(id), tokenizer.id_to_token(static_cast<int64_t>(id)), row[id]});
    out.push_back(std::move(best));
  }
  return out;
}

SparseVector sparsify(std::span<const float> dense, size_t top_k_count, float threshold) {
  std::vector<size_t> kept;
  for (size_t v = 0; v < dense.size(); ++v)
    if (dense[v] > threshold) kept.push_back(v);
  auto larger = [&](size_t a, size_t b) { return dense[a] > dense[b] || (dense[a] == dense[b] && a < b); };
  std::sort(kept.begin(), kept.end(), larger);
  if (top_k_count > 0 && kept.size() > top_k_count) kept.resize(top_k_count);
  SparseVector s;
  for (size_t v : kept) {
    s.ids.push_back(static_cast<int64_t>(v));
    s.weights.push_back(dense[v]);
  }
  return s;
}

std::vector<SparseVector> splade(Session& session, const Model& model, std::span<const Encoding> encodings,
                                 size_t batch_size, int64_t pad_id, size_t top_k_count, float threshold) {
  require_head(model, BERTRT_HEAD_MASKED_LM, "sparse embeddings (SPLADE)");
  const size_t V = static_cast<size_t>(model.head_info().logits_size);
  // Token rows per head_at call: bounds the logits block to about 32 MB for bert-base's vocabulary.
  const size_t chunk = std::max<size_t>(1, (size_t{8} << 20) / std::max<size_t>(V, 1));
  std::vector<SparseVector> out(encodings.size());
  std::vector<float> last, logits, dense(V);
  for (const Batch& b : make_batches(encodings, batch_size, pad_id)) {
    run_batch(session, model, b, last, nullptr);
    for (size_t i = 0; i < b.rows.size(); ++i) {
      std::vector<int64_t> positions;
      for (size_t t = 0; t < b.seq_len; ++t)
        if (b.mask[i * b.seq_len + t] == 1) positions.push_back(static_cast<int64_t>(i * b.seq_len + t));
      std::fill(dense.begin(), dense.end(), 0.0f);  // log1p(relu(x)) >= 0: zero is the max's identity
      for (size_t p = 0; p < positions.size(); p += chunk) {
        const size_t n = std::min(chunk, positions.size() - p);
        logits.resize(n * V);
        session.head_at(last, b.rows.size(), b.seq_len, std::span<const int64_t>(positions.data() + p, n), logits);
        for (size_t r = 0; r < n; ++r) {
          const float* row = logits.data() + r * V;
          for (size_t v = 0; v < V; ++v)
            if (row[v] > 0.0f) dense[v] = std::max(dense[v], std::log1p(row[v]));
        }
      }
      out[b.rows[i]] = sparsify(dense, top_k_count, threshold);
    }
  }
  return out;
}

}  // namespace bertrt::heads
