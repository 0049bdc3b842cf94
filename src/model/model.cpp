#include "model/model.h"

#include "common/error.h"
#include "kernels/gemm_i8.h"
#include "kernels/gemm_packed.h"
#include "model/names.h"

namespace bertrt::core {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(BERTRT_ERROR_FORMAT, "model file: " + message); }

// Bounds for config values: generous for any real BERT, small enough that products of them
// cannot overflow size_t.
constexpr int64_t kMaxDim = 1 << 20;

size_t config_value(const format::ModelFile& f, const char* key, int64_t min_value) {
  const auto v = f.meta_int(key);
  if (!v) fail(std::string("missing config value '") + key + "'");
  if (*v < min_value || *v > kMaxDim)
    fail(std::string("config value '") + key + "' = " + std::to_string(*v) + " is out of range");
  return static_cast<size_t>(*v);
}

const format::TensorInfo& tensor(const format::ModelFile& f, const std::string& name,
                                 std::initializer_list<size_t> shape, bool allow_packed = false) {
  const format::TensorInfo* t = f.find(name);
  if (!t) fail("missing tensor '" + name + "'");
  if (t->layout != format::TensorLayout::row_major && !allow_packed)
    fail("tensor '" + name + "' must be row-major");
  bool same = t->shape.size() == shape.size();
  size_t i = 0;
  for (size_t d : shape) same = same && t->shape[i++] == d;
  if (!same) {
    std::string want, got;
    for (size_t d : shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
    for (uint64_t d : t->shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
    fail("tensor '" + name + "' has shape [" + got + "], expected [" + want + "]");
  }
  return *t;
}

const float* f32_tensor(const format::ModelFile& f, const std::string& name, std::initializer_list<size_t> shape) {
  const auto& t = tensor(f, name, shape);
  if (t.dtype != format::TensorDType::f32) fail("tensor '" + name + "' must be f32, found " + format::dtype_name(t.dtype));
  return reinterpret_cast<const float*>(t.data);
}

kernels::DType weight_dtype(const format::TensorInfo& t) {
  switch (t.dtype) {
    case format::TensorDType::f32: return kernels::DType::f32;
    case format::TensorDType::f16: return kernels::DType::f16;
    case format::TensorDType::bf16: return kernels::DType::bf16;
    default:
      throw Error(BERTRT_ERROR_UNSUPPORTED,
                  "model file: tensor '" + t.name + "' has dtype " + format::dtype_name(t.dtype) + ", not supported");
  }
}

}  // namespace

bertrt_pool_mode parse_pool_mode(const std::string& name) {
  if (name == "cls") return BERTRT_POOL_CLS;
  if (name == "mean") return BERTRT_POOL_MEAN;
  if (name == "max") return BERTRT_POOL_MAX;
  if (name == "pooler") return BERTRT_POOL_POOLER;
  throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "unknown pooling mode '" + name + "' (cls, mean, max or pooler)");
}

const char* pool_mode_name(bertrt_pool_mode mode) {
  switch (mode) {
    case BERTRT_POOL_CLS: return "cls";
    case BERTRT_POOL_MEAN: return "mean";
    case BERTRT_POOL_MAX: return "max";
    case BERTRT_POOL_POOLER: return "pooler";
    default: break;
  }
  return "unknown";
}

const char* head_kind_name(HeadKind kind) {
  switch (kind) {
    case HeadKind::none: return "none";
    case HeadKind::sequence: return "sequence";
    case HeadKind::token: return "token";
    case HeadKind::masked_lm: return "masked_lm";
  }
  return "none";
}

const char* family_name(Family family) {
  switch (family) {
    case Family::bert: return "bert";
    case Family::roberta: return "roberta";
    case Family::xlm_roberta: return "xlm-roberta";
    case Family::camembert: return "camembert";
    case Family::distilbert: return "distilbert";
    case Family::electra: return "electra";
  }
  return "unknown";
}

