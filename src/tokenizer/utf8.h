// UTF-8 encoding and decoding of one code point, for the tokenizer's inner loops (inline: they run
// once per character). Validation (find_invalid_utf8, validate_utf8) and byte-to-character offset
// conversion are declared in tokenizer.h and defined in utf8.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bertrt::core::wordpiece {

// Decodes the (already validated) character at s[i]; returns its length.
inline std::size_t utf8_decode(const unsigned char* s, std::size_t i, int32_t& cp) {
  unsigned c = s[i];
  if (c < 0x80) {
    cp = static_cast<int32_t>(c);
    return 1;
  }
  if (c < 0xE0) {
    cp = static_cast<int32_t>(((c & 0x1F) << 6) | (s[i + 1] & 0x3F));
    return 2;
  }
  if (c < 0xF0) {
    cp = static_cast<int32_t>(((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F));
    return 3;
  }
  cp = static_cast<int32_t>(((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) |
                            (s[i + 3] & 0x3F));
  return 4;
}

// Writes the UTF-8 bytes of the code point cp to out[0..4); returns how many.
inline int utf8_encode(int32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

}  // namespace bertrt::core::wordpiece
