// Shared by the tokenizer-loading fuzz targets: a tokenizer that loaded encodes a fixed set of texts
// (words, punctuation, accents, CJK, emoji, control characters, whitespace runs, special-token
// look-alikes, invalid UTF-8), alone, as a pair with each truncation strategy, and without special
// tokens; every encoding must keep the API's promises (ids inside the vocabulary with a token
// string, offsets inside their text, one type, mask and sequence id per token), else the target
// traps: a broken promise is a finding like a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "bertrt/bertrt.h"

namespace fuzz_support {

inline void require(bool ok) {
  if (!ok) __builtin_trap();
}

inline void check_encoding(const bertrt_tokenizer* tok, const bertrt_encoding* e, size_t text_len, size_t pair_len,
                           size_t max_length) {
  const size_t n = bertrt_encoding_length(e);
  const int64_t* ids = bertrt_encoding_ids(e);
  const int64_t* offsets = bertrt_encoding_offsets(e);
  const int64_t* seq = bertrt_encoding_sequence_ids(e);
  const int64_t* mask = bertrt_encoding_attention_mask(e);
  const int64_t* types = bertrt_encoding_token_type_ids(e);
  const size_t vocab = bertrt_tokenizer_vocab_size(tok);
  require(max_length == 0 || n <= max_length);
  for (size_t i = 0; i < n; ++i) {
    require(ids[i] >= 0 && static_cast<size_t>(ids[i]) < vocab);
    require(bertrt_tokenizer_id_to_token(tok, ids[i]) != nullptr);
    require(bertrt_encoding_token(e, i) != nullptr);
    require(mask[i] == 1 && types[i] >= 0);
    require(seq[i] >= -1 && seq[i] <= 1);
    const size_t len = seq[i] == 1 ? pair_len : text_len;
    require(offsets[2 * i] >= 0 && offsets[2 * i] <= offsets[2 * i + 1]);
    require(static_cast<size_t>(offsets[2 * i + 1]) <= len);
  }
}

inline void exercise(const bertrt_tokenizer* tok) {
  static const char* const kTexts[] = {
      "Hello, world! The quick brown fox.",
      "  leading and   inner   spaces\t\ttabs\nnewline  ",
      "caf\xC3\xA9 na\xC3\xAFve \xC3\x85ngstr\xC3\xB6m \xEF\xBC\xA1\xEF\xBC\xA2 \xE2\x84\xAB",
      "\xE4\xB8\xAD\xE6\x96\x87 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
      "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD and \xE2\x80\x8D joiners",
      "<s> </s> <unk> <pad> <mask> [CLS] [SEP] [MASK] <extra_id_0> \xE2\x96\x81",
      "ctrl \x01\x07\x1b del\x7f nul",
      "",
      "bad \xC3 utf8 \xFF\xFE",
  };
  const size_t lengths[] = {0, 4, 9};
  const bertrt_truncation strategies[] = {BERTRT_TRUNCATION_LONGEST_FIRST, BERTRT_TRUNCATION_ONLY_FIRST,
                                          BERTRT_TRUNCATION_ONLY_SECOND};
  size_t k = 0;
  for (const char* text : kTexts) {
    const size_t len = std::strlen(text);
    const char* pair = kTexts[(++k * 5) % (sizeof kTexts / sizeof *kTexts)];
    const size_t pair_len = std::strlen(pair);
    bertrt_encoding* e = nullptr;
    if (bertrt_tokenizer_encode(tok, text, len, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, &e) == BERTRT_OK)
      check_encoding(tok, e, len, 0, 0);
    bertrt_encoding_free(e);
    e = nullptr;
    if (bertrt_tokenizer_encode_plain(tok, text, len, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, &e) ==
        BERTRT_OK)
      check_encoding(tok, e, len, 0, 0);
    bertrt_encoding_free(e);
    const size_t max_length = lengths[k % 3];
    e = nullptr;
    if (bertrt_tokenizer_encode(tok, text, len, pair, pair_len, max_length, strategies[k % 3], &e) == BERTRT_OK)
      check_encoding(tok, e, len, pair_len, max_length);
    bertrt_encoding_free(e);
  }
}

}  // namespace fuzz_support
