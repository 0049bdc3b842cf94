// Checkpoint readers: each turns one Hugging Face weight file into a list of tensors named as in
// PyTorch's BertModel state_dict (prefixes and legacy names are normalised later, in one place).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bertrt::convert {

enum class SourceDType { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };
const char* source_dtype_name(SourceDType dtype);
size_t source_dtype_size(SourceDType dtype);

struct SourceTensor {
  std::string name;            // as stored in the checkpoint (PyTorch naming; TF names are mapped)
  SourceDType dtype = SourceDType::f32;
  std::vector<int64_t> shape;  // row-major, PyTorch orientation (Linear weights [out, in])
  std::vector<uint8_t> data;   // contiguous little-endian elements, product(shape) * size(dtype) bytes
};

// Every reader throws bertrt::Error (BERTRT_ERROR_FORMAT / IO / UNSUPPORTED) with a message that
// names the file and what is wrong. Nothing in the file is trusted before it is bounds-checked.
std::vector<SourceTensor> read_safetensors(const std::string& path);
// torch.save zip format (pytorch_model.bin), through a restricted unpickler.
std::vector<SourceTensor> read_torch_zip(const std::string& path);
// Keras 2 HDF5 (tf_model.h5) in the Hugging Face TF layout; kernels transposed to [out, in] and
// names mapped to PyTorch's (`bert.embeddings.word_embeddings.weight`, ...).
std::vector<SourceTensor> read_tf_h5(const std::string& path);

}  // namespace bertrt::convert
