// safetensors reader: 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the data block. Every offset and size is checked against the
// file before anything is allocated or read.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "convert/checkpoint.h"

namespace bertrt::convert {
namespace {

// Headers beyond this are not produced by any writer and would only cost memory.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr int kMaxJsonDepth = 32;

[[noreturn]] void fail(bertrt_status status, const std::string& path, const std::string& what) {
  throw Error(status, path + ": " + what);
}

bool parse_dtype(const std::string& s, SourceDType* out) {
  static const struct { const char* name; SourceDType dtype; } kTable[] = {
      {"F32", SourceDType::f32}, {"F16", SourceDType::f16}, {"BF16", SourceDType::bf16},
      {"F64", SourceDType::f64}, {"I64", SourceDType::i64}, {"I32", SourceDType::i32},
      {"I16", SourceDType::i16}, {"I8", SourceDType::i8},   {"U8", SourceDType::u8},
      {"BOOL", SourceDType::boolean},
  };
  for (const auto& e : kTable) {
    if (s == e.name) {
      *out = e.dtype;
      return true;
    }
  }
  return false;
}

// Rejects JSON nested deeper than any safetensors header is, before the parser sees it.
bool json_depth_ok(const std::string& text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

struct Entry {
  std::string name;
  SourceDType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& info,
                  uint64_t data_size) {
  Entry e;
  e.name = name;
  if (!info.is_object()) fail(BERTRT_ERROR_FORMAT, path, "header entry '" + name + "' is not an object");
  auto dt = info.find("dtype");
  auto sh = info.find("shape");
  auto off = info.find("data_offsets");
  if (dt == info.end() || sh == info.end() || off == info.end())
    fail(BERTRT_ERROR_FORMAT, path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
  if (!dt->is_string()) fail(BERTRT_ERROR_FORMAT, path, "tensor '" + name + "': dtype is not a string");
  const std::string dtype = dt->get<std::string>();
  if (!parse_dtype(dtype, &e.dtype))
    fail(BERTRT_ERROR_UNSUPPORTED, path, "tensor '" + name + "' has unsupported dtype " + dtype);
  if (!sh->is_array()) fail(BERTRT_ERROR_FORMAT, path, "tensor '" + name + "': shape is not an array");
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
      fail(BERTRT_ERROR_FORMAT, path, "tensor '" + name + "': shape holds a value that is not a non-negative integer");
    const uint64_t v = d.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(BERTRT_ERROR_FORMAT, path, "tensor '" + name + "': dimension too large");
    e.shape.push_back(static_cast<int64_t>(v));
    if (v != 0 && numel > std::numeric_limits<uint64_t>::max() / v) overflow = true;
    numel *= v;
  }
  if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    fail(BERTRT_ERROR_FORMAT, path, "tensor '" + name + "': data_offsets is not [begin, end]");
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.begin > e.end || e.end > data_size)
    fail(BERTRT_ERROR_FORMAT, path,
         "tensor '" + name + "': data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
             "] outside the data block of " + std::to_string(data_size) + " bytes");
  const uint64_t elsize = source_dtype_size(e.dtype);
  if (overflow || numel > std::numeric_limits<uint64_t>::max() / elsize || numel * elsize != e.end - e.begin)
    fail(BERTRT_ERROR_FORMAT, path,
         "tensor '" + name + "': " + std::to_string(e.end - e.begin) + " data bytes do not match its shape and dtype " +
             dtype);
  return e;
}

}  // namespace

std::vector<SourceTensor> read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(BERTRT_ERROR_IO, path, "cannot open");
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(BERTRT_ERROR_IO, path, "is a directory");
  in.seekg(0, std::ios::end);
  const std::streamoff end_pos = in.tellg();
  if (end_pos < 0) fail(BERTRT_ERROR_IO, path, "cannot determine the file size");
  const uint64_t file_size = static_cast<uint64_t>(end_pos);
  in.seekg(0, std::ios::beg);
  if (file_size < 8) fail(BERTRT_ERROR_FORMAT, path, "too short for a safetensors file (" + std::to_string(file_size) + " bytes)");

  unsigned char len_bytes[8];
  if (!in.read(reinterpret_cast<char*>(len_bytes), 8)) fail(BERTRT_ERROR_IO, path, "read failed");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8)
    fail(BERTRT_ERROR_FORMAT, path,
         "header length " + std::to_string(header_len) + " exceeds the file size " + std::to_string(file_size) +
             " (truncated or not a safetensors file)");
  if (header_len > kMaxHeaderBytes) fail(BERTRT_ERROR_FORMAT, path, "header length " + std::to_string(header_len) + " is implausibly large");
  if (header_len < 2) fail(BERTRT_ERROR_FORMAT, path, "header too short");

  std::string header(static_cast<size_t>(header_len), '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len))) fail(BERTRT_ERROR_IO, path, "read failed");
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_size - data_start;

  if (!json_depth_ok(header)) fail(BERTRT_ERROR_FORMAT, path, "header JSON nested too deeply");
  nlohmann::json j = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(BERTRT_ERROR_FORMAT, path, "header is not valid JSON");
  if (!j.is_object()) fail(BERTRT_ERROR_FORMAT, path, "header is not a JSON object");

  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    entries.push_back(parse_entry(path, it.key(), it.value(), data_size));
  }
  // Read in file order.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t k = 1; k < entries.size(); ++k) {
    if (entries[k].begin < entries[k - 1].end)
      fail(BERTRT_ERROR_FORMAT, path, "tensors '" + entries[k - 1].name + "' and '" + entries[k].name + "' overlap");
  }

  std::vector<SourceTensor> out;
  out.reserve(entries.size());
  for (auto& e : entries) {
    SourceTensor t;
    t.name = std::move(e.name);
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    const uint64_t n = e.end - e.begin;
    if (n > static_cast<uint64_t>(std::numeric_limits<size_t>::max()))
      fail(BERTRT_ERROR_FORMAT, path, "tensor '" + t.name + "' too large for this platform");
    t.data.resize(static_cast<size_t>(n));
    if (n > 0) {
      in.seekg(static_cast<std::streamoff>(data_start + e.begin), std::ios::beg);
      if (!in.read(reinterpret_cast<char*>(t.data.data()), static_cast<std::streamsize>(n)))
        fail(BERTRT_ERROR_IO, path, "read of tensor '" + t.name + "' failed");
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace bertrt::convert
