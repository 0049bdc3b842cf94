// Converter, task heads: the head config.json's architecture names (sequence classification, token
// classification, masked LM), its tensors mapped to head.* and its metadata (kind, labels, problem
// type). docs/format.md, "Task heads", gives the stored form and the computation.
#include <algorithm>
#include <optional>

#include "common/error.h"
#include "convert/convert_internal.h"
#include "model/model.h"
#include "model/names.h"

namespace bertrt::convert::detail {
namespace {

using json = nlohmann::json;

enum class Kind { sequence, token, masked_lm };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::sequence: return "sequence";
    case Kind::token: return "token";
    case Kind::masked_lm: return "masked_lm";
  }
  return "";
}

// Where a head's parts live in the checkpoint: Linear and LayerNorm names without ".weight" /
// ".bias"; null: the head has no such part.
struct HeadSpec {
  Kind kind;
  const char* dense;       // the layer before the classifier or decoder ("pooler.dense": BERT's pooler)
  const char* activation;  // of dense: "tanh", "relu", "gelu" (erf form); "": the body's activation
  const char* out;         // classifier / out_proj (sequence and token heads)
  const char* ln;          // masked LM: LayerNorm after the activation
  const char* decoder;     // masked LM: decoder weight [V, X] (tied to the word embeddings when absent)
  const char* bias;        // masked LM: decoder bias [V]
  const char* bias_alias;  // the same bias under the decoder's name (checkpoints that store both)
};

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// The head of architecture `arch` in `family`, or nullopt when bertrt does not run it.
std::optional<HeadSpec> spec_for(const std::string& family, const std::string& arch) {
  const bool seq = ends_with(arch, "ForSequenceClassification");
  const bool mlm = ends_with(arch, "ForMaskedLM") || (family == "bert" && arch == "BertForPreTraining");
  if (ends_with(arch, "ForTokenClassification")) return HeadSpec{Kind::token, nullptr, "", "classifier",
                                                                 nullptr, nullptr, nullptr, nullptr};
  if (family == "bert" && seq)
    return HeadSpec{Kind::sequence, "pooler.dense", "tanh", "classifier", nullptr, nullptr, nullptr, nullptr};
  if (family == "bert" && mlm)
    return HeadSpec{Kind::masked_lm, "cls.predictions.transform.dense", "", nullptr,
                    "cls.predictions.transform.LayerNorm", "cls.predictions.decoder.weight", "cls.predictions.bias",
                    "cls.predictions.decoder.bias"};
  if (roberta_like(family) && seq)
    return HeadSpec{Kind::sequence, "classifier.dense", "tanh", "classifier.out_proj", nullptr, nullptr, nullptr,
                    nullptr};
  if (roberta_like(family) && mlm)
    return HeadSpec{Kind::masked_lm, "lm_head.dense", "gelu", nullptr, "lm_head.layer_norm", "lm_head.decoder.weight",
                    "lm_head.bias", "lm_head.decoder.bias"};
  if (family == "distilbert" && seq)
    return HeadSpec{Kind::sequence, "pre_classifier", "relu", "classifier", nullptr, nullptr, nullptr, nullptr};
  if (family == "distilbert" && mlm)
    return HeadSpec{Kind::masked_lm, "vocab_transform", "", nullptr, "vocab_layer_norm", "vocab_projector.weight",
                    "vocab_projector.bias", nullptr};
  if (family == "electra" && seq)
    return HeadSpec{Kind::sequence, "classifier.dense", "gelu", "classifier.out_proj", nullptr, nullptr, nullptr,
                    nullptr};
  if (family == "electra" && mlm)
    return HeadSpec{Kind::masked_lm, "generator_predictions.dense", "gelu", nullptr, "generator_predictions.LayerNorm",
                    "generator_lm_head.weight", "generator_lm_head.bias", nullptr};
  return std::nullopt;
}

std::string str(const char* prefix, const char* suffix) { return std::string(prefix) + suffix; }

