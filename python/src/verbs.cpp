// bertrt.Model's task-head methods. The computations are the CLI's (tools/cli/task_heads.cpp, built
// into this module too): both front ends give the same numbers. Work runs without the GIL.
#include "verbs.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cli/task_heads.h>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace bertrt_python {
namespace {

namespace heads = bertrt::heads;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IdArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "BERTRT_ERROR_INVALID_ARGUMENT: " + message);
}

// Checked size options: batch_size positive, max_length None (the model's limit) or positive.
struct Sizes {
  size_t batch = 32, max_length = 0;
};
Sizes sizes(PyModel& m, int64_t batch_size, std::optional<int64_t> max_length) {
  if (batch_size <= 0) invalid("batch_size must be positive");
  if (max_length && *max_length <= 0) invalid("max_length must be positive");
  return {static_cast<size_t>(batch_size), static_cast<size_t>(max_length.value_or(m.config().max_sequence_length))};
}

// The head's status as a bertrt.Error / ValueError before any work (no head, other kind).
void require(PyModel& m, bertrt_head_kind kind, const char* verb) {
  try {
    heads::require_head(m.model(), kind, verb);
  } catch (const Error& e) {
    throw Error(e.status(), std::string(bertrt_status_str(e.status())) + ": " + e.what());
  }
}

template <typename T>
py::array_t<T> to_array(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> a(shape);
  if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(T));
  return a;
}

std::vector<bertrt::Encoding> encode_all(PyModel& m, const std::vector<std::string>& texts,
                                         const std::vector<std::string>* pairs, size_t max_length,
                                         bertrt_truncation truncation) {
  const bertrt::Tokenizer& tok = m.tokenizer();
  std::vector<bertrt::Encoding> out;
  out.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    out.push_back(tok.encode(texts[i], pairs ? &(*pairs)[i] : nullptr, max_length, truncation));
  return out;
}

py::dict head_info(const PyModel& m) {
  const bertrt_head_info h = m.model().head_info();
  py::dict d;
  d["kind"] = bertrt_head_kind_name(h.kind);
  d["num_labels"] = h.num_labels;
  d["logits_size"] = h.logits_size;
  d["problem_type"] = h.problem_type;
  d["architecture"] = h.architecture;
  d["labels"] = m.model().labels();
  return d;
}

// last_hidden_state must be [B, T, H] with the model's H.
void check_hidden(const PyModel& m, const FloatArray& hidden) {
  if (hidden.ndim() != 3 || static_cast<size_t>(hidden.shape(2)) != m.hidden())
    throw Error(BERTRT_ERROR_SHAPE, "BERTRT_ERROR_SHAPE: last_hidden_state must be [B, T, " + std::to_string(m.hidden()) + "]");
}

py::array_t<float> head(PyModel& m, const FloatArray& hidden, const py::object& attention_mask) {
  check_hidden(m, hidden);
  const size_t B = static_cast<size_t>(hidden.shape(0)), T = static_cast<size_t>(hidden.shape(1));
  const bertrt_head_info h = m.model().head_info();
  if (h.kind == BERTRT_HEAD_NONE) require(m, BERTRT_HEAD_SEQUENCE, "head");
  std::optional<IdArray> mask;
  if (!attention_mask.is_none()) {
    mask = IdArray::ensure(attention_mask);
    if (!*mask) throw py::type_error("attention_mask must be an array of integers");
    if (mask->ndim() != 2 || static_cast<size_t>(mask->shape(0)) != B || static_cast<size_t>(mask->shape(1)) != T)
      throw Error(BERTRT_ERROR_SHAPE, "BERTRT_ERROR_SHAPE: attention_mask must be [B, T] like last_hidden_state");
  }
  const py::ssize_t W = h.logits_size;
  py::array_t<float> out = h.kind == BERTRT_HEAD_SEQUENCE ? py::array_t<float>({py::ssize_t(B), W})
                                                           : py::array_t<float>({py::ssize_t(B), py::ssize_t(T), W});
  std::span<const float> in(hidden.data(), static_cast<size_t>(hidden.size()));
  std::span<const int64_t> mk = mask ? std::span<const int64_t>(mask->data(), static_cast<size_t>(mask->size()))
                                     : std::span<const int64_t>();
  std::span<float> o(out.mutable_data(), static_cast<size_t>(out.size()));
  py::gil_scoped_release release;
  Lease s = m.acquire();
  s->head(in, mk, B, T, o);
  return out;
}