Family parse_family(const std::string& name) {
  for (Family f : {Family::bert, Family::roberta, Family::xlm_roberta, Family::camembert, Family::distilbert,
                   Family::electra})
    if (name == family_name(f)) return f;
  throw Error(BERTRT_ERROR_UNSUPPORTED, "model family '" + name +
                                            "' is not supported (bert, roberta, xlm-roberta, camembert, distilbert, "
                                            "electra)");
}

kernels::Activation parse_activation(const std::string& act) {
  if (act == "gelu") return kernels::Activation::gelu_erf;
  if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") return kernels::Activation::gelu_tanh;
  if (act == "relu") return kernels::Activation::relu;
  throw Error(BERTRT_ERROR_UNSUPPORTED, "hidden_act '" + act + "' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)");
}

std::shared_ptr<const Model> Model::open(const std::string& path, format::Verify verify) {
  auto model = std::shared_ptr<Model>(new Model());
  model->mapping_ = std::make_unique<format::MappedFile>(path);
  model->file_ = format::ModelFile::parse(model->mapping_->data(), model->mapping_->size(), verify);
  model->load();
  return model;
}

std::shared_ptr<const Model> Model::from_memory(const uint8_t* data, size_t size, format::Verify verify) {
  auto model = std::shared_ptr<Model>(new Model());
  model->file_ = format::ModelFile::parse(data, size, verify);
  model->load();
  return model;
}

WeightMatrix Model::int8_matrix(const format::TensorInfo& t, size_t in, size_t out) {
  if (in > kernels::kMaxI8K)
    throw Error(BERTRT_ERROR_UNSUPPORTED, "model file: int8 matrix '" + t.name + "' has " + std::to_string(in) +
                                              " input rows (at most " + std::to_string(kernels::kMaxI8K) + ")");
  WeightMatrix m{t.data, kernels::DType::f32, in, out, true};
  m.int8 = true;
  m.scale = f32_tensor(file_, t.name + ".scale", {out});
  if (t.layout == format::TensorLayout::panel_i8) {
    const auto& cs = tensor(file_, t.name + ".colsum", {kernels::packed_i8_colsums(out)});
    if (cs.dtype != format::TensorDType::i32) fail("tensor '" + cs.name + "' must be i32");
    m.colsum = reinterpret_cast<const int32_t*>(cs.data);
  } else {  // row-major i8 [in, out]: packed once here, with its column sums
    AlignedVector<int8_t>& p = packed_i8_.emplace_back(kernels::packed_i8_bytes(in, out));
    AlignedVector<int32_t>& sums = colsums_.emplace_back(kernels::packed_i8_colsums(out));
    kernels::pack_panels_i8(reinterpret_cast<const int8_t*>(t.data), in, out, out, p.data(), sums.data());
    m.data = p.data();
    m.colsum = sums.data();
  }
  config_.weight_dtype = "int8";  // the word embeddings (read first) said f32
  return m;
}

WeightMatrix Model::matrix(const std::string& name, size_t in, size_t out) {
  const auto& t = tensor(file_, name, {in, out}, true);
  if (t.dtype == format::TensorDType::i8) return int8_matrix(t, in, out);  // the reader checked dtype vs layout
  WeightMatrix m{t.data, weight_dtype(t), in, out, true};
  if (t.layout == format::TensorLayout::panel) return m;
  if (t.layout == format::TensorLayout::panel_bf16x2) {  // the reader checked it is bf16
    m.bf16x2 = true;
    return m;
  }
  // Row-major (files from earlier converters): packed once, kept for the model's lifetime.
  if (m.dtype == kernels::DType::f32) {
    AlignedVector<float>& p = packed_f32_.emplace_back(kernels::packed_floats(in, out));
    kernels::pack_panels(reinterpret_cast<const float*>(t.data), in, out, out, p.data());
    m.data = p.data();
  } else {
    AlignedVector<uint16_t>& p = packed_u16_.emplace_back(kernels::packed_elems(in, out));
    kernels::pack_panels_u16(reinterpret_cast<const uint16_t*>(t.data), in, out, out, p.data());
    m.data = p.data();
  }
  return m;
}

