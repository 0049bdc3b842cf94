// A Model: config plus views of the weights inside a mapped model file. Immutable after open,
// shared freely between threads; all per-call memory lives in a Session.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bertrt/bertrt.h"
#include "common/aligned.h"
#include "format/model_file.h"
#include "kernels/kernels.h"

namespace bertrt::core {

// The architecture a model file holds. All run BERT's encoder layers; they differ in the
// embeddings (position ids, token types, width) and in what the converter maps.
enum class Family { bert, roberta, xlm_roberta, camembert, distilbert, electra };
const char* family_name(Family family);
// "bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra"; throws UNSUPPORTED otherwise.
Family parse_family(const std::string& name);
// RoBERTa, XLM-RoBERTa and CamemBERT: positions count from padding_idx + 1.
inline bool roberta_positions(Family f) {
  return f == Family::roberta || f == Family::xlm_roberta || f == Family::camembert;
}

struct ModelConfig {
  Family family = Family::bert;
  size_t vocab_size = 0;
  size_t hidden_size = 0;
  size_t num_layers = 0;
  size_t num_heads = 0;
  size_t head_dim = 0;
  size_t intermediate_size = 0;
  size_t max_positions = 0;
  size_t embedding_size = 0;   // E: width of the word/position/type embeddings (ELECTRA: != H)
  size_t position_offset = 0;  // first default position (RoBERTa families: padding_idx + 1)
  size_t max_seq_len = 0;      // longest input: max_positions - position_offset
  size_t type_vocab_size = 0;  // 0: the model has no token types (DistilBERT)
  int64_t pad_token_id = 0;
  float layer_norm_eps = 1e-12f;
  kernels::Activation hidden_act = kernels::Activation::gelu_erf;
  std::string hidden_act_name = "gelu";
  bertrt_pool_mode default_pool = BERTRT_POOL_MEAN;
  bool default_normalize = false;
  std::string weight_dtype = "f32";
};

// A weight matrix stored [in, out] row-major (y = x W), in its storage dtype.
struct WeightMatrix {
  const void* data = nullptr;
  kernels::DType dtype = kernels::DType::f32;
  size_t in = 0;
  size_t out = 0;
  // In the panel layout of kernels/gemm_packed.h (f32, f16 or bf16 elements), not row-major.
  // Every matrix of an open Model is packed: by the converter, or at open for files that store
  // row-major matrices (made by earlier converters).
  bool packed = false;
  // int8 matrices (file dtype i8): data holds the int8 panels of kernels/gemm_i8.h (dtype is
  // unused), scale the per-column scales [out], colsum the column sums [packed_i8_colsums(out)];
  // linear() quantizes the activation rows and runs gemm_packed_i8.
  bool int8 = false;
  const float* scale = nullptr;
  const int32_t* colsum = nullptr;
  // bf16 matrices in the panel_bf16x2 layout (kernels/gemm_bf16.h; dtype bf16): linear()
  // converts the activation rows to bf16 and runs gemm_packed_bf16x2.
  bool bf16x2 = false;
  // The matrix reads its input rows converted beforehand (int8 quantized, or bf16).
  bool converts_input() const { return int8 || bf16x2; }
};

struct LayerWeights {
  WeightMatrix qkv;  // [H, 3H]
  const float* qkv_bias = nullptr;
  WeightMatrix attn_out;  // [H, H]
  const float* attn_out_bias = nullptr;
  const float* attn_ln_gamma = nullptr;
  const float* attn_ln_beta = nullptr;
  WeightMatrix ffn_up;  // [H, I]
  const float* ffn_up_bias = nullptr;
  WeightMatrix ffn_down;  // [I, H]
  const float* ffn_down_bias = nullptr;
  const float* out_ln_gamma = nullptr;
  const float* out_ln_beta = nullptr;
};

// The task head a model file may hold (docs/format.md, "Task heads"). X is the width after the
// dense layer (H, or E for ELECTRA's generator).
enum class HeadKind { none, sequence, token, masked_lm };
const char* head_kind_name(HeadKind kind);  // "none", "sequence", "token", "masked_lm"

struct HeadWeights {
  HeadKind kind = HeadKind::none;
  std::string architecture;  // config.json architectures[0]
  std::string problem_type;  // "" when config.json has none
  std::vector<std::string> labels;  // sequence and token heads: id2label in index order
  // Sequence heads: x = token 0 of each row; then act(dense(x)) when there is a dense layer (the
  // pooler's weights when uses_pooler); logits = out(x). Token heads: logits = out(h) per token.
  // Masked LM: logits = LN(act(dense(h))) decoder + decoder_bias.
  bool uses_pooler = false;
  WeightMatrix dense;  // [H, X]; data null: none
  const float* dense_bias = nullptr;
  bool dense_tanh = false;  // tanh after dense (not a kernels::Activation)
  kernels::Activation dense_act = kernels::Activation::none;
  WeightMatrix out;  // [X, L]
  const float* out_bias = nullptr;
  const float* ln_gamma = nullptr;  // [X]
  const float* ln_beta = nullptr;
  float ln_eps = 1e-12f;
  // Masked LM decoder [X, V]: a packed matrix of its own, or (tied) the word embeddings [V, X]
  // row-major in their dtype, read transposed.
  bool tied = false;
  WeightMatrix decoder;
  const float* decoder_bias = nullptr;  // [V]
  // Logits per row: num_labels, or vocab_size for a masked LM.
  size_t logits_size() const { return kind == HeadKind::masked_lm ? decoder.out : out.out; }
};

struct TokenizerData {
  const std::vector<std::string>* vocab = nullptr;
  bool do_lower_case = true;
  int strip_accents = -1;
  bool tokenize_chinese_chars = true;
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]", pad_token = "[PAD]",
              mask_token = "[MASK]";
  int64_t model_max_length = 0;
};