py::array_t<float> head_at(PyModel& m, const FloatArray& hidden, const IdArray& positions) {
  check_hidden(m, hidden);
  const size_t B = static_cast<size_t>(hidden.shape(0)), T = static_cast<size_t>(hidden.shape(1));
  const bertrt_head_info h = m.model().head_info();
  if (h.kind == BERTRT_HEAD_NONE) require(m, BERTRT_HEAD_TOKEN, "head_at");
  py::array_t<float> out({py::ssize_t(positions.size()), py::ssize_t(h.logits_size)});
  std::span<const float> in(hidden.data(), static_cast<size_t>(hidden.size()));
  std::span<const int64_t> pos(positions.data(), static_cast<size_t>(positions.size()));
  std::span<float> o(out.mutable_data(), static_cast<size_t>(out.size()));
  py::gil_scoped_release release;
  Lease s = m.acquire();
  s->head_at(in, B, T, pos, o);
  return out;
}

py::dict classify(PyModel& m, const py::object& texts_obj, const py::object& pairs_obj, int64_t batch_size,
                  std::optional<int64_t> max_length, std::optional<std::string> function) {
  require(m, BERTRT_HEAD_SEQUENCE, "classify");
  const Sizes sz = sizes(m, batch_size, max_length);
  const std::vector<std::string> texts = text_list(texts_obj, "texts");
  std::vector<std::string> pairs;
  if (!pairs_obj.is_none()) {
    pairs = text_list(pairs_obj, "pairs");
    if (pairs.size() != texts.size()) invalid(std::to_string(texts.size()) + " texts but " + std::to_string(pairs.size()) + " pairs");
  }
  const bertrt_head_info h = m.model().head_info();
  heads::ScoreFunction f = heads::classify_function(h);
  if (function) {
    if (*function == "softmax") f = heads::ScoreFunction::softmax;
    else if (*function == "sigmoid") f = heads::ScoreFunction::sigmoid;
    else if (*function == "none") f = heads::ScoreFunction::none;
    else invalid("function must be 'softmax', 'sigmoid' or 'none', not '" + *function + "'");
  }
  const size_t L = static_cast<size_t>(h.num_labels);
  std::vector<float> logits, scores;
  {
    py::gil_scoped_release release;
    const auto encodings = encode_all(m, texts, pairs.empty() ? nullptr : &pairs, sz.max_length,
                                      BERTRT_TRUNCATION_LONGEST_FIRST);
    Lease s = m.acquire();
    logits = heads::sequence_logits(*s, m.model(), encodings, sz.batch, m.tokenizer().pad_id());
    scores = logits;
    heads::apply_scores(scores, L, f);
  }
  const std::vector<std::string> names = m.model().labels();
  py::list label;
  std::vector<float> best(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const size_t j = heads::top_k(std::span<const float>(scores.data() + i * L, L), 1)[0];
    label.append(names[j]);
    best[i] = scores[i * L + j];
  }
  const py::ssize_t N = py::ssize_t(texts.size());
  py::dict d;
  d["label"] = label;
  d["score"] = to_array(best, {N});
  d["scores"] = to_array(scores, {N, py::ssize_t(L)});
  d["logits"] = to_array(logits, {N, py::ssize_t(L)});
  d["labels"] = names;
  d["function"] = heads::score_function_name(f);
  return d;
}

py::list rerank(PyModel& m, const std::string& query, const py::object& docs_obj, bool sigmoid, int64_t batch_size,
                std::optional<int64_t> max_length, std::optional<int64_t> top_k) {
  require(m, BERTRT_HEAD_SEQUENCE, "rerank");
  if (m.model().head_info().num_labels != 1)
    invalid("rerank needs a cross-encoder (a sequence head with one label); this head has " +
            std::to_string(m.model().head_info().num_labels) + " labels: use classify");
  if (top_k && *top_k <= 0) invalid("top_k must be positive");
  const Sizes sz = sizes(m, batch_size, max_length);
  const std::vector<std::string> docs = text_list(docs_obj, "docs");
  std::vector<float> scores;
  std::vector<size_t> order;
  {
    py::gil_scoped_release release;
    const std::vector<std::string> queries(docs.size(), query);
    const auto encodings = encode_all(m, queries, &docs, sz.max_length, BERTRT_TRUNCATION_ONLY_SECOND);
    Lease s = m.acquire();
    scores = heads::sequence_logits(*s, m.model(), encodings, sz.batch, m.tokenizer().pad_id());
    if (sigmoid) heads::apply_scores(scores, 1, heads::ScoreFunction::sigmoid);
    order = heads::top_k(scores, top_k ? static_cast<size_t>(*top_k) : scores.size());
  }
  py::list out;
  for (size_t i : order) out.append(py::make_tuple(i, scores[i]));
  return out;
}