// id2label in index order: exactly `count` entries keyed "0" .. "count-1"; absent: LABEL_i.
std::vector<std::string> labels(const json& config, int64_t count) {
  std::vector<std::string> out(static_cast<size_t>(count));
  if (!config.contains("id2label") || !config["id2label"].is_object()) {
    for (int64_t i = 0; i < count; ++i) out[static_cast<size_t>(i)] = "LABEL_" + std::to_string(i);
    return out;
  }
  const json& m = config["id2label"];
  if (static_cast<int64_t>(m.size()) != count)
    fail("config.json: id2label has " + std::to_string(m.size()) + " entries but the classifier has " +
         std::to_string(count) + " outputs");
  std::vector<bool> seen(out.size(), false);
  for (const auto& [key, value] : m.items()) {
    const bool digits = !key.empty() && key.size() < 10 &&
                        std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    const int64_t i = digits ? std::stoll(key) : -1;
    if (i < 0 || i >= count || seen[static_cast<size_t>(i)])
      fail("config.json: id2label key '" + key + "' is not an index in [0, " + std::to_string(count) + ")");
    if (!value.is_string()) fail("config.json: id2label['" + key + "'] is not a string");
    seen[static_cast<size_t>(i)] = true;
    out[static_cast<size_t>(i)] = value.get<std::string>();
  }
  return out;
}

// The dense layer's activation name as stored (head.activation), checked to be one the runtime has.
std::string activation(const HeadSpec& spec, const Dims& d, const json& config) {
  std::string act = spec.activation;
  if (act.empty()) act = config.value(d.family == "distilbert" ? "activation" : "hidden_act", std::string("gelu"));
  if (act != "tanh") core::parse_activation(act);  // throws UNSUPPORTED naming it
  return act;
}

// Every tensor the head needs, or an error naming the first one missing.
void require_parts(const WeightWriter& ww, const HeadSpec& spec, const std::string& arch) {
  std::vector<std::string> need;
  for (const char* p : {spec.dense, spec.out, spec.ln})
    if (p) {
      need.push_back(str(p, ".weight"));
      need.push_back(str(p, ".bias"));
    }
  for (const std::string& n : need)
    if (!ww.has(n))
      fail("the " + arch + " head is incomplete: missing tensor '" + n + "' (convert without heads to drop it)");
  if (spec.bias && !ww.has(spec.bias) && !(spec.bias_alias && ww.has(spec.bias_alias)))
    fail("the " + arch + " head is incomplete: missing tensor '" + spec.bias + "' (convert without heads to drop it)");
}

// The masked-LM decoder: stored only when the checkpoint's differs from the word embeddings.
void add_decoder(WeightWriter& ww, const HeadSpec& spec, const Dims& d, int64_t x) {
  const int64_t V = d.vocab;
  bool tied = !ww.has(spec.decoder);
  std::vector<float> decoder;
  if (!tied) {
    decoder = ww.take(spec.decoder, {V, x});
    tied = x == d.embedding && decoder == ww.take("embeddings.word_embeddings.weight", {V, d.embedding});
  }
  if (tied && x != d.embedding)
    fail("the masked-LM decoder is tied to the word embeddings [" + std::to_string(V) + ", " +
         std::to_string(d.embedding) + "] but the head is " + std::to_string(x) + " wide");
  if (!tied) ww.matrix(names::kHeadDecoderWeight, transpose(decoder, static_cast<size_t>(V), static_cast<size_t>(x)), x, V);
  else if (ww.options().note) ww.options().note("masked-LM decoder tied to the word embeddings (not stored twice)");
  const bool primary = ww.has(spec.bias);
  const char* bias = primary ? spec.bias : spec.bias_alias;
  if (primary && spec.bias_alias && ww.has(spec.bias_alias) &&
      ww.take(spec.bias_alias, {V}) != ww.take(spec.bias, {V}))
    fail(std::string("'") + spec.bias + "' and '" + spec.bias_alias + "' differ");
  ww.plain(names::kHeadDecoderBias, bias, {V});
}

