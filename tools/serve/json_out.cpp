#include "serve/json_out.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace bertrt::serve {
namespace {

const char* openai_type(int status) {
  if (status == 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

// text-embeddings-inference's error_type names.
const char* tei_type(int status) {
  switch (status) {
    case 429: return "Overloaded";
    case 503: return "Unhealthy";
    case 404: return "NotFound";
    default: return status >= 500 ? "Backend" : "Validation";
  }
}

}  // namespace

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_body(ApiStyle style, int status, const std::string& message) {
  if (style == ApiStyle::openai) {
    return "{\"error\":{\"message\":" + json_string(message) + ",\"type\":\"" + openai_type(status) +
           "\",\"param\":null,\"code\":" + std::to_string(status) + "}}";
  }
  return "{\"error\":" + json_string(message) + ",\"error_type\":\"" + tei_type(status) + "\"}";
}

void append_floats(std::string& out, const float* v, size_t n) {
  char buf[32];
  out += '[';
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    if (!std::isfinite(v[i])) {  // JSON has no NaN/Inf; the library never returns them
      out += "null";
      continue;
    }
    const auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, r.ptr);
  }
  out += ']';
}

void append_float_rows(std::string& out, const float* v, size_t rows, size_t width) {
  out += '[';
  for (size_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    append_floats(out, v + r * width, width);
  }
  out += ']';
}

void append_ints(std::string& out, const int64_t* v, size_t n) {
  char buf[24];
  out += '[';
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    const auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, r.ptr);
  }
  out += ']';
}

std::string base64_floats(const float* v, size_t n) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(n * 4, '\0');
  for (size_t i = 0; i < n; ++i) {
    uint32_t u = 0;
    std::memcpy(&u, v + i, 4);
    if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap32(u);
    for (int b = 0; b < 4; ++b) bytes[4 * i + static_cast<size_t>(b)] = static_cast<char>((u >> (8 * b)) & 0xff);
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t w = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(w >> s) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest) {
    const uint32_t w = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(w >> 18) & 63];
    out += kAlphabet[(w >> 12) & 63];
    out += rest == 2 ? kAlphabet[(w >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace bertrt::serve
