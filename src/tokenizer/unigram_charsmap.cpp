// The Precompiled normalizer's data (unigram.h): SentencePiece's charsmap, a darts-clone
// double-array trie from byte strings to offsets of NUL-terminated replacement strings, read from
// its base64 form in tokenizer.json and looked up per grapheme cluster or character.
#include <cstring>
#include <string>

#include "common/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unigram.h"
#include "tokenizer/utf8.h"

namespace bertrt::core::unigram {

void Model::set_charsmap(std::string_view blob) {
  if (blob.size() < 4) throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: precompiled_charsmap is too short");
  uint32_t trie_size;
  std::memcpy(&trie_size, blob.data(), 4);
  if (trie_size % 4 != 0 || trie_size > blob.size() - 4) {
    throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: precompiled_charsmap has a bad trie size");
  }
  charsmap_units.resize(trie_size / 4);
  std::memcpy(charsmap_units.data(), blob.data() + 4, trie_size);
  charsmap_strings.assign(blob.substr(4 + trie_size));
  // The replacements are text: the normalized string they go into is walked as UTF-8.
  const std::size_t bad = find_invalid_utf8(charsmap_strings);
  if (bad != charsmap_strings.size()) {
    throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: precompiled_charsmap has a replacement that is not valid UTF-8 "
                                     "(byte " + std::to_string(bad) + " of its strings)");
  }
  std::string_view repl;
  bmp_replaced.assign(0x10000 / 64, 0);
  for (int32_t cp = 0; cp < 0x10000; ++cp) {
    if (cp >= 0xD800 && cp < 0xE000) continue;  // surrogates are not characters
    char key[4];
    const int len = wordpiece::utf8_encode(cp, key);
    if (charsmap_lookup(std::string_view(key, static_cast<std::size_t>(len)), repl)) {
      bmp_replaced[static_cast<std::size_t>(cp) >> 6] |= uint64_t{1} << (cp & 63);
    }
  }
  set_plain_ascii();
}

void Model::set_plain_ascii() {
  for (int c = 0; c < 256; ++c) plain_ascii[c] = c < 0x80 && c != '\r' && !replaced_alone(c);
}

bool Model::charsmap_lookup(std::string_view key, std::string_view& out) const {
  if (charsmap_units.empty()) return false;
  // darts-clone units: bit 8 has_leaf, bits 0-7 (and 31) label, offset in bits 10-30 (shifted
  // by 8 when bit 9 is set), value in bits 0-30.
  auto offset = [](uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); };
  const std::size_t n = charsmap_units.size();
  std::size_t node = offset(charsmap_units[0]);
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    node ^= c;
    if (node >= n) return false;
    const uint32_t unit = charsmap_units[node];
    if ((unit & ((1u << 31) | 0xFFu)) != c) return false;
    node ^= offset(unit);
    if (node >= n) return false;
    if ((unit >> 8) & 1u) {
      const std::size_t at = charsmap_units[node] & ((1u << 31) - 1);
      // A value outside the strings or inside a character is no replacement (only a damaged
      // charsmap has one).
      if (at >= charsmap_strings.size() || (static_cast<unsigned char>(charsmap_strings[at]) & 0xC0) == 0x80) {
        return false;
      }
      const std::size_t stop = charsmap_strings.find('\0', at);
      out = std::string_view(charsmap_strings).substr(at, (stop == std::string::npos ? charsmap_strings.size() : stop) - at);
      return true;  // the first (shortest) match, as Hugging Face takes it
    }
  }
  return false;
}

std::string base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: precompiled_charsmap is not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace bertrt::core::unigram