void Model::load() {
  const auto& f = file_;
  auto& c = config_;
  if (auto family = f.meta_string(names::kMetaFamily)) c.family = parse_family(*family);
  c.vocab_size = config_value(f, names::kMetaVocabSize, 1);
  c.hidden_size = config_value(f, names::kMetaHiddenSize, 1);
  c.num_layers = config_value(f, names::kMetaNumLayers, 0);
  c.num_heads = config_value(f, names::kMetaNumHeads, 1);
  c.intermediate_size = config_value(f, names::kMetaIntermediateSize, 1);
  c.max_positions = config_value(f, names::kMetaMaxPositions, 1);
  // DistilBERT has no token types (0); every other family at least one.
  c.type_vocab_size = config_value(f, names::kMetaTypeVocabSize, c.family == Family::distilbert ? 0 : 1);
  c.embedding_size = f.meta_int(names::kMetaEmbeddingSize) ? config_value(f, names::kMetaEmbeddingSize, 1) : c.hidden_size;
  if (c.embedding_size != c.hidden_size && c.family != Family::electra)
    fail("embedding_size differs from hidden_size, which only an electra model may do");
  if (c.hidden_size % c.num_heads != 0)
    fail("hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
         std::to_string(c.num_heads));
  c.head_dim = c.hidden_size / c.num_heads;
  c.pad_token_id = f.meta_int(names::kMetaPadTokenId).value_or(0);
  if (roberta_positions(c.family)) {
    if (c.pad_token_id < 0 || static_cast<size_t>(c.pad_token_id) + 1 >= c.max_positions)
      fail("pad_token_id " + std::to_string(c.pad_token_id) + " leaves no positions of max_position_embeddings " +
           std::to_string(c.max_positions));
    c.position_offset = static_cast<size_t>(c.pad_token_id) + 1;
  }
  c.max_seq_len = c.max_positions - c.position_offset;
  const double eps = f.meta_float(names::kMetaLayerNormEps).value_or(1e-12);
  if (!(eps > 0.0 && eps < 1.0)) fail("layer_norm_eps out of range");
  c.layer_norm_eps = static_cast<float>(eps);
  c.hidden_act_name = f.meta_string(names::kMetaHiddenAct).value_or("gelu");
  c.hidden_act = parse_activation(c.hidden_act_name);
  if (auto mode = f.meta_string(names::kMetaPoolingMode)) {
    try {
      c.default_pool = parse_pool_mode(*mode);
    } catch (const Error&) {
      fail("unknown pooling mode '" + *mode + "'");
    }
  }
  c.default_normalize = f.meta_int(names::kMetaPoolingNormalize).value_or(0) != 0;
  load_embeddings();
  load_layers();
  load_tokenizer();
  load_head();
}

void Model::load_embeddings() {
  const auto& f = file_;
  auto& c = config_;
  const size_t E = c.embedding_size;
  const auto& word = tensor(f, names::kWordEmbeddings, {c.vocab_size, E});
  word_embeddings_ = word.data;
  word_dtype_ = weight_dtype(word);
  c.weight_dtype = format::dtype_name(word.dtype);
  position_embeddings_ = f32_tensor(f, names::kPositionEmbeddings, {c.max_positions, E});
  if (c.type_vocab_size > 0) {
    token_type_embeddings_ = f32_tensor(f, names::kTokenTypeEmbeddings, {c.type_vocab_size, E});
  } else {
    zero_types_.assign(E, 0.0f);  // the kernel adds a type row; here one of zeros
    token_type_embeddings_ = zero_types_.data();
  }
  emb_ln_gamma_ = f32_tensor(f, names::kEmbeddingsLnGamma, {E});
  emb_ln_beta_ = f32_tensor(f, names::kEmbeddingsLnBeta, {E});
  if (E != c.hidden_size) {
    project_ = matrix(names::kEmbeddingsProjectWeight, E, c.hidden_size);
    project_bias_ = f32_tensor(f, names::kEmbeddingsProjectBias, {c.hidden_size});
  }
}

