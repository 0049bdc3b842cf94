// Converter, metadata: a Hugging Face checkpoint directory -> model file. The config, tokenizer
// settings and sentence-transformers defaults are read here; the weights in convert_weights.cpp.
#include "convert/convert.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "convert/convert_internal.h"
#include "convert/sentencepiece.h"
#include "model/names.h"

namespace bertrt::convert {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace detail {

void fail(const std::string& message) { throw Error(BERTRT_ERROR_FORMAT, "convert: " + message); }

std::string read_text(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(BERTRT_ERROR_IO, "convert: cannot read '" + path.string() + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json read_json(const fs::path& path) {
  try {
    return json::parse(read_text(path));
  } catch (const json::exception& e) {
    fail("'" + path.string() + "' is not valid JSON: " + e.what());
  }
}

}  // namespace detail

namespace {

using detail::fail;
using detail::read_json;
using detail::read_text;

int64_t int_field(const json& config, const char* key, std::optional<int64_t> fallback) {
  if (!config.contains(key) || config[key].is_null()) {
    if (!fallback) fail(std::string("config.json has no '") + key + "'");
    return *fallback;
  }
  if (!config[key].is_number_integer()) fail(std::string("config.json: '") + key + "' is not an integer");
  return config[key].get<int64_t>();
}

// A special token in tokenizer_config.json / special_tokens_map.json: a string or {"content": ...}.
std::optional<std::string> token_field(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return std::nullopt;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

// vocab.txt: one token a line, split on '\n' only (released vocabularies hold U+2028 inside
// entries); a trailing '\r' is dropped, and the empty piece after the last newline is not a token.
std::vector<std::string> read_vocab(const fs::path& path) {
  const std::string text = read_text(path);
  std::vector<std::string> vocab;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(std::move(line));
    start = end + 1;
  }
  return vocab;
}

// What a sentence-transformers folder (modules.json) says: where the transformer lives, and the
// default pooling and normalisation. Without modules.json: the directory itself, mean, off.
struct SentenceTransformers {
  fs::path model_dir;
  std::string pool_mode = "mean";
  bool normalize = false;
};

// The pooling mode of a sentence-transformers Pooling module's config.json.
std::string pooling_mode(const fs::path& config_path) {
  const json p = read_json(config_path);
  if (p.value("pooling_mode_cls_token", false)) return "cls";
  if (p.value("pooling_mode_max_tokens", false)) return "max";
  if (p.value("pooling_mode_mean_tokens", false)) return "mean";
  if (p.contains("pooling_mode") && p["pooling_mode"].is_string()) {
    std::string mode = p["pooling_mode"].get<std::string>();
    if (mode != "cls" && mode != "mean" && mode != "max")
      throw Error(BERTRT_ERROR_UNSUPPORTED, "convert: pooling mode '" + mode + "' is not supported");
    return mode;
  }
  throw Error(BERTRT_ERROR_UNSUPPORTED,
              "convert: " + config_path.string() + " asks for a pooling mode bertrt does not support");
}

SentenceTransformers read_sentence_transformers(const fs::path& dir, const ConvertOptions& o) {
  SentenceTransformers st;
  st.model_dir = dir;
  if (!fs::exists(dir / "modules.json")) return st;
  const json modules = read_json(dir / "modules.json");
  if (!modules.is_array()) fail("modules.json is not a list");
  for (const json& m : modules) {
    const std::string type = m.value("type", "");
    const std::string path = m.value("path", "");
    if (path.find("..") != std::string::npos) fail("modules.json: path '" + path + "' leaves the directory");
    if (type.find("Transformer") != std::string::npos) {
      st.model_dir = dir / path;
    } else if (type.find("Pooling") != std::string::npos) {
      st.pool_mode = pooling_mode(dir / path / "config.json");
      if (o.note) o.note("sentence-transformers pooling: " + st.pool_mode);
    } else if (type.find("Normalize") != std::string::npos) {
      st.normalize = true;
      if (o.note) o.note("sentence-transformers normalization: on");
    } else if (o.note) {
      o.note("ignoring sentence-transformers module '" + type + "'");
    }
  }
  return st;
}

// config.json's model_type as a model file family ("bert" when absent).
std::string read_family(const json& config) {
  if (!config.contains("model_type") || !config["model_type"].is_string()) return "bert";
  const std::string type = config["model_type"].get<std::string>();
  for (const char* f : {"bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra"})
    if (type == f) return type;
  throw Error(BERTRT_ERROR_UNSUPPORTED, "convert: model_type '" + type +
                                            "' is not supported (bert, roberta, xlm-roberta, camembert, distilbert, "
                                            "electra)");
}

// DistilBERT's own keys: dim, n_layers, n_heads, hidden_dim; no token types.
void read_distilbert_dims(const json& config, detail::Dims& d) {
  if (config.contains("sinusoidal_pos_embds") && config["sinusoidal_pos_embds"] == true)
    throw Error(BERTRT_ERROR_UNSUPPORTED,
                "convert: config.json 'sinusoidal_pos_embds' = true is not supported (learned position embeddings only)");
  d.vocab = int_field(config, "vocab_size", std::nullopt);
  d.hidden = int_field(config, "dim", std::nullopt);
  d.layers = int_field(config, "n_layers", std::nullopt);
  d.heads = int_field(config, "n_heads", std::nullopt);
  d.intermediate = int_field(config, "hidden_dim", std::nullopt);
  d.positions = int_field(config, "max_position_embeddings", std::nullopt);
  d.types = 0;
}

// config.json's dimensions, checked for range and consistency.
detail::Dims read_dims(const json& config) {
  detail::Dims d;
  d.family = read_family(config);
  if (config.contains("position_embedding_type") && config["position_embedding_type"] != "absolute")
    throw Error(BERTRT_ERROR_UNSUPPORTED, "convert: only absolute position embeddings are supported");
  if (d.family == "distilbert") {
    read_distilbert_dims(config, d);
  } else {
    d.vocab = int_field(config, "vocab_size", std::nullopt);
    d.hidden = int_field(config, "hidden_size", std::nullopt);
    d.layers = int_field(config, "num_hidden_layers", std::nullopt);
    d.heads = int_field(config, "num_attention_heads", std::nullopt);
    d.intermediate = int_field(config, "intermediate_size", std::nullopt);
    d.positions = int_field(config, "max_position_embeddings", std::nullopt);
    d.types = int_field(config, "type_vocab_size", 2);
  }
  // Hugging Face's ElectraConfig defaults embedding_size to 128.
  d.embedding = d.family == "electra" ? int_field(config, "embedding_size", 128) : d.hidden;
  d.pad = int_field(config, "pad_token_id", detail::roberta_like(d.family) ? 1 : 0);
  for (auto [name, v] : {std::pair{"vocab_size", d.vocab}, {"hidden_size", d.hidden}, {"num_attention_heads", d.heads},
                         {"intermediate_size", d.intermediate}, {"max_position_embeddings", d.positions},
                         {"embedding_size", d.embedding}})
    if (v <= 0 || v > (1 << 20)) fail(std::string("config.json: ") + name + " = " + std::to_string(v) + " is out of range");
  if (d.types < (d.family == "distilbert" ? 0 : 1) || d.types > (1 << 20))
    fail("config.json: type_vocab_size = " + std::to_string(d.types) + " is out of range");
  if (d.layers < 0 || d.layers > 1024) fail("config.json: num_hidden_layers out of range");
  if (d.hidden % d.heads != 0) fail("config.json: hidden_size is not a multiple of num_attention_heads");
  if (detail::roberta_like(d.family)) {
    // Positions 0 .. padding_idx are never defaults: the usable length is what remains.
    if (d.pad < 0 || d.pad + 1 >= d.positions)
      fail("config.json: pad_token_id = " + std::to_string(d.pad) + " leaves no positions of max_position_embeddings " +
           std::to_string(d.positions));
    d.position_offset = d.pad + 1;
  }
  return d;
}

void add_config(format::ModelFileWriter& w, const json& config, const detail::Dims& d, const SentenceTransformers& st,
                const ConvertOptions& o) {
  const bool distil = d.family == "distilbert";
  // DistilBERT's LayerNorm eps is fixed (no key) and its activation key is `activation`.
  const double eps = !distil && config.contains("layer_norm_eps") ? config["layer_norm_eps"].get<double>() : 1e-12;
  const std::string act = config.value(distil ? "activation" : "hidden_act", std::string("gelu"));
  w.set_string(names::kMetaFamily, d.family);
  w.set_int(names::kMetaVocabSize, d.vocab);
  w.set_int(names::kMetaHiddenSize, d.hidden);
  if (d.embedding != d.hidden) w.set_int(names::kMetaEmbeddingSize, d.embedding);
  w.set_int(names::kMetaNumLayers, d.layers);
  w.set_int(names::kMetaNumHeads, d.heads);
  w.set_int(names::kMetaIntermediateSize, d.intermediate);
  w.set_int(names::kMetaMaxPositions, d.positions);
  w.set_int(names::kMetaTypeVocabSize, d.types);
  w.set_int(names::kMetaPadTokenId, d.pad);
  w.set_float(names::kMetaLayerNormEps, eps);
  w.set_string(names::kMetaHiddenAct, act);
  w.set_string(names::kMetaWeightDtype, o.dtype == format::TensorDType::i8 ? "int8" : format::dtype_name(o.dtype));
  w.set_string(names::kMetaPoolingMode, st.pool_mode);
  w.set_int(names::kMetaPoolingNormalize, st.normalize ? 1 : 0);
  w.set_string(names::kMetaSource, "converted from a Hugging Face " + d.family + " checkpoint by bertrt 0.1.0");
}

// A boolean field of tokenizer_config.json, or fallback when absent or not a boolean.
bool bool_field(const json& j, const char* key, bool fallback) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

// tokenizer_config.json settings, special tokens and model_max_length.
void add_tokenizer_settings(format::ModelFileWriter& w, const json& tok_config, const json& special, int64_t positions,
                            bool bpe) {
  int strip = -1;
  if (tok_config.is_object() && tok_config.contains("strip_accents") && tok_config["strip_accents"].is_boolean())
    strip = tok_config["strip_accents"].get<bool>() ? 1 : 0;
  w.set_int(names::kMetaDoLowerCase, bool_field(tok_config, "do_lower_case", !bpe) ? 1 : 0);
  w.set_int(names::kMetaStripAccents, strip);
  w.set_int(names::kMetaTokenizeChinese, bool_field(tok_config, "tokenize_chinese_chars", true) ? 1 : 0);
  const std::pair<const char*, const char*> specials[] = {{"unk_token", names::kMetaUnkToken},
                                                          {"cls_token", names::kMetaClsToken},
                                                          {"sep_token", names::kMetaSepToken},
                                                          {"pad_token", names::kMetaPadToken},
                                                          {"mask_token", names::kMetaMaskToken}};
  const std::map<std::string, std::string> default_special =
      bpe ? std::map<std::string, std::string>{{"unk_token", "<unk>"}, {"cls_token", "<s>"}, {"sep_token", "</s>"},
                                               {"pad_token", "<pad>"}, {"mask_token", "<mask>"}}
          : std::map<std::string, std::string>{{"unk_token", "[UNK]"}, {"cls_token", "[CLS]"}, {"sep_token", "[SEP]"},
                                               {"pad_token", "[PAD]"}, {"mask_token", "[MASK]"}};
  for (const auto& [field, key] : specials) {
    std::string value = default_special.at(field);
    if (auto v = token_field(special, field)) value = *v;
    else if (auto v2 = token_field(tok_config, field)) value = *v2;
    w.set_string(key, value);
  }
  int64_t max_len = positions;
  if (tok_config.is_object() && tok_config.contains("model_max_length") && tok_config["model_max_length"].is_number()) {
    const double m = tok_config["model_max_length"].get<double>();
    if (m > 0 && m < static_cast<double>(positions)) max_len = static_cast<int64_t>(m);
  }
  w.set_int(names::kMetaModelMaxLength, max_len);
}

// A tokenizer file: the transformer folder's, else the top directory's; empty when neither has it.
fs::path find_file(const fs::path& dir, const fs::path& model_dir, const char* name) {
  if (fs::exists(model_dir / name)) return model_dir / name;
  if (fs::exists(dir / name)) return dir / name;
  return {};
}

// A folder whose only tokenizer is a SentencePiece model (spiece.model, sentencepiece.bpe.model):
// the tokenizer.json it converts to is stored, in the family its tokenizer_config.json or
// config.json names (sentencepiece.h). False when there is no such model.
bool add_sentencepiece(format::ModelFileWriter& w, const fs::path& dir, const fs::path& model_dir,
                       const ConvertOptions& o) {
  fs::path file = spm::find_model(model_dir);
  if (file.empty()) file = spm::find_model(dir);
  if (file.empty()) return false;
  const spm::Options options = spm::options_for_folder(file.parent_path());
  w.set_string(names::kMetaTokenizerJson, spm::tokenizer_json(read_text(file), options));
  if (o.note) o.note("no vocab.txt: " + file.filename().string() + " stored as the tokenizer.json it converts to");
  return true;
}

// vocab.txt (WordPiece) and the tokenizer settings; tokenizer.json, vocab.json and merges.txt, when
// present, are stored raw (the tokenizer reads them). RoBERTa-family folders need no vocab.txt.
void add_tokenizer(format::ModelFileWriter& w, const fs::path& dir, const fs::path& model_dir, const detail::Dims& d,
                   const ConvertOptions& o) {
  const bool bpe = detail::roberta_like(d.family);
  const fs::path vocab_path = find_file(dir, model_dir, "vocab.txt");
  if (!vocab_path.empty() || !bpe) {
    const std::vector<std::string> vocab = read_vocab(vocab_path.empty() ? dir / "vocab.txt" : vocab_path);
    if (static_cast<int64_t>(vocab.size()) != d.vocab)
      fail("vocab.txt has " + std::to_string(vocab.size()) + " entries but config.json says vocab_size " +
           std::to_string(d.vocab));
    w.set_list(names::kMetaVocab, vocab);
  }
  const std::pair<const char*, const char*> raw_files[] = {{"tokenizer.json", names::kMetaTokenizerJson},
                                                           {"vocab.json", names::kMetaTokenizerVocabJson},
                                                           {"merges.txt", names::kMetaTokenizerMerges}};
  bool any_raw = false;
  for (const auto& [file, key] : raw_files) {
    const fs::path p = find_file(dir, model_dir, file);
    if (p.empty()) continue;
    w.set_string(key, read_text(p));
    any_raw = true;
  }
  const bool from_sentencepiece = vocab_path.empty() && !any_raw && add_sentencepiece(w, dir, model_dir, o);
  if (vocab_path.empty() && !from_sentencepiece && o.note)
    o.note(any_raw ? "no vocab.txt: tokenizer files stored as they are"
                   : "no tokenizer files: the model converts without a tokenizer (give input ids)");
  json tok_config = json::object(), special = json::object();
  for (const fs::path& p : {model_dir, dir}) {
    if (tok_config.empty() && fs::exists(p / "tokenizer_config.json")) tok_config = read_json(p / "tokenizer_config.json");
    if (special.empty() && fs::exists(p / "special_tokens_map.json")) special = read_json(p / "special_tokens_map.json");
  }
  add_tokenizer_settings(w, tok_config, special, d.positions - d.position_offset, bpe);
}

}  // namespace

format::ModelFileWriter build_model_file(const std::string& hf_dir, const ConvertOptions& o) {
  const fs::path dir(hf_dir);
  if (!fs::is_directory(dir)) throw Error(BERTRT_ERROR_IO, "convert: '" + hf_dir + "' is not a directory");
  const SentenceTransformers st = read_sentence_transformers(dir, o);
  const json config = read_json(st.model_dir / "config.json");
  const detail::Dims dims = read_dims(config);
  format::ModelFileWriter w;
  add_config(w, config, dims, st, o);
  add_tokenizer(w, dir, st.model_dir, dims, o);
  detail::add_weights(w, st.model_dir, dims, config, o);
  return w;
}

void convert_directory(const std::string& hf_dir, const std::string& out_path, const ConvertOptions& options) {
  build_model_file(hf_dir, options).write(out_path);
}

}  // namespace bertrt::convert
