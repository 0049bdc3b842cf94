// Converter, weights: reads the checkpoint's tensors, maps each family's Hugging Face names to the canonical ones, and
// adds them to the model file (fused QKV, [in, out] matrices, GEMM panels for f32, f16/bf16 storage).
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "common/error.h"
#include "convert/checkpoint.h"
#include "convert/convert_internal.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_i8.h"
#include "kernels/gemm_packed.h"
#include "model/names.h"

namespace bertrt::convert {
namespace fs = std::filesystem;
using json = nlohmann::json;
using detail::fail;
using detail::read_json;
using detail::TensorSet;
using detail::transpose;
using detail::WeightWriter;

namespace {

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

// Hugging Face names -> the names used here: drop a task class's prefix (`bert.`, `roberta.`,
// `distilbert.`, `electra.`), legacy LayerNorm gamma/beta -> weight/bias. Task-head tensors keep
// their own names (is_head_name).
std::string canonical_name(std::string name) {
  for (const char* prefix : {"bert.", "roberta.", "distilbert.", "electra."})
    if (name.rfind(prefix, 0) == 0) {
      name = name.substr(std::char_traits<char>::length(prefix));
      break;
    }
  const bool in_layernorm = name.find("LayerNorm.") != std::string::npos;
  if (in_layernorm && name.size() > 6 && name.compare(name.size() - 6, 6, ".gamma") == 0)
    name = name.substr(0, name.size() - 6) + ".weight";
  if (in_layernorm && name.size() > 5 && name.compare(name.size() - 5, 5, ".beta") == 0)
    name = name.substr(0, name.size() - 5) + ".bias";
  return name;
}

// Where each part of a layer lives in a family's checkpoint (under prefix + N + ".").
struct LayerSource {
  const char* prefix;
  const char* qkv[3];
  const char *attn_out, *attn_ln, *up, *down, *out_ln;
};
constexpr LayerSource kBertLayer = {"encoder.layer.",
                                    {"attention.self.query", "attention.self.key", "attention.self.value"},
                                    "attention.output.dense",
                                    "attention.output.LayerNorm",
                                    "intermediate.dense",
                                    "output.dense",
                                    "output.LayerNorm"};
constexpr LayerSource kDistilBertLayer = {"transformer.layer.",
                                          {"attention.q_lin", "attention.k_lin", "attention.v_lin"},
                                          "attention.out_lin",
                                          "sa_layer_norm",
                                          "ffn.lin1",
                                          "ffn.lin2",
                                          "output_layer_norm"};

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


// Embeddings at width E; no token types for DistilBERT; ELECTRA's embeddings_project when E != H.
void add_embeddings(WeightWriter& ww, const detail::Dims& d, format::TensorDType dtype) {
  const int64_t E = d.embedding;
  ww.plain(names::kWordEmbeddings, "embeddings.word_embeddings.weight", {d.vocab, E}, dtype);
  ww.plain(names::kPositionEmbeddings, "embeddings.position_embeddings.weight", {d.positions, E});
  if (d.types > 0) ww.plain(names::kTokenTypeEmbeddings, "embeddings.token_type_embeddings.weight", {d.types, E});
  ww.plain(names::kEmbeddingsLnGamma, "embeddings.LayerNorm.weight", {E});
  ww.plain(names::kEmbeddingsLnBeta, "embeddings.LayerNorm.bias", {E});
  if (E != d.hidden)
    ww.linear("embeddings_project", names::kEmbeddingsProjectWeight, names::kEmbeddingsProjectBias, d.hidden, E);
}

// Fused QKV of layer l: [H, 3H] with Q, K, V side by side in the columns, and its bias [3H].
void add_qkv(WeightWriter& ww, const std::string& p, const LayerSource& src, int li, int64_t H) {
  std::vector<float> qkv(static_cast<size_t>(H * 3 * H)), qkv_bias;
  for (int part = 0; part < 3; ++part) {
    const std::string base = p + src.qkv[part];
    const std::vector<float> wt = transpose(ww.take(base + ".weight", {H, H}), static_cast<size_t>(H), static_cast<size_t>(H));
    for (int64_t i = 0; i < H; ++i)
      std::memcpy(&qkv[static_cast<size_t>(i * 3 * H + part * H)], &wt[static_cast<size_t>(i * H)],
                  static_cast<size_t>(H) * sizeof(float));
    const std::vector<float> b = ww.take(base + ".bias", {H});
    qkv_bias.insert(qkv_bias.end(), b.begin(), b.end());
  }
  ww.matrix(names::layer(li, names::kQkvWeight), qkv, H, 3 * H);
  ww.writer().add_tensor(names::layer(li, names::kQkvBias), WeightWriter::kF32, {WeightWriter::u(3 * H)},
                         encode(qkv_bias, WeightWriter::kF32));
}

void add_layer(WeightWriter& ww, const detail::Dims& d, int64_t l) {
  const LayerSource& src = d.family == "distilbert" ? kDistilBertLayer : kBertLayer;
  const std::string p = src.prefix + std::to_string(l) + ".";
  const int li = static_cast<int>(l);
  const int64_t H = d.hidden, I = d.intermediate;
  add_qkv(ww, p, src, li, H);
  auto layer_norm = [&](const std::string& from, const char* dst_g, const char* dst_b) {
    ww.plain(names::layer(li, dst_g), from + ".weight", {H});
    ww.plain(names::layer(li, dst_b), from + ".bias", {H});
  };
  ww.linear(p + src.attn_out, names::layer(li, names::kAttnOutWeight), names::layer(li, names::kAttnOutBias), H, H);
  layer_norm(p + src.attn_ln, names::kAttnLnGamma, names::kAttnLnBeta);
  ww.linear(p + src.up, names::layer(li, names::kFfnUpWeight), names::layer(li, names::kFfnUpBias), I, H);
  ww.linear(p + src.down, names::layer(li, names::kFfnDownWeight), names::layer(li, names::kFfnDownBias), H, I);
  layer_norm(p + src.out_ln, names::kOutLnGamma, names::kOutLnBeta);
}

void add_pooler(WeightWriter& ww, const TensorSet& set, int64_t H, const ConvertOptions& o) {
  const bool has_w = set.has("pooler.dense.weight"), has_b = set.has("pooler.dense.bias");
  if (has_w != has_b)
    fail(std::string("pooler is incomplete: missing '") + (has_w ? "pooler.dense.bias" : "pooler.dense.weight") + "'");
  if (has_w) ww.linear("pooler.dense", names::kPoolerWeight, names::kPoolerBias, H, H);
  else if (o.note) o.note("no pooler weights: pooler_output will be unavailable");
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

namespace detail {

bool is_head_name(const std::string& name) {
  for (const char* root : {"embeddings.", "encoder.", "pooler.", "transformer.", "embeddings_project."})
    if (name.rfind(root, 0) == 0) return false;
  return true;
}

void TensorSet::add(SourceTensor t, const ConvertOptions& o) {
  const std::string original = t.name;
  const std::string name = canonical_name(t.name);
  if (name == "embeddings.position_ids" || name == "embeddings.token_type_ids") {
    if (o.note) o.note("skipping '" + original + "' (buffer, not a weight)");
    return;
  }
  if (tensors_.count(name)) fail("two tensors map to '" + name + "' (second: '" + original + "')");
  t.name = name;
  tensors_.emplace(name, std::move(t));
  originals_.emplace(name, original);
}

std::vector<float> TensorSet::take(const std::string& name, const std::vector<int64_t>& shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("missing tensor '" + name + "'");
  if (it->second.shape != shape)
    fail("tensor '" + name + "' has shape " + shape_str(it->second.shape) + ", expected " + shape_str(shape));
  return to_f32(it->second);
}

std::vector<int64_t> TensorSet::shape(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? std::vector<int64_t>{} : it->second.shape;
}

std::vector<std::string> TensorSet::unused(const std::set<std::string>& used) const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_)
    if (!used.count(name)) out.push_back(name);
  return out;
}

std::string TensorSet::original(const std::string& name) const {
  auto it = originals_.find(name);
  return it == originals_.end() ? name : it->second;
}

std::vector<float> transpose(const std::vector<float>& w, size_t out, size_t in) {
  std::vector<float> t(w.size());
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < in; ++i) t[i * out + o] = w[o * in + i];
  return t;
}

// int8 storage of a matrix m [in, out]: symmetric per output column (kernels::quantize_columns_i8),
// packed into the int8 GEMM's panels (name, layout panel_i8) with the per-column scales
// (name.scale, f32 [out]) and column sums (name.colsum, i32 [out rounded up to 16]); row-major i8
// plus scales when pack is false (the runtime packs it and sums the columns at open). The pooler
// stays f32 (packed f32 panels, or row-major when pack is false): a [B, H] x [H, H] product costs
// nothing next to the encoder, and quantizing it lost pooler accuracy (docs/format.md).
static void add_int8_matrix(format::ModelFileWriter& w, const std::string& name, const std::vector<float>& m,
                            size_t in, size_t out, bool pack) {
  if (name == names::kPoolerWeight) {
    if (!pack) {
      w.add_tensor(name, format::TensorDType::f32, {in, out}, encode(m, format::TensorDType::f32));
      return;
    }
    std::vector<float> packed(kernels::packed_floats(in, out));
    kernels::pack_panels(m.data(), in, out, out, packed.data());
    w.add_packed_tensor(name, {in, out}, format::kPanelWidth, encode(packed, format::TensorDType::f32),
                        format::TensorDType::f32);
    return;
  }
  if (in > kernels::kMaxI8K) fail("matrix '" + name + "' has more input rows than int8 storage allows");
  for (float v : m)
    if (!std::isfinite(v)) fail("matrix '" + name + "' holds a value that is not finite; int8 needs finite weights");
  std::vector<uint8_t> wq(in * out), scale(out * sizeof(float));
  std::vector<float> s(out);
  kernels::quantize_columns_i8(m.data(), in, out, out, reinterpret_cast<int8_t*>(wq.data()), out, s.data());
  std::memcpy(scale.data(), s.data(), scale.size());
  const std::vector<uint64_t> shape = {in, out};
  if (!pack) {
    w.add_tensor(name, format::TensorDType::i8, shape, std::move(wq));
    w.add_tensor(name + ".scale", format::TensorDType::f32, {out}, std::move(scale));
    return;
  }
  std::vector<uint8_t> panels(kernels::packed_i8_bytes(in, out));
  std::vector<int32_t> sums(kernels::packed_i8_colsums(out));
  kernels::pack_panels_i8(reinterpret_cast<const int8_t*>(wq.data()), in, out, out,
                          reinterpret_cast<int8_t*>(panels.data()), sums.data());
  std::vector<uint8_t> sum_bytes(sums.size() * sizeof(int32_t));
  std::memcpy(sum_bytes.data(), sums.data(), sum_bytes.size());
  static_assert(kernels::kI8Panel == format::kPanelWidth);
  w.add_packed_i8_tensor(name, shape, format::kPanelWidth, std::move(panels));
  w.add_tensor(name + ".scale", format::TensorDType::f32, {out}, std::move(scale));
  w.add_tensor(name + ".colsum", format::TensorDType::i32, {sums.size()}, std::move(sum_bytes));
}

// bf16 storage of an encoder, pooler or projection matrix m [in, out] in the bf16x2 GEMM's
// panels (layout panel_bf16x2, kernels/gemm_bf16.h: rounded to nearest even, subnormals flushed).
static void add_bf16x2_matrix(format::ModelFileWriter& w, const std::string& name, const std::vector<float>& m,
                              size_t in, size_t out) {
  std::vector<uint16_t> packed(kernels::packed_bf16x2_elems(in, out));
  kernels::pack_panels_bf16x2(m.data(), in, out, out, packed.data());
  std::vector<uint8_t> bytes(packed.size() * sizeof(uint16_t));
  std::memcpy(bytes.data(), packed.data(), bytes.size());
  w.add_packed_bf16x2_tensor(name, {in, out}, format::kPanelWidth, std::move(bytes));
}

void WeightWriter::matrix(const std::string& name, const std::vector<float>& m, int64_t in, int64_t out) {
  static_assert(kernels::kBf16Panel == format::kPanelWidth);
  if (o_.dtype == format::TensorDType::i8) {  // int8 files (--dtype int8)
    add_int8_matrix(w_, name, m, static_cast<size_t>(in), static_cast<size_t>(out), o_.pack_matrices);
  } else if (o_.dtype == format::TensorDType::bf16 && o_.bf16_dot && o_.pack_matrices && name.rfind("head.", 0) != 0) {
    // bf16 files: every matrix but the task heads' (those stay bf16 in layout 1, as the head stage reads them).
    add_bf16x2_matrix(w_, name, m, static_cast<size_t>(in), static_cast<size_t>(out));
  } else if (o_.pack_matrices) {
    static_assert(kernels::kPackedPanel == format::kPanelWidth);
    std::vector<float> packed(kernels::packed_floats(static_cast<size_t>(in), static_cast<size_t>(out)));
    kernels::pack_panels(m.data(), static_cast<size_t>(in), static_cast<size_t>(out), static_cast<size_t>(out),
                         packed.data());
    w_.add_packed_tensor(name, {u(in), u(out)}, format::kPanelWidth, encode(packed, o_.dtype), o_.dtype);
  } else {
    w_.add_tensor(name, o_.dtype, {u(in), u(out)}, encode(m, o_.dtype));
  }
}

void WeightWriter::plain(const std::string& dst, const std::string& src, const std::vector<int64_t>& shape,
                         format::TensorDType dtype) {
  std::vector<uint64_t> dims;
  for (int64_t d : shape) dims.push_back(u(d));
  w_.add_tensor(dst, dtype, dims, encode(take(src, shape), dtype));
}

void WeightWriter::linear(const std::string& src, const std::string& dst_w, const std::string& dst_b, int64_t out,
                          int64_t in) {
  matrix(dst_w, transpose(take(src + ".weight", {out, in}), static_cast<size_t>(out), static_cast<size_t>(in)), in,
         out);
  plain(dst_b, src + ".bias", {out});
}

void add_weights(format::ModelFileWriter& w, const fs::path& model_dir, const Dims& dims, const json& config,
                 const ConvertOptions& o) {
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
  WeightWriter ww(w, set, o);
  // int8 files keep the word embeddings f32 (only the matrices are quantized).
  add_embeddings(ww, dims, o.dtype == format::TensorDType::i8 ? format::TensorDType::f32 : o.dtype);
  for (int64_t l = 0; l < dims.layers; ++l) add_layer(ww, dims, l);
  add_pooler(ww, set, dims.hidden, o);
  const std::string head_note = add_head(ww, dims, config);
  for (const std::string& name : set.unused(ww.used())) {
    if (!o.note) break;
    if (is_head_name(name)) o.note("skipping '" + set.original(name) + "' (task head: " + head_note + ")");
    else o.note("skipping '" + name + "' (not used by the " + dims.family + " model with this config)");
  }
}

}  // namespace detail

}  // namespace bertrt::convert
