// numpy .npy files (format 1.0/2.0/3.0 headers, little-endian, C order): the CLI's array I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bertrt::npy {

struct Array {
  std::string dtype;            // numpy descr: "<f4", "<i8", "<i4", ...
  std::vector<size_t> shape;
  std::vector<uint8_t> data;    // product(shape) * itemsize bytes
  size_t numel() const;
};

// Parses a whole .npy image; throws bertrt::Error(BERTRT_ERROR_FORMAT / UNSUPPORTED) with a clear
// message for anything malformed, big-endian, Fortran-ordered or truncated.
Array parse(const uint8_t* data, size_t size, const std::string& what = "npy");
Array read(const std::string& path);

// Typed views (converting int32 to int64 and float64 to float32 where asked).
std::vector<int64_t> as_int64(const Array& a, const std::string& what);
std::vector<float> as_float32(const Array& a, const std::string& what);

void write_float32(const std::string& path, const float* data, const std::vector<size_t>& shape);
void write_int64(const std::string& path, const int64_t* data, const std::vector<size_t>& shape);
std::vector<uint8_t> serialize(const std::string& dtype, const void* data, size_t nbytes, const std::vector<size_t>& shape);

}  // namespace bertrt::npy
