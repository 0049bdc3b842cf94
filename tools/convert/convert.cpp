#include "convert/convert.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "kernels/gemm_packed.h"
#include "convert/checkpoint.h"
#include "model/names.h"

namespace bertrt::convert {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(BERTRT_ERROR_FORMAT, "convert: " + message); }

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

// Element i of a source tensor widened to double.
std::vector<float> to_f32(const SourceTensor& t) {
  size_t n = 1;
  for (int64_t d : t.shape) n *= static_cast<size_t>(d);
  std::vector<float> out(n);
  const uint8_t* p = t.data.data();
  if (t.data.size() != n * source_dtype_size(t.dtype)) fail("tensor '" + t.name + "': data size does not match shape");
  switch (t.dtype) {
    case SourceDType::f32: std::memcpy(out.data(), p, n * 4); break;
    case SourceDType::f64:
      for (size_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, p + 8 * i, 8);
        out[i] = static_cast<float>(v);
      }
      break;
    case SourceDType::f16:
    case SourceDType::bf16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        if (t.dtype == SourceDType::bf16) {
          const uint32_t bits = static_cast<uint32_t>(h) << 16;
          std::memcpy(&out[i], &bits, 4);
        } else {
          const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
          uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
          if (exp == 0 && man == 0) {
            bits = sign;
          } else if (exp == 0) {
            exp = 113;
            while (!(man & 0x400)) {
              man <<= 1;
              --exp;
            }
            bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
          } else if (exp == 31) {
            bits = sign | 0x7f800000u | (man << 13);
          } else {
            bits = sign | ((exp + 112) << 23) | (man << 13);
          }
          std::memcpy(&out[i], &bits, 4);
        }
      }
      break;
    default:
      fail("tensor '" + t.name + "' has dtype " + source_dtype_name(t.dtype) + "; weights must be floating point");
  }
  return out;
}

std::vector<uint8_t> encode(const std::vector<float>& values, format::TensorDType dtype) {
  std::vector<uint8_t> out(values.size() * format::dtype_size(dtype));
  if (dtype == format::TensorDType::f32) {
    std::memcpy(out.data(), values.data(), out.size());
    return out;
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t h = dtype == format::TensorDType::f16 ? f32_to_f16(values[i]) : f32_to_bf16(values[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Hugging Face names -> canonical BertModel names: drop the `bert.` prefix, legacy LayerNorm
// gamma/beta -> weight/bias. Returns "" for tensors that are not part of BertModel.
std::string canonical_name(std::string name) {
  if (name.rfind("bert.", 0) == 0) name = name.substr(5);
  const bool in_layernorm = name.find("LayerNorm.") != std::string::npos;
  if (in_layernorm && name.size() > 6 && name.compare(name.size() - 6, 6, ".gamma") == 0)
    name = name.substr(0, name.size() - 6) + ".weight";
  if (in_layernorm && name.size() > 5 && name.compare(name.size() - 5, 5, ".beta") == 0)
    name = name.substr(0, name.size() - 5) + ".bias";
  if (name.rfind("embeddings.", 0) == 0 || name.rfind("encoder.", 0) == 0 || name.rfind("pooler.", 0) == 0)
    return name;
  return "";
}

class TensorSet {
 public:
  void add(SourceTensor t, const ConvertOptions& o) {
    const std::string original = t.name;
    const std::string name = canonical_name(t.name);
    if (name.empty()) {
      if (o.note) o.note("skipping '" + original + "' (not part of BertModel: task head)");
      return;
    }
    if (name == "embeddings.position_ids" || name == "embeddings.token_type_ids") {
      if (o.note) o.note("skipping '" + original + "' (buffer, not a weight)");
      return;
    }
    if (tensors_.count(name)) fail("two tensors map to '" + name + "' (second: '" + original + "')");
    t.name = name;
    tensors_.emplace(name, std::move(t));
  }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  // The tensor as f32 after checking its shape.
  std::vector<float> take(const std::string& name, const std::vector<int64_t>& shape) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail("missing tensor '" + name + "'");
    if (it->second.shape != shape)
      fail("tensor '" + name + "' has shape " + shape_str(it->second.shape) + ", expected " + shape_str(shape));
    return to_f32(it->second);
  }
  std::vector<std::string> unused(const std::set<std::string>& used) const {
    std::vector<std::string> out;
    for (const auto& [name, t] : tensors_)
      if (!used.count(name)) out.push_back(name);
    return out;
  }

 private:
  std::map<std::string, SourceTensor> tensors_;
};

// PyTorch Linear weight [out, in] -> [in, out].
std::vector<float> transpose(const std::vector<float>& w, size_t out, size_t in) {
  std::vector<float> t(w.size());
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < in; ++i) t[i * out + o] = w[o * in + i];
  return t;
}

std::vector<std::string> weight_files(const fs::path& dir, std::string* kind) {
  auto from_index = [&](const fs::path& index) {
    const json j = read_json(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) fail("'" + index.string() + "' has no weight_map");
    std::set<std::string> files;
    for (const auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) fail("'" + index.string() + "': weight_map entry is not a file name");
      const std::string f = file.get<std::string>();
      if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
        fail("'" + index.string() + "' names a file outside the directory: '" + f + "'");
      files.insert(f);
    }
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back((dir / f).string());
    return out;
  };
  if (fs::exists(dir / "model.safetensors")) {
    *kind = "safetensors";
    return {(dir / "model.safetensors").string()};
  }
  if (fs::exists(dir / "model.safetensors.index.json")) {
    *kind = "safetensors";
    return from_index(dir / "model.safetensors.index.json");
  }
  if (fs::exists(dir / "pytorch_model.bin")) {
    *kind = "torch";
    return {(dir / "pytorch_model.bin").string()};
  }
  if (fs::exists(dir / "pytorch_model.bin.index.json")) {
    *kind = "torch";
    return from_index(dir / "pytorch_model.bin.index.json");
  }
  if (fs::exists(dir / "tf_model.h5")) {
    *kind = "h5";
    return {(dir / "tf_model.h5").string()};
  }
  throw Error(BERTRT_ERROR_IO, "convert: no weights in '" + dir.string() +
                                   "' (model.safetensors, model.safetensors.index.json, pytorch_model.bin or tf_model.h5)");
}

}  // namespace

