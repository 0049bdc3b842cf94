// Helpers of the Python module that need internal headers; kept apart from the pybind11 code so
// that no translation unit sees both the public C++ layer and the internal tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bertrt::python {

// Converts a Hugging Face directory to a model file; dtype "f32", "f16" or "bf16".
void convert_directory(const std::string& hf_dir, const std::string& out_path, const std::string& dtype);

// Byte offsets [n, 2] of one encoding -> code-point offsets, each pair converted with the text its
// sequence id names (0: text, 1: pair); special tokens (sequence id -1) stay (0, 0).
std::vector<int64_t> char_offsets(const std::string& text, const std::string* pair, const int64_t* byte_offsets,
                                  const int64_t* sequence_ids, size_t n);

}  // namespace bertrt::python