// Byte offsets of text as code-point offsets (Python's str indices).
int64_t code_point(const std::vector<int64_t>& index, int64_t byte) {
  return index[static_cast<size_t>(std::clamp<int64_t>(byte, 0, static_cast<int64_t>(index.size()) - 1))];
}

py::list tag(PyModel& m, const py::object& texts_obj, int64_t batch_size, std::optional<int64_t> max_length) {
  require(m, BERTRT_HEAD_TOKEN, "tag");
  const Sizes sz = sizes(m, batch_size, max_length);
  const std::vector<std::string> texts = text_list(texts_obj, "texts");
  const std::vector<std::string> labels = m.model().labels();
  const size_t L = labels.size();
  std::vector<bertrt::Encoding> encodings;
  std::vector<std::vector<float>> logits;
  {
    py::gil_scoped_release release;
    encodings = encode_all(m, texts, nullptr, sz.max_length, BERTRT_TRUNCATION_LONGEST_FIRST);
    Lease s = m.acquire();
    logits = heads::token_logits(*s, m.model(), encodings, sz.batch, m.tokenizer().pad_id());
  }
  py::list out;
  for (size_t i = 0; i < texts.size(); ++i) {
    const bertrt::Encoding& e = encodings[i];
    const std::vector<int64_t> cp = char_index_table(texts[i]);
    heads::apply_scores(logits[i], L, heads::ScoreFunction::softmax);
    std::vector<heads::TokenTag> tags;
    py::list tokens, entities;
    for (size_t t = 0; t < e.ids.size(); ++t) {
      if (e.sequence_ids[t] < 0) continue;
      const std::span<const float> row(logits[i].data() + t * L, L);
      const size_t best = heads::top_k(row, 1)[0];
      tags.push_back({labels[best], row[best], e.offsets[2 * t], e.offsets[2 * t + 1]});
      py::dict d;
      d["token"] = e.tokens[t];
      d["label"] = labels[best];
      d["score"] = row[best];
      d["start"] = code_point(cp, e.offsets[2 * t]);
      d["end"] = code_point(cp, e.offsets[2 * t + 1]);
      tokens.append(d);
    }
    for (const heads::Entity& ent : heads::group_entities(tags, texts[i])) {
      py::dict d;
      d["entity_group"] = ent.entity_group;
      d["score"] = ent.score;
      d["word"] = py::str(ent.word);
      d["start"] = code_point(cp, ent.start);
      d["end"] = code_point(cp, ent.end);
      entities.append(d);
    }
    py::dict r;
    r["tokens"] = tokens;
    r["entities"] = entities;
    out.append(r);
  }
  return out;
}

py::list fill_mask(PyModel& m, const std::string& text, int64_t top_k, std::optional<int64_t> max_length) {
  require(m, BERTRT_HEAD_MASKED_LM, "fill_mask");
  if (top_k <= 0) invalid("top_k must be positive");
  const Sizes sz = sizes(m, 1, max_length);
  std::vector<std::vector<heads::MaskCandidate>> found;
  {
    py::gil_scoped_release release;
    const bertrt::Tokenizer& tok = m.tokenizer();
    const bertrt::Encoding e = tok.encode(text, nullptr, sz.max_length, BERTRT_TRUNCATION_LONGEST_FIRST);
    const int64_t mask_id = heads::mask_token_id(m.model(), tok);
    Lease s = m.acquire();
    found = heads::fill_mask(*s, m.model(), tok, e, mask_id, static_cast<size_t>(top_k));
  }
  py::list out;
  for (const auto& position : found) {
    py::list best;
    for (const heads::MaskCandidate& c : position) {
      py::dict d;
      d["token"] = c.token_id;
      d["token_str"] = c.token;
      d["score"] = c.score;
      best.append(d);
    }
    out.append(best);
  }
  return out;
}

