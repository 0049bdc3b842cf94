#include "common/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "bertrt/error.hpp"

namespace bertrt::npy {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& message) {
  throw Error(BERTRT_ERROR_FORMAT, what + ": " + message);
}

size_t itemsize(const std::string& dtype) {
  if (dtype.size() < 3) return 0;
  if (dtype == "|b1" || dtype == "|u1" || dtype == "|i1") return 1;
  const std::string kind = dtype.substr(1);
  if (kind == "f4" || kind == "i4" || kind == "u4") return 4;
  if (kind == "f8" || kind == "i8" || kind == "u8") return 8;
  if (kind == "f2" || kind == "i2" || kind == "u2") return 2;
  return 0;
}

// Reads the value of key in a Python dict literal header, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
std::string header_value(const std::string& header, const std::string& key, const std::string& what) {
  const std::string needle = "'" + key + "'";
  const size_t k = header.find(needle);
  if (k == std::string::npos) fail(what, "header has no '" + key + "'");
  size_t p = header.find(':', k + needle.size());
  if (p == std::string::npos) fail(what, "malformed header");
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p >= header.size()) fail(what, "malformed header");
  size_t end;
  if (header[p] == '\'') {
    end = header.find('\'', p + 1);
    if (end == std::string::npos) fail(what, "malformed header");
    return header.substr(p + 1, end - p - 1);
  }
  if (header[p] == '(') {
    end = header.find(')', p);
    if (end == std::string::npos) fail(what, "malformed header");
    return header.substr(p, end - p + 1);
  }
  end = header.find_first_of(",}", p);
  if (end == std::string::npos) fail(what, "malformed header");
  return header.substr(p, end - p);
}

}  // namespace

size_t Array::numel() const {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

Array parse(const uint8_t* data, size_t size, const std::string& what) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, magic, 6) != 0) fail(what, "not a .npy file (bad magic)");
  const uint8_t major = data[6];
  size_t header_len, offset;
  if (major == 1) {
    header_len = data[8] | (static_cast<size_t>(data[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) fail(what, "truncated header");
    header_len = data[8] | (static_cast<size_t>(data[9]) << 8) | (static_cast<size_t>(data[10]) << 16) |
                 (static_cast<size_t>(data[11]) << 24);
    offset = 12;
  } else {
    throw Error(BERTRT_ERROR_UNSUPPORTED, what + ": .npy format version " + std::to_string(major) + " is not supported");
  }
  if (header_len > size - offset) fail(what, "truncated header");
  const std::string header(reinterpret_cast<const char*>(data + offset), header_len);
  Array a;
  a.dtype = header_value(header, "descr", what);
  const std::string fortran = header_value(header, "fortran_order", what);
  if (fortran.find("True") != std::string::npos)
    throw Error(BERTRT_ERROR_UNSUPPORTED, what + ": Fortran-ordered arrays are not supported (use C order)");
  if (a.dtype.size() == 3 && a.dtype[0] == '>' && a.dtype.substr(1) != "i1" && a.dtype.substr(1) != "u1")
    throw Error(BERTRT_ERROR_UNSUPPORTED, what + ": big-endian dtype '" + a.dtype + "' is not supported");
  const size_t item = itemsize(a.dtype);
  if (item == 0) throw Error(BERTRT_ERROR_UNSUPPORTED, what + ": dtype '" + a.dtype + "' is not supported");
  const std::string shape = header_value(header, "shape", what);
  if (shape.empty() || shape.front() != '(') fail(what, "malformed shape");
  size_t numel = 1;
  size_t p = 1;
  while (p < shape.size() && shape[p] != ')') {
    while (p < shape.size() && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p >= shape.size() || shape[p] == ')') break;
    size_t dim = 0, digits = 0;
    while (p < shape.size() && shape[p] >= '0' && shape[p] <= '9') {
      if (dim > (size_t{1} << 40)) fail(what, "dimension too large");
      dim = dim * 10 + static_cast<size_t>(shape[p] - '0');
      ++p;
      ++digits;
    }
    if (digits == 0) fail(what, "malformed shape '" + shape + "'");
    if (a.shape.size() >= 16) fail(what, "too many dimensions");
    if (__builtin_mul_overflow(numel, dim, &numel)) fail(what, "shape overflows");
    a.shape.push_back(dim);
  }
  size_t nbytes;
  if (__builtin_mul_overflow(numel, item, &nbytes)) fail(what, "shape overflows");
  const size_t data_offset = offset + header_len;
  if (size - data_offset < nbytes)
    fail(what, "truncated data (" + std::to_string(size - data_offset) + " bytes, shape needs " + std::to_string(nbytes) + ")");
  a.data.assign(data + data_offset, data + data_offset + nbytes);
  return a;
}

Array read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(BERTRT_ERROR_IO, "cannot read '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string bytes = ss.str();
  return parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

std::vector<int64_t> as_int64(const Array& a, const std::string& what) {
  const size_t n = a.numel();
  std::vector<int64_t> out(n);
  if (a.dtype == "<i8") {
    if (n) std::memcpy(out.data(), a.data.data(), n * 8);
  } else if (a.dtype == "<i4") {
    for (size_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, a.data.data() + 4 * i, 4);
      out[i] = v;
    }
  } else {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, what + ": expected int64 or int32 data, found dtype '" + a.dtype + "'");
  }
  return out;
}

std::vector<float> as_float32(const Array& a, const std::string& what) {
  const size_t n = a.numel();
  std::vector<float> out(n);
  if (a.dtype == "<f4") {
    if (n) std::memcpy(out.data(), a.data.data(), n * 4);
  } else if (a.dtype == "<f8") {
    for (size_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, a.data.data() + 8 * i, 8);
      out[i] = static_cast<float>(v);
    }
  } else {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, what + ": expected float32 data, found dtype '" + a.dtype + "'");
  }
  return out;
}

std::vector<uint8_t> serialize(const std::string& dtype, const void* data, size_t nbytes,
                               const std::vector<size_t>& shape) {
  std::string header = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) header += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) header += ",";
  header += "), }";
  // Pad with spaces so that the data starts at a multiple of 64, then a newline (format 1.0).
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  const uint8_t prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(header.size() & 0xff),
                              static_cast<uint8_t>(header.size() >> 8)};
  std::vector<uint8_t> out(sizeof prefix + header.size() + nbytes);
  std::memcpy(out.data(), prefix, sizeof prefix);
  std::memcpy(out.data() + sizeof prefix, header.data(), header.size());
  if (nbytes) std::memcpy(out.data() + sizeof prefix + header.size(), data, nbytes);
  return out;
}

namespace {
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(BERTRT_ERROR_IO, "cannot write '" + path + "'");
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw Error(BERTRT_ERROR_IO, "write to '" + path + "' failed");
}
size_t count(const std::vector<size_t>& shape) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}
}  // namespace

void write_float32(const std::string& path, const float* data, const std::vector<size_t>& shape) {
  write_bytes(path, serialize("<f4", data, count(shape) * 4, shape));
}

void write_int64(const std::string& path, const int64_t* data, const std::vector<size_t>& shape) {
  write_bytes(path, serialize("<i8", data, count(shape) * 8, shape));
}

}  // namespace bertrt::npy
