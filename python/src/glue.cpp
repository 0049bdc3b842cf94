// Conversion and code-point offsets for the Python module (internal headers only).
#include "glue.h"

#include <span>
#include <string_view>

#include "common/error.h"
#include "convert/convert.h"
#include "tokenizer/tokenizer.h"

// The internal tokenizer may live in bertrt or in bertrt::core; this finds it in either.
namespace bertrt::core {}

namespace bertrt::python {

using namespace bertrt::core;

void convert_directory(const std::string& hf_dir, const std::string& out_path, const std::string& dtype) {
  convert::ConvertOptions options;
  if (dtype == "f32") {
    options.dtype = format::TensorDType::f32;
  } else if (dtype == "f16") {
    options.dtype = format::TensorDType::f16;
  } else if (dtype == "bf16") {
    options.dtype = format::TensorDType::bf16;
  } else {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "dtype must be \"f32\", \"f16\" or \"bf16\", not \"" + dtype + "\"");
  }
  convert::convert_directory(hf_dir, out_path, options);
}

std::vector<int64_t> char_offsets(const std::string& text, const std::string* pair, const int64_t* byte_offsets,
                                  const int64_t* sequence_ids, size_t n) {
  std::vector<int64_t> first, second;
  for (size_t i = 0; i < n; ++i) {
    if (sequence_ids[i] == 0) first.insert(first.end(), {byte_offsets[2 * i], byte_offsets[2 * i + 1]});
    if (sequence_ids[i] == 1) second.insert(second.end(), {byte_offsets[2 * i], byte_offsets[2 * i + 1]});
  }
  const std::vector<int64_t> a = byte_to_char_offsets(std::string_view(text), std::span<const int64_t>(first));
  std::vector<int64_t> b;
  if (pair != nullptr) b = byte_to_char_offsets(std::string_view(*pair), std::span<const int64_t>(second));
  std::vector<int64_t> out(2 * n, 0);
  size_t ia = 0, ib = 0;
  for (size_t i = 0; i < n; ++i) {
    if (sequence_ids[i] == 0) {
      out[2 * i] = a[ia++];
      out[2 * i + 1] = a[ia++];
    } else if (sequence_ids[i] == 1 && pair != nullptr) {
      out[2 * i] = b[ib++];
      out[2 * i + 1] = b[ib++];
    }
  }
  return out;
}

}  // namespace bertrt::python