py::dict encode_sparse(PyModel& m, const py::object& texts_obj, std::optional<int64_t> top_k, double threshold,
                       int64_t batch_size, std::optional<int64_t> max_length) {
  require(m, BERTRT_HEAD_MASKED_LM, "encode_sparse");
  if (top_k && *top_k <= 0) invalid("top_k must be positive");
  if (!(threshold >= 0)) invalid("threshold must not be negative");
  const Sizes sz = sizes(m, batch_size, max_length);
  const std::vector<std::string> texts = text_list(texts_obj, "texts");
  std::vector<int64_t> indices, offsets{0};
  std::vector<float> values;
  {
    py::gil_scoped_release release;
    const auto encodings = encode_all(m, texts, nullptr, sz.max_length, BERTRT_TRUNCATION_LONGEST_FIRST);
    Lease s = m.acquire();
    for (const heads::SparseVector& v : heads::splade(*s, m.model(), encodings, sz.batch, m.tokenizer().pad_id(),
                                                      static_cast<size_t>(top_k.value_or(0)), static_cast<float>(threshold))) {
      indices.insert(indices.end(), v.ids.begin(), v.ids.end());
      values.insert(values.end(), v.weights.begin(), v.weights.end());
      offsets.push_back(static_cast<int64_t>(indices.size()));
    }
  }
  py::dict d;
  d["indices"] = to_array(indices, {py::ssize_t(indices.size())});
  d["values"] = to_array(values, {py::ssize_t(values.size())});
  d["offsets"] = to_array(offsets, {py::ssize_t(offsets.size())});
  d["shape"] = py::make_tuple(texts.size(), m.model().head_info().logits_size);
  return d;
}

}  // namespace

void bind_head_methods(py::class_<PyModel>& cls) {
  cls.def_property_readonly("head_info", &head_info,
                            "The task head: dict of kind ('none', 'sequence', 'token', 'masked_lm'), num_labels,\n"
                            "logits_size, problem_type, architecture and labels (id2label in index order).")
      .def("head", &head, py::arg("last_hidden_state"), py::arg("attention_mask") = py::none(),
           "The head's logits from last_hidden_state [B, T, H]: [B, L] (sequence head), [B, T, L] (token head)\n"
           "or [B, T, V] (masked LM; rows after a row's last mask-1 token are zeros).")
      .def("head_at", &head_at, py::arg("last_hidden_state"), py::arg("positions"),
           "Token and masked-LM heads at flat positions b * T + t only -> float32 [len(positions), L or V].")
      .def("classify", &classify, py::arg("texts"), py::arg("pairs") = py::none(), py::arg("batch_size") = 32,
           py::arg("max_length") = py::none(), py::arg("function") = py::none(),
           "A sequence-classification head on texts (and pairs). Returns a dict: label (top label per text),\n"
           "score [N], scores [N, L] (softmax; sigmoid for multi_label_classification; the raw logit for a\n"
           "one-label head; function= overrides), logits [N, L], labels (names), function.")
      .def("rerank", &rerank, py::arg("query"), py::arg("docs"), py::arg("sigmoid") = false,
           py::arg("batch_size") = 32, py::arg("max_length") = py::none(), py::arg("top_k") = py::none(),
           "A cross-encoder's scores of (query, doc) pairs (documents cut to max_length, only_second),\n"
           "as a list of (index, score) best first; score the raw logit, or its sigmoid.")
      .def("tag", &tag, py::arg("texts"), py::arg("batch_size") = 32, py::arg("max_length") = py::none(),
           "A token-classification head on texts: per text a dict of tokens (token, label, score, start,\n"
           "end) and entities (entity_group, score, word, start, end) grouped as Hugging Face's pipeline\n"
           "with aggregation_strategy='simple'. Offsets are code points of the text (str indices).")
      .def("fill_mask", &fill_mask, py::arg("text"), py::arg("top_k") = 5, py::arg("max_length") = py::none(),
           "A masked-LM head at each mask token of text: a list per mask token of top_k dicts (token id,\n"
           "token_str, score = softmax probability). ValueError when the text has no mask token.")
      .def("encode_sparse", &encode_sparse, py::arg("texts"), py::arg("top_k") = py::none(),
           py::arg("threshold") = 0.0, py::arg("batch_size") = 32, py::arg("max_length") = py::none(),
           "SPLADE vectors from a masked-LM head: per text max over its tokens of log(1 + ReLU(logits)), kept\n"
           "above threshold, the top_k largest. Returns a CSR dict: indices int64 [nnz], values float32\n"
           "[nnz], offsets int64 [N + 1] (text i: [offsets[i], offsets[i+1]), largest first), shape (N, V).");
}

}  // namespace bertrt_python
