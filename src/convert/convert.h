// Hugging Face checkpoint directory -> bertrt model file.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "format/model_file.h"

namespace bertrt::convert {

struct ConvertOptions {
  // Storage of word embeddings and matrices; i8: int8 matrices (per-column scales, f32 word
  // embeddings; docs/format.md, "int8 matrices").
  format::TensorDType dtype = format::TensorDType::f32;
  // Weight matrices are stored pre-packed in the GEMM panel layout (kernels/gemm_packed.h) in the
  // file's dtype; false: row-major (as earlier converters wrote them; packed once at open).
  bool pack_matrices = true;
  // bf16 files: the encoder, pooler and projection matrices in the bf16x2 layout of the bf16
  // dot-product kernels (layer inputs rounded to bf16 at run time). false: bf16 storage only, in the
  // f32 panel layout, widened to f32 inside the f32 kernel (activations stay f32).
  bool bf16_dot = true;
  // Keep the task head that config.json's architecture names (sequence or token classification,
  // masked LM); false: the base model alone, the head's tensors skipped with a note.
  bool heads = true;
  // Receives notes (skipped tensors, chosen files). Null: silent.
  std::function<void(const std::string&)> note;
};

// Reads config.json, vocab.txt, tokenizer_config.json, special_tokens_map.json, sentence-transformers
// modules and the weights (model.safetensors, sharded safetensors, pytorch_model.bin or tf_model.h5)
// from hf_dir and builds the model file. Throws bertrt::Error naming what is missing or wrong.
format::ModelFileWriter build_model_file(const std::string& hf_dir, const ConvertOptions& options);

void convert_directory(const std::string& hf_dir, const std::string& out_path, const ConvertOptions& options);

// Float conversion with round-to-nearest-even (used for f16/bf16 storage).
uint16_t f32_to_f16(float value);
uint16_t f32_to_bf16(float value);

}  // namespace bertrt::convert