uint16_t f32_to_f16(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    float f;
    uint32_t absbits = abs;
    std::memcpy(&f, &absbits, 4);
    // Subnormal halves are multiples of 2^-24; nearbyint rounds half to even.
    const float scaled = std::nearbyint(f * 16777216.0f);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(scaled));
  }
  const uint32_t mantissa_odd = (abs >> 13) & 1u;
  const uint32_t rounded = abs + 0xfffu + mantissa_odd;
  return static_cast<uint16_t>(sign | (((rounded - 0x38000000u) >> 13) & 0x7fffu));
}

uint16_t f32_to_bf16(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  const uint32_t lsb = (x >> 16) & 1u;
  return static_cast<uint16_t>((x + 0x7fffu + lsb) >> 16);
}

format::ModelFileWriter build_model_file(const std::string& hf_dir, const ConvertOptions& o) {
  const fs::path dir(hf_dir);
  if (!fs::is_directory(dir)) throw Error(BERTRT_ERROR_IO, "convert: '" + hf_dir + "' is not a directory");

  // sentence-transformers: modules.json names the transformer folder, pooling and normalisation.
  fs::path model_dir = dir;
  std::string pool_mode = "mean";
  bool normalize = false;
  if (fs::exists(dir / "modules.json")) {
    const json modules = read_json(dir / "modules.json");
    if (!modules.is_array()) fail("modules.json is not a list");
    for (const json& m : modules) {
      const std::string type = m.value("type", "");
      const std::string path = m.value("path", "");
      if (path.find("..") != std::string::npos) fail("modules.json: path '" + path + "' leaves the directory");
      if (type.find("Transformer") != std::string::npos) {
        model_dir = dir / path;
      } else if (type.find("Pooling") != std::string::npos) {
        const json p = read_json(dir / path / "config.json");
        if (p.value("pooling_mode_cls_token", false)) pool_mode = "cls";
        else if (p.value("pooling_mode_max_tokens", false)) pool_mode = "max";
        else if (p.value("pooling_mode_mean_tokens", false)) pool_mode = "mean";
        else if (p.contains("pooling_mode") && p["pooling_mode"].is_string()) {
          pool_mode = p["pooling_mode"].get<std::string>();
          if (pool_mode != "cls" && pool_mode != "mean" && pool_mode != "max")
            throw Error(BERTRT_ERROR_UNSUPPORTED, "convert: pooling mode '" + pool_mode + "' is not supported");
        } else {
          throw Error(BERTRT_ERROR_UNSUPPORTED, "convert: " + (dir / path / "config.json").string() +
                                                    " asks for a pooling mode bertrt does not support");
        }
        if (o.note) o.note("sentence-transformers pooling: " + pool_mode);
      } else if (type.find("Normalize") != std::string::npos) {
        normalize = true;
        if (o.note) o.note("sentence-transformers normalization: on");
      } else if (o.note) {
        o.note("ignoring sentence-transformers module '" + type + "'");
      }
    }
  }

  const json config = read_json(model_dir / "config.json");
  if (config.contains("model_type") && config["model_type"].is_string()) {
    const std::string type = config["model_type"].get<std::string>();
    if (type != "bert")
      throw Error(BERTRT_ERROR_UNSUPPORTED, "convert: model_type '" + type + "' is not supported (bert)");
  }
  if (config.contains("position_embedding_type") && config["position_embedding_type"] != "absolute")
    throw Error(BERTRT_ERROR_UNSUPPORTED, "convert: only absolute position embeddings are supported");
  const int64_t V = int_field(config, "vocab_size", std::nullopt);
  const int64_t H = int_field(config, "hidden_size", std::nullopt);
  const int64_t L = int_field(config, "num_hidden_layers", std::nullopt);
  const int64_t heads = int_field(config, "num_attention_heads", std::nullopt);
  const int64_t I = int_field(config, "intermediate_size", std::nullopt);
  const int64_t P = int_field(config, "max_position_embeddings", std::nullopt);
  const int64_t TV = int_field(config, "type_vocab_size", 2);
  const int64_t pad = int_field(config, "pad_token_id", 0);
  for (auto [name, v] : {std::pair{"vocab_size", V}, {"hidden_size", H}, {"num_attention_heads", heads},
                         {"intermediate_size", I}, {"max_position_embeddings", P}, {"type_vocab_size", TV}})
    if (v <= 0 || v > (1 << 20)) fail(std::string("config.json: ") + name + " = " + std::to_string(v) + " is out of range");
  if (L < 0 || L > 1024) fail("config.json: num_hidden_layers out of range");
  if (H % heads != 0) fail("config.json: hidden_size is not a multiple of num_attention_heads");
  const double eps = config.contains("layer_norm_eps") ? config["layer_norm_eps"].get<double>() : 1e-12;
  const std::string act = config.value("hidden_act", std::string("gelu"));

  format::ModelFileWriter w;
  w.set_int(names::kMetaVocabSize, V);
  w.set_int(names::kMetaHiddenSize, H);
  w.set_int(names::kMetaNumLayers, L);
  w.set_int(names::kMetaNumHeads, heads);
  w.set_int(names::kMetaIntermediateSize, I);
  w.set_int(names::kMetaMaxPositions, P);
  w.set_int(names::kMetaTypeVocabSize, TV);
  w.set_int(names::kMetaPadTokenId, pad);
  w.set_float(names::kMetaLayerNormEps, eps);
  w.set_string(names::kMetaHiddenAct, act);
  w.set_string(names::kMetaWeightDtype, format::dtype_name(o.dtype));
  w.set_string(names::kMetaPoolingMode, pool_mode);
  w.set_int(names::kMetaPoolingNormalize, normalize ? 1 : 0);
  w.set_string(names::kMetaSource, "converted from a Hugging Face BERT checkpoint by bertrt 0.1.0");

  // Tokenizer.
  fs::path vocab_path = model_dir / "vocab.txt";
  if (!fs::exists(vocab_path)) vocab_path = dir / "vocab.txt";
  const std::vector<std::string> vocab = read_vocab(vocab_path);
  if (static_cast<int64_t>(vocab.size()) != V)
    fail("vocab.txt has " + std::to_string(vocab.size()) + " entries but config.json says vocab_size " +
         std::to_string(V));
  w.set_list(names::kMetaVocab, vocab);
  json tok_config = json::object(), special = json::object();
  for (const fs::path& d : {model_dir, dir}) {
    if (tok_config.empty() && fs::exists(d / "tokenizer_config.json")) tok_config = read_json(d / "tokenizer_config.json");
    if (special.empty() && fs::exists(d / "special_tokens_map.json")) special = read_json(d / "special_tokens_map.json");
  }
  const bool lower = tok_config.is_object() && tok_config.contains("do_lower_case") && tok_config["do_lower_case"].is_boolean()
                         ? tok_config["do_lower_case"].get<bool>()
                         : true;
  int strip = -1;
  if (tok_config.is_object() && tok_config.contains("strip_accents") && tok_config["strip_accents"].is_boolean())
    strip = tok_config["strip_accents"].get<bool>() ? 1 : 0;
  const bool chinese = tok_config.is_object() && tok_config.contains("tokenize_chinese_chars") &&
                               tok_config["tokenize_chinese_chars"].is_boolean()
                           ? tok_config["tokenize_chinese_chars"].get<bool>()
                           : true;
  w.set_int(names::kMetaDoLowerCase, lower ? 1 : 0);
  w.set_int(names::kMetaStripAccents, strip);
  w.set_int(names::kMetaTokenizeChinese, chinese ? 1 : 0);
  const std::pair<const char*, const char*> specials[] = {{"unk_token", names::kMetaUnkToken},
                                                          {"cls_token", names::kMetaClsToken},
                                                          {"sep_token", names::kMetaSepToken},
                                                          {"pad_token", names::kMetaPadToken},
                                                          {"mask_token", names::kMetaMaskToken}};
  const std::map<std::string, std::string> default_special = {{"unk_token", "[UNK]"}, {"cls_token", "[CLS]"},
                                                              {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"},
                                                              {"mask_token", "[MASK]"}};
  for (const auto& [field, key] : specials) {
    std::string value = default_special.at(field);
    if (auto v = token_field(special, field)) value = *v;
    else if (auto v2 = token_field(tok_config, field)) value = *v2;
    w.set_string(key, value);
  }
  int64_t max_len = P;
  if (tok_config.is_object() && tok_config.contains("model_max_length") && tok_config["model_max_length"].is_number()) {
    const double m = tok_config["model_max_length"].get<double>();
    if (m > 0 && m < static_cast<double>(P)) max_len = static_cast<int64_t>(m);
  }
  w.set_int(names::kMetaModelMaxLength, max_len);

  // Weights.
  std::string kind;
  const std::vector<std::string> files = weight_files(model_dir, &kind);
  TensorSet set;
  for (const std::string& file : files) {
    if (o.note) o.note("reading " + file);
    std::vector<SourceTensor> tensors = kind == "safetensors" ? read_safetensors(file)
                                        : kind == "torch"     ? read_torch_zip(file)
                                                              : read_tf_h5(file);
    for (auto& t : tensors) set.add(std::move(t), o);
  }

  std::set<std::string> used;
  auto take = [&](const std::string& name, const std::vector<int64_t>& shape) {
    used.insert(name);
    return set.take(name, shape);
  };
  const auto f32 = format::TensorDType::f32;
  auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  // A matrix [in, out] (y = x W): packed into GEMM panels when stored as f32, else row-major.
  auto add_matrix = [&](const std::string& name, const std::vector<float>& m, int64_t in, int64_t out) {
    if (o.dtype == f32 && o.pack_matrices) {
      static_assert(kernels::kPackedPanel == format::kPanelWidth);
      std::vector<float> packed(kernels::packed_floats(static_cast<size_t>(in), static_cast<size_t>(out)));
      kernels::pack_panels(m.data(), static_cast<size_t>(in), static_cast<size_t>(out), static_cast<size_t>(out),
                           packed.data());
      w.add_packed_tensor(name, {u(in), u(out)}, format::kPanelWidth, encode(packed, f32));
    } else {
      w.add_tensor(name, o.dtype, {u(in), u(out)}, encode(m, o.dtype));
    }
  };
  w.add_tensor(names::kWordEmbeddings, o.dtype, {u(V), u(H)}, encode(take("embeddings.word_embeddings.weight", {V, H}), o.dtype));
  w.add_tensor(names::kPositionEmbeddings, f32, {u(P), u(H)}, encode(take("embeddings.position_embeddings.weight", {P, H}), f32));
  w.add_tensor(names::kTokenTypeEmbeddings, f32, {u(TV), u(H)},
               encode(take("embeddings.token_type_embeddings.weight", {TV, H}), f32));
  w.add_tensor(names::kEmbeddingsLnGamma, f32, {u(H)}, encode(take("embeddings.LayerNorm.weight", {H}), f32));
  w.add_tensor(names::kEmbeddingsLnBeta, f32, {u(H)}, encode(take("embeddings.LayerNorm.bias", {H}), f32));
  for (int64_t l = 0; l < L; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    const int li = static_cast<int>(l);
    // Fused QKV: [H, 3H] with Q, K, V side by side in the columns.
    std::vector<float> qkv(static_cast<size_t>(H * 3 * H)), qkv_bias;
    const char* parts[] = {"query", "key", "value"};
    for (int part = 0; part < 3; ++part) {
      const std::string base = p + "attention.self." + parts[part];
      const std::vector<float> wt = transpose(take(base + ".weight", {H, H}), static_cast<size_t>(H), static_cast<size_t>(H));
      for (int64_t i = 0; i < H; ++i)
        std::memcpy(&qkv[static_cast<size_t>(i * 3 * H + part * H)], &wt[static_cast<size_t>(i * H)],
                    static_cast<size_t>(H) * sizeof(float));
      const std::vector<float> b = take(base + ".bias", {H});
      qkv_bias.insert(qkv_bias.end(), b.begin(), b.end());
    }
    add_matrix(names::layer(li, names::kQkvWeight), qkv, H, 3 * H);
    w.add_tensor(names::layer(li, names::kQkvBias), f32, {u(3 * H)}, encode(qkv_bias, f32));
    auto linear = [&](const std::string& src, const char* dst_w, const char* dst_b, int64_t out, int64_t in) {
      add_matrix(names::layer(li, dst_w),
                 transpose(take(src + ".weight", {out, in}), static_cast<size_t>(out), static_cast<size_t>(in)), in, out);
      w.add_tensor(names::layer(li, dst_b), f32, {u(out)}, encode(take(src + ".bias", {out}), f32));
    };
    auto layer_norm = [&](const std::string& src, const char* dst_g, const char* dst_b) {
      w.add_tensor(names::layer(li, dst_g), f32, {u(H)}, encode(take(src + ".weight", {H}), f32));
      w.add_tensor(names::layer(li, dst_b), f32, {u(H)}, encode(take(src + ".bias", {H}), f32));
    };
    linear(p + "attention.output.dense", names::kAttnOutWeight, names::kAttnOutBias, H, H);
    layer_norm(p + "attention.output.LayerNorm", names::kAttnLnGamma, names::kAttnLnBeta);
    linear(p + "intermediate.dense", names::kFfnUpWeight, names::kFfnUpBias, I, H);
    linear(p + "output.dense", names::kFfnDownWeight, names::kFfnDownBias, H, I);
    layer_norm(p + "output.LayerNorm", names::kOutLnGamma, names::kOutLnBeta);
  }
  const bool has_w = set.has("pooler.dense.weight"), has_b = set.has("pooler.dense.bias");
  if (has_w != has_b) fail(std::string("pooler is incomplete: missing '") + (has_w ? "pooler.dense.bias" : "pooler.dense.weight") + "'");
  if (has_w) {
    add_matrix(names::kPoolerWeight,
               transpose(take("pooler.dense.weight", {H, H}), static_cast<size_t>(H), static_cast<size_t>(H)), H, H);
    w.add_tensor(names::kPoolerBias, f32, {u(H)}, encode(take("pooler.dense.bias", {H}), f32));
  } else if (o.note) {
    o.note("no pooler weights: pooler_output will be unavailable");
  }
  for (const std::string& name : set.unused(used))
    if (o.note) o.note("skipping '" + name + "' (not used by BertModel with this config)");
  return w;
}

void convert_directory(const std::string& hf_dir, const std::string& out_path, const ConvertOptions& options) {
  build_model_file(hf_dir, options).write(out_path);
}

}  // namespace bertrt::convert
