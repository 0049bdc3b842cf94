// UTF-8 facts the tokenizer needs outside its inner loops: validation of the input texts (the first
// bad byte, with its offset in the error) and conversion of byte offsets into code-point offsets
// (the Python module's offsets index str objects by code point). Declared in tokenizer.h.
#include "tokenizer/tokenizer.h"

#include <cstring>
#include <string>

#include "common/error.h"

namespace bertrt::core {

std::size_t find_invalid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII run, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;       // overlong
      else if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;       // overlong
      else if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;  // continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return n;
}

void validate_utf8(std::string_view text, const char* what) {
  std::size_t bad = find_invalid_utf8(text);
  if (bad != text.size()) {
    throw Error(BERTRT_ERROR_INVALID_UTF8,
                std::string(what) + " is not valid UTF-8: bad byte sequence at byte offset " + std::to_string(bad));
  }
}

std::vector<int64_t> byte_to_char_offsets(std::string_view text, std::span<const int64_t> byte_offsets) {
  // index[b] = number of characters that start before byte b.
  std::vector<int64_t> index(text.size() + 1);
  int64_t chars = 0;
  for (std::size_t b = 0; b < text.size(); ++b) {
    if ((static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) {
      index[b] = chars;
      ++chars;
    } else {
      index[b] = chars - 1;  // inside a character: that character
    }
  }
  index[text.size()] = chars;
  std::vector<int64_t> out;
  out.reserve(byte_offsets.size());
  for (int64_t off : byte_offsets) {
    if (off < 0 || static_cast<std::size_t>(off) > text.size()) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "byte offset " + std::to_string(off) + " outside the text");
    }
    out.push_back(index[static_cast<std::size_t>(off)]);
  }
  return out;
}

std::vector<int64_t> encoding_char_offsets(const Encoding& encoding, std::string_view text,
                                           const std::string_view* pair) {
  std::vector<int64_t> out(encoding.offsets.size(), 0);
  for (int seq = 0; seq < 2; ++seq) {
    if (seq == 1 && pair == nullptr) break;
    std::string_view t = seq == 0 ? text : *pair;
    std::vector<int64_t> sel, where;
    for (std::size_t i = 0; i < encoding.sequence_ids.size(); ++i) {
      if (encoding.sequence_ids[i] != seq) continue;
      sel.push_back(encoding.offsets[2 * i]);
      sel.push_back(encoding.offsets[2 * i + 1]);
      where.push_back(static_cast<int64_t>(i));
    }
    std::vector<int64_t> conv = byte_to_char_offsets(t, sel);
    for (std::size_t k = 0; k < where.size(); ++k) {
      out[2 * static_cast<std::size_t>(where[k])] = conv[2 * k];
      out[2 * static_cast<std::size_t>(where[k]) + 1] = conv[2 * k + 1];
    }
  }
  return out;
}

}  // namespace bertrt::core
