// SentencePiece Unigram as Hugging Face's tokenizers runs it from a tokenizer.json (T5,
// XLM-RoBERTa): the Precompiled normalizer (SentencePiece's charsmap: a double-array trie of
// strings to replace, applied per grapheme cluster), WhitespaceSplit, Metaspace ("▁" prepended to
// each word, words split before each "▁"), and the best segmentation of each piece by the sum of
// piece scores (Viterbi), where a character no piece covers is the unknown token and neighbouring
// unknown characters are one token. Offsets follow the normalizer's alignments as Hugging Face
// keeps them (unigram.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/unigram_trie.h"

namespace bertrt::core::unigram {

struct Model {
  std::vector<double> scores;  // per id
  int32_t unk = -1;
  double unk_score = 0.0;  // lowest score - 10
  PieceTrie trie;          // the pieces
  // Precompiled charsmap: darts-clone units and the NUL-separated replacement strings.
  std::vector<uint32_t> charsmap_units;
  std::string charsmap_strings;
  // Bit cp: the charsmap has a replacement for the character U+cp (below U+10000) looked up
  // alone (set_charsmap).
  std::vector<uint64_t> bmp_replaced = std::vector<uint64_t>(0x10000 / 64, 0);
  // Per byte: an ASCII character other than CR that the charsmap keeps (set_charsmap).
  std::array<bool, 256> plain_ascii = ascii_but_cr();
  bool whitespace_split = false;
  bool metaspace = false;
  std::string replacement = "\xE2\x96\x81";  // U+2581
  int prepend = 0;                            // 0 always, 1 first, 2 never
  bool split = true;
  // Tells this model's entries of the per-thread word cache (unigram.cpp) apart from another's;
  // a copy gets an id of its own.
  struct CacheId {
    uint64_t value = new_cache_id();
    CacheId() = default;
    CacheId(const CacheId&) : value(new_cache_id()) {}
    CacheId& operator=(const CacheId&) {
      value = new_cache_id();
      return *this;
    }
  };
  CacheId cache_id;

  // Parses a Precompiled normalizer's charsmap (decoded bytes); its replacements must be valid
  // UTF-8. Throws BERTRT_ERROR_FORMAT.
  void set_charsmap(std::string_view blob);
  // The replacement of the shortest prefix of s that the charsmap holds (the first match, as
  // Hugging Face takes it), or false.
  bool charsmap_lookup(std::string_view s, std::string_view& out) const;
  static uint64_t new_cache_id();
  static constexpr std::array<bool, 256> ascii_but_cr() {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '\r';
    return t;
  }
  // Fills plain_ascii from bmp_replaced.
  void set_plain_ascii();
  bool replaced_alone(int32_t cp) const {
    return (bmp_replaced[static_cast<std::size_t>(cp) >> 6] >> (cp & 63)) & 1u;
  }
};

// Decodes standard base64 (padding optional). Throws BERTRT_ERROR_FORMAT.
std::string base64_decode(std::string_view in);

}  // namespace bertrt::core::unigram
