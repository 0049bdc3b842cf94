// Pieces shared by the converter's translation units (convert.cpp: metadata and tokenizer;
// convert_weights.cpp: tensors). Internal to src/convert.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

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
// docs/format.md (embeddings, layers, pooler), with notes for what is skipped.
void add_weights(format::ModelFileWriter& w, const std::filesystem::path& model_dir, const Dims& dims,
                 const ConvertOptions& o);

}  // namespace bertrt::convert::detail