void Model::load_tokenizer() {
  const auto& f = file_;
  const auto& c = config_;
  auto& t = tokenizer_;
  t.vocab = f.meta_list(names::kMetaVocab);
  if (t.vocab && t.vocab->size() != c.vocab_size)
    fail("tokenizer vocabulary has " + std::to_string(t.vocab->size()) + " entries but vocab_size is " +
         std::to_string(c.vocab_size));
  t.do_lower_case = f.meta_int(names::kMetaDoLowerCase).value_or(1) != 0;
  t.strip_accents = static_cast<int>(f.meta_int(names::kMetaStripAccents).value_or(-1));
  if (t.strip_accents < -1 || t.strip_accents > 1) fail("tokenizer.strip_accents must be -1, 0 or 1");
  t.tokenize_chinese_chars = f.meta_int(names::kMetaTokenizeChinese).value_or(1) != 0;
  t.unk_token = f.meta_string(names::kMetaUnkToken).value_or(t.unk_token);
  t.cls_token = f.meta_string(names::kMetaClsToken).value_or(t.cls_token);
  t.sep_token = f.meta_string(names::kMetaSepToken).value_or(t.sep_token);
  t.pad_token = f.meta_string(names::kMetaPadToken).value_or(t.pad_token);
  t.mask_token = f.meta_string(names::kMetaMaskToken).value_or(t.mask_token);
  t.model_max_length = f.meta_int(names::kMetaModelMaxLength).value_or(0);
}

void Model::load_layers() {
  const auto& f = file_;
  const ModelConfig& c = config_;
  const size_t H = c.hidden_size, I = c.intermediate_size;
  layers_.resize(c.num_layers);
  for (size_t i = 0; i < c.num_layers; ++i) {
    const int li = static_cast<int>(i);
    auto& l = layers_[i];
    l.qkv = matrix(names::layer(li, names::kQkvWeight), H, 3 * H);
    l.qkv_bias = f32_tensor(f, names::layer(li, names::kQkvBias), {3 * H});
    l.attn_out = matrix(names::layer(li, names::kAttnOutWeight), H, H);
    l.attn_out_bias = f32_tensor(f, names::layer(li, names::kAttnOutBias), {H});
    l.attn_ln_gamma = f32_tensor(f, names::layer(li, names::kAttnLnGamma), {H});
    l.attn_ln_beta = f32_tensor(f, names::layer(li, names::kAttnLnBeta), {H});
    l.ffn_up = matrix(names::layer(li, names::kFfnUpWeight), H, I);
    l.ffn_up_bias = f32_tensor(f, names::layer(li, names::kFfnUpBias), {I});
    l.ffn_down = matrix(names::layer(li, names::kFfnDownWeight), I, H);
    l.ffn_down_bias = f32_tensor(f, names::layer(li, names::kFfnDownBias), {H});
    l.out_ln_gamma = f32_tensor(f, names::layer(li, names::kOutLnGamma), {H});
    l.out_ln_beta = f32_tensor(f, names::layer(li, names::kOutLnBeta), {H});
  }
  if (f.find(names::kPoolerWeight)) {
    pooler_ = matrix(names::kPoolerWeight, H, H);
    pooler_bias_ = f32_tensor(f, names::kPoolerBias, {H});
  }
}

namespace {

// A 2-D tensor's dimension d, bounded like a config value (0 when absent).
size_t dim_of(const format::ModelFile& f, const char* name, size_t d) {
  const format::TensorInfo* t = f.find(name);
  if (!t) return 0;
  if (t->shape.size() != 2) fail(std::string("tensor '") + name + "' must be 2-D");
  if (t->shape[d] < 1 || t->shape[d] > static_cast<uint64_t>(kMaxDim)) fail(std::string("tensor '") + name + "' is too large");
  return static_cast<size_t>(t->shape[d]);
}

}  // namespace

