// Pieces shared by the converter's translation units (convert.cpp: metadata and tokenizer;
// convert_weights.cpp: tensors). Internal to src/convert.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "convert/checkpoint.h"
#include "convert/convert.h"
#include "format/model_file.h"

namespace bertrt::convert::detail {

// Throws bertrt::Error(BERTRT_ERROR_FORMAT, "convert: " + message).
[[noreturn]] void fail(const std::string& message);
// A whole file as bytes; BERTRT_ERROR_IO when it cannot be read.
std::string read_text(const std::filesystem::path& path);
// A JSON file; BERTRT_ERROR_FORMAT naming the file when it does not parse.
nlohmann::json read_json(const std::filesystem::path& path);

// The model dimensions from config.json, under each family's keys. family: "bert", "roberta",
// "xlm-roberta", "camembert", "distilbert" or "electra" (the model file's model.family).
// embedding: E (ELECTRA's embedding_size; hidden elsewhere). types: 0 for DistilBERT (none).
// position_offset: first default position (RoBERTa families: pad_token_id + 1, else 0).
struct Dims {
  std::string family = "bert";
  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, intermediate = 0, positions = 0, types = 0;
  int64_t embedding = 0, pad = 0, position_offset = 0;
};

// RoBERTa, XLM-RoBERTa, CamemBERT: BPE/SentencePiece tokenizers, positions from padding_idx + 1.
inline bool roberta_like(const std::string& family) {
  return family == "roberta" || family == "xlm-roberta" || family == "camembert";
}

// Reads the weight files of model_dir and adds every tensor of the family's base model to w, in the order of
// docs/format.md (embeddings, layers, pooler), then the task head that config.json's architecture names
// (unless o.heads is false), with notes for what is skipped.
void add_weights(format::ModelFileWriter& w, const std::filesystem::path& model_dir, const Dims& dims,
                 const nlohmann::json& config, const ConvertOptions& o);

// The checkpoint's tensors by name: base-model tensors without a task class's prefix (`bert.`, ...)
// and with legacy LayerNorm gamma/beta renamed; task-head tensors (`classifier.*`, `cls.*`,
// `lm_head.*`, ...) likewise, told apart by is_head_name.
class TensorSet {
 public:
  void add(SourceTensor t, const ConvertOptions& o);
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  // Its shape as stored (PyTorch orientation); empty when absent.
  std::vector<int64_t> shape(const std::string& name) const;
  // The tensor as f32 after checking its shape.
  std::vector<float> take(const std::string& name, const std::vector<int64_t>& shape) const;
  std::vector<std::string> unused(const std::set<std::string>& used) const;
  // The name as the checkpoint spells it (for notes).
  std::string original(const std::string& name) const;

 private:
  std::map<std::string, SourceTensor> tensors_;
  std::map<std::string, std::string> originals_;
};

// Not part of the base model: a task head's tensor.
bool is_head_name(const std::string& name);

// PyTorch Linear weight [out, in] -> [in, out].
std::vector<float> transpose(const std::vector<float>& w, size_t out, size_t in);

// Adds tensors to the writer: matrices in [in, out] orientation, packed into GEMM panels (unless
// the options say otherwise); everything else row-major. Records which source tensors were used.
class WeightWriter {
 public:
  WeightWriter(format::ModelFileWriter& w, const TensorSet& set, const ConvertOptions& o) : w_(w), set_(set), o_(o) {}

  std::vector<float> take(const std::string& name, const std::vector<int64_t>& shape) {
    used_.insert(name);
    return set_.take(name, shape);
  }
  bool has(const std::string& name) const { return set_.has(name); }
  std::vector<int64_t> shape(const std::string& name) const { return set_.shape(name); }
  const std::set<std::string>& used() const { return used_; }
  const ConvertOptions& options() const { return o_; }

  // A matrix [in, out] (y = x W): packed into GEMM panels in the file's dtype (f32, f16 or bf16;
  // the padding columns are zeros in every dtype), or row-major when the options say so.
  void matrix(const std::string& name, const std::vector<float>& m, int64_t in, int64_t out);
  // A PyTorch tensor stored as it is, in dtype.
  void plain(const std::string& dst, const std::string& src, const std::vector<int64_t>& shape,
             format::TensorDType dtype = kF32);
  // A PyTorch Linear (weight [out, in], bias [out]) as a matrix [in, out] and its bias.
  void linear(const std::string& src, const std::string& dst_w, const std::string& dst_b, int64_t out, int64_t in);
  format::ModelFileWriter& writer() { return w_; }

  static constexpr format::TensorDType kF32 = format::TensorDType::f32;
  static uint64_t u(int64_t v) { return static_cast<uint64_t>(v); }

 private:
  format::ModelFileWriter& w_;
  const TensorSet& set_;
  const ConvertOptions& o_;
  std::set<std::string> used_;
};

// The task head config.json's architectures[0] names (sequence classification, token
// classification, masked LM), added after the base model: its tensors (head.*) and metadata
// (head.kind, head.labels, ...). Returns the reason to give in the notes of head tensors it leaves
// unused ("converted without heads", "... heads are not supported", ...). With o.heads false it
// adds nothing.
std::string add_head(WeightWriter& ww, const Dims& dims, const nlohmann::json& config);

}  // namespace bertrt::convert::detail
