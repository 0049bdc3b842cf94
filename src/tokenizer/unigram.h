// SentencePiece Unigram as Hugging Face's tokenizers runs it from a tokenizer.json (T5,
// XLM-RoBERTa): the Precompiled normalizer (SentencePiece's charsmap: a double-array trie of
// strings to replace, applied per grapheme cluster), WhitespaceSplit, Metaspace ("▁" prepended to
// each word, words split before each "▁"), and the best segmentation of each piece by the sum of
// piece scores (Viterbi), where a character no piece covers is the unknown token and neighbouring
// unknown characters are one token. Offsets follow the normalizer's alignments as Hugging Face
// keeps them (unigram.cpp).
#pragma once

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
  bool whitespace_split = false;
  bool metaspace = false;
  std::string replacement = "\xE2\x96\x81";  // U+2581
  int prepend = 0;                            // 0 always, 1 first, 2 never
  bool split = true;

  // Parses a Precompiled normalizer's charsmap (decoded bytes). Throws BERTRT_ERROR_FORMAT.
  void set_charsmap(std::string_view blob);
  // The replacement of the shortest prefix of s that the charsmap holds (the first match, as
  // Hugging Face takes it), or false.
  bool charsmap_lookup(std::string_view s, std::string_view& out) const;
};

// Decodes standard base64 (padding optional). Throws BERTRT_ERROR_FORMAT.
std::string base64_decode(std::string_view in);

}  // namespace bertrt::core::unigram