void Model::load_head() {
  const auto& f = file_;
  const ModelConfig& c = config_;
  HeadWeights& h = head_;
  const auto kind = f.meta_string(names::kMetaHeadKind);
  if (!kind) return;
  for (HeadKind k : {HeadKind::sequence, HeadKind::token, HeadKind::masked_lm})
    if (*kind == head_kind_name(k)) h.kind = k;
  if (h.kind == HeadKind::none) fail("unknown head.kind '" + *kind + "' (sequence, token or masked_lm)");
  h.architecture = f.meta_string(names::kMetaHeadArchitecture).value_or("");
  h.problem_type = f.meta_string(names::kMetaHeadProblemType).value_or("");
  const size_t H = c.hidden_size;
  size_t x = H;  // width after the dense layer
  h.uses_pooler = f.meta_int(names::kMetaHeadPooler).value_or(0) != 0;
  if (h.uses_pooler) {
    if (h.kind != HeadKind::sequence || !has_pooler()) fail("head.pooler is set, but the head is not a sequence head over a pooler");
    h.dense = pooler_;
    h.dense_bias = pooler_bias_;
  } else if (f.find(names::kHeadDenseWeight)) {
    x = dim_of(f, names::kHeadDenseWeight, 1);
    h.dense = matrix(names::kHeadDenseWeight, H, x);
    h.dense_bias = f32_tensor(f, names::kHeadDenseBias, {x});
  }
  if (h.dense.data) {
    const auto act = f.meta_string(names::kMetaHeadActivation);
    if (!act) fail("the head has a dense layer but no head.activation");
    h.dense_tanh = *act == "tanh";
    if (!h.dense_tanh) h.dense_act = parse_activation(*act);
  }
  if (h.kind == HeadKind::masked_lm) {
    if (!h.dense.data) fail("a masked_lm head needs head.dense.weight");
    h.ln_gamma = f32_tensor(f, names::kHeadLnGamma, {x});
    h.ln_beta = f32_tensor(f, names::kHeadLnBeta, {x});
    const double eps = f.meta_float(names::kMetaHeadLayerNormEps).value_or(c.layer_norm_eps);
    if (!(eps > 0.0 && eps < 1.0)) fail("head.layer_norm_eps out of range");
    h.ln_eps = static_cast<float>(eps);
    h.decoder_bias = f32_tensor(f, names::kHeadDecoderBias, {c.vocab_size});
    h.tied = f.find(names::kHeadDecoderWeight) == nullptr;
    if (!h.tied) {
      h.decoder = matrix(names::kHeadDecoderWeight, x, c.vocab_size);
    } else {
      if (x != c.embedding_size)
        fail("the masked-LM decoder is tied to the word embeddings, whose width " + std::to_string(c.embedding_size) +
             " is not the head's " + std::to_string(x));
      h.decoder = WeightMatrix{word_embeddings_, word_dtype_, x, c.vocab_size, false};
    }
    return;
  }
  const size_t labels = dim_of(f, names::kHeadOutWeight, 1);
  if (labels == 0) fail("missing tensor '" + std::string(names::kHeadOutWeight) + "'");
  h.out = matrix(names::kHeadOutWeight, x, labels);
  h.out_bias = f32_tensor(f, names::kHeadOutBias, {labels});
  if (const auto* list = f.meta_list(names::kMetaHeadLabels)) {
    if (list->size() != labels)
      fail("head.labels has " + std::to_string(list->size()) + " names for " + std::to_string(labels) + " outputs");
    h.labels = *list;
  } else {
    for (size_t i = 0; i < labels; ++i) h.labels.push_back("LABEL_" + std::to_string(i));
  }
}

}  // namespace bertrt::core