void add_head_tensors(WeightWriter& ww, const HeadSpec& spec, const Dims& d, const json& config,
                      const std::string& arch) {
  format::ModelFileWriter& w = ww.writer();
  const int64_t H = d.hidden;
  w.set_string(names::kMetaHeadKind, kind_name(spec.kind));
  w.set_string(names::kMetaHeadArchitecture, arch);
  if (config.contains("problem_type") && config["problem_type"].is_string())
    w.set_string(names::kMetaHeadProblemType, config["problem_type"].get<std::string>());
  int64_t x = H;  // width after the dense layer
  if (spec.dense) {
    w.set_string(names::kMetaHeadActivation, activation(spec, d, config));
    if (std::string(spec.dense) == "pooler.dense") {
      w.set_int(names::kMetaHeadPooler, 1);  // the pooler is stored as the base model's
    } else {
      const std::vector<int64_t> shape = ww.shape(str(spec.dense, ".weight"));
      if (shape.size() != 2) fail("tensor '" + str(spec.dense, ".weight") + "' is not a matrix");
      x = shape[0];
      ww.linear(spec.dense, names::kHeadDenseWeight, names::kHeadDenseBias, x, H);
    }
  }
  if (spec.out) {
    const std::vector<int64_t> shape = ww.shape(str(spec.out, ".weight"));
    if (shape.size() != 2 || shape[0] < 1 || shape[0] > (1 << 20))
      fail("tensor '" + str(spec.out, ".weight") + "' is not a classifier matrix [num_labels, " + std::to_string(x) + "]");
    ww.linear(spec.out, names::kHeadOutWeight, names::kHeadOutBias, shape[0], x);
    w.set_list(names::kMetaHeadLabels, labels(config, shape[0]));
  }
  if (spec.kind == Kind::masked_lm) {
    const double eps = d.family != "distilbert" && config.contains("layer_norm_eps") && config["layer_norm_eps"].is_number()
                           ? config["layer_norm_eps"].get<double>()
                           : 1e-12;
    w.set_float(names::kMetaHeadLayerNormEps, eps);
    ww.plain(names::kHeadLnGamma, str(spec.ln, ".weight"), {x});
    ww.plain(names::kHeadLnBeta, str(spec.ln, ".bias"), {x});
    add_decoder(ww, spec, d, x);
  }
}

}  // namespace

std::string add_head(WeightWriter& ww, const Dims& d, const json& config) {
  const ConvertOptions& o = ww.options();
  if (!o.heads) return "converted without heads";
  std::string arch;
  if (config.contains("architectures") && config["architectures"].is_array() && !config["architectures"].empty() &&
      config["architectures"][0].is_string())
    arch = config["architectures"][0].get<std::string>();
  if (arch.empty()) return "config.json names no architecture";
  const std::optional<HeadSpec> spec = spec_for(d.family, arch);
  if (!spec) return arch + " heads are not supported";
  const std::string key = spec->out ? str(spec->out, ".weight") : spec->bias;
  if (!ww.has(key) && !(spec->bias_alias && ww.has(spec->bias_alias))) {
    if (o.note) o.note("config.json names " + arch + " but the checkpoint has no '" + key + "': converted without a head");
    return "no complete " + arch + " head";
  }
  if (spec->kind == Kind::sequence && std::string(spec->dense) == "pooler.dense" && !ww.has("pooler.dense.weight"))
    fail("the " + arch + " head needs the pooler, which the checkpoint lacks (convert without heads to drop the head)");
  require_parts(ww, *spec, arch);
  add_head_tensors(ww, *spec, d, config, arch);
  if (o.note) o.note("task head: " + arch + " (" + kind_name(spec->kind) + ")");
  return "not used by the " + arch + " head";
}

}  // namespace bertrt::convert::detail