class Model {
 public:
  // Maps and validates a model file; throws bertrt::Error.
  static std::shared_ptr<const Model> open(const std::string& path, format::Verify verify = format::Verify::structure);
  // Validates a model file image already in memory (the bytes must outlive the model).
  static std::shared_ptr<const Model> from_memory(const uint8_t* data, size_t size,
                                                  format::Verify verify = format::Verify::structure);

  const ModelConfig& config() const { return config_; }
  const format::ModelFile& file() const { return file_; }
  const TokenizerData& tokenizer_data() const { return tokenizer_; }

  const void* word_embeddings() const { return word_embeddings_; }
  kernels::DType word_embeddings_dtype() const { return word_dtype_; }
  const float* position_embeddings() const { return position_embeddings_; }
  const float* token_type_embeddings() const { return token_type_embeddings_; }
  const float* embeddings_ln_gamma() const { return emb_ln_gamma_; }
  const float* embeddings_ln_beta() const { return emb_ln_beta_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  bool has_pooler() const { return pooler_.data != nullptr; }
  const WeightMatrix& pooler() const { return pooler_; }
  const float* pooler_bias() const { return pooler_bias_; }
  // ELECTRA's embeddings_project [E, H] (in, out); has_projection() false when E == H.
  bool has_projection() const { return project_.data != nullptr; }
  const WeightMatrix& projection() const { return project_; }
  const float* projection_bias() const { return project_bias_; }
  const HeadWeights& head() const { return head_; }

 private:
  void load();
  void load_embeddings();
  void load_layers();
  void load_tokenizer();
  void load_head();
  // A weight matrix [in, out]: the file's panels, or row-major data packed once here.
  WeightMatrix matrix(const std::string& name, size_t in, size_t out);
  // The same for an i8 matrix with its `.scale` (and, when packed, `.colsum`) tensors.
  WeightMatrix int8_matrix(const format::TensorInfo& t, size_t in, size_t out);
  std::unique_ptr<format::MappedFile> mapping_;
  std::vector<AlignedVector<float>> packed_f32_;  // matrices packed at open
  std::vector<AlignedVector<uint16_t>> packed_u16_;
  std::vector<AlignedVector<int8_t>> packed_i8_;  // row-major i8 matrices packed at open
  std::vector<AlignedVector<int32_t>> colsums_;   // and their column sums
  format::ModelFile file_;
  ModelConfig config_;
  TokenizerData tokenizer_;
  const void* word_embeddings_ = nullptr;
  kernels::DType word_dtype_ = kernels::DType::f32;
  const float* position_embeddings_ = nullptr;
  const float* token_type_embeddings_ = nullptr;
  const float* emb_ln_gamma_ = nullptr;
  const float* emb_ln_beta_ = nullptr;
  std::vector<LayerWeights> layers_;
  WeightMatrix pooler_;
  const float* pooler_bias_ = nullptr;
  WeightMatrix project_;
  const float* project_bias_ = nullptr;
  HeadWeights head_;
  AlignedVector<float> zero_types_;  // [1, E] zeros: the type table of a model without token types
};

bertrt_pool_mode parse_pool_mode(const std::string& name);  // throws on unknown names
const char* pool_mode_name(bertrt_pool_mode mode);
kernels::Activation parse_activation(const std::string& hidden_act);  // throws BERTRT_ERROR_UNSUPPORTED

}  // namespace bertrt::core
