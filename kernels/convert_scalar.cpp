#include <cstring>

#include "kernels/scalar.h"

namespace bertrt::kernels::scalar {

float f16_to_f32_one(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ffu;
      bits = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1f) {  // inf / nan
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void f16_to_f32(const uint16_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32_one(src[i]);
}

void bf16_to_f32(const uint16_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32_one(src[i]);
}

void gather_f32(const float* table, const int64_t* ids, size_t n, size_t hidden, float* out) {
  for (size_t i = 0; i < n; ++i)
    std::memcpy(out + i * hidden, table + static_cast<size_t>(ids[i]) * hidden, hidden * sizeof(float));
}

void gather_f16(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out) {
  for (size_t i = 0; i < n; ++i) f16_to_f32(table + static_cast<size_t>(ids[i]) * hidden, hidden, out + i * hidden);
}

void gather_bf16(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out) {
  for (size_t i = 0; i < n; ++i) bf16_to_f32(table + static_cast<size_t>(ids[i]) * hidden, hidden, out + i * hidden);
}

}  // namespace bertrt::kernels::scalar
