// One text into ids and offsets, in one pass (see tokenizer_impl.h for the whole pipeline):
//   run()         finds the special tokens ([CLS], [SEP], ...) in the raw bytes, longest first;
//   segment()     walks the text between them: ASCII word characters go straight into the word,
//                 other characters through the steps below;
//   normalize_char()         BertNormalizer: cleaning, CJK spacing, accent stripping (NFD without
//                            non-spacing marks);
//   lower_and_pretokenize()  lowercasing (full mapping, as Rust's char::to_lowercase);
//   pretokenize()            BertPreTokenizer: whitespace ends a word, punctuation is a word of
//                            its own, anything else goes into the word;
//   push()                   appends a character to the word, keeping combining marks in
//                            canonical (NFD) order.
// Every finished word goes to WordPiece at once (flush(), wordpiece.cpp).
#include <utf8proc.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tokenizer/char_classes.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace bertrt::core::wordpiece {

// Tokenizes a whole text: special tokens first, then the segments between them.
void TextTokenizer::run(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t seg = 0;
  std::size_t i = 0;
  if (!t.specials.empty()) {
    while (i < n && ids.size() < limit) {
      if (!t.special_first_byte[s[i]]) {
        ++i;
        continue;
      }
      const Tokenizer::Impl::Special* best = nullptr;
      for (const auto& sp : t.specials) {
        if (sp.text.size() <= n - i && std::memcmp(s + i, sp.text.data(), sp.text.size()) == 0 &&
            (best == nullptr || sp.text.size() > best->text.size())) {
          best = &sp;
        }
      }
      if (best == nullptr) {
        ++i;
        continue;
      }
      segment(s, seg, i);
      if (ids.size() >= limit) return;
      emit(best->id, i, i + best->text.size());
      i += best->text.size();
      seg = i;
    }
  }
  if (ids.size() < limit) segment(s, seg, n);
}

// Tokenizes text bytes [begin, end) that hold no special token.
void TextTokenizer::segment(const unsigned char* s, std::size_t begin, std::size_t end) {
  std::size_t i = begin;
  while (i < end) {
    unsigned c = s[i];
    if (c < 0x80) {
      switch (t.ascii_kind[c]) {
        case kWord: {
          // Whole ASCII run of word characters at once.
          std::size_t j = i;
          while (j < end && s[j] < 0x80 && t.ascii_kind[s[j]] == kWord) {
            char_pos.push_back(static_cast<uint32_t>(word.size()));
            word.push_back(t.ascii_map[s[j]]);
            orig.push_back(j);
            orig.push_back(j + 1);
            ccc.push_back(0);
            ++j;
          }
          run_start = char_pos.size();
          i = j;
          continue;
        }
        case kSpace:
          flush();
          break;
        case kPunct:
          flush();
          push(static_cast<int32_t>(c), 0, i, i + 1);
          flush();
          break;
        default:
          break;
      }
      ++i;
      if (ids.size() >= limit) return;
      continue;
    }
    int32_t cp;
    std::size_t len = utf8_decode(s, i, cp);
    normalize_char(cp, i, i + len);
    i += len;
    if (ids.size() >= limit) return;
  }
  flush();
}

// Normalizes the non-ASCII character cp (text bytes [b0, b1)).
inline void TextTokenizer::normalize_char(int32_t cp, std::size_t b0, std::size_t b1) {
  const utf8proc_property_t* prop = utf8proc_get_property(cp);
  utf8proc_category_t cat = static_cast<utf8proc_category_t>(prop->category);
  if (is_removed(cp, cat)) return;
  if (is_whitespace(cp, cat)) {
    flush();
    return;
  }
  const bool chinese = t.config.tokenize_chinese_chars && is_chinese_char(cp);
  if (chinese) flush();
  if (t.strip) {
    utf8proc_int32_t dec[32];
    utf8proc_ssize_t nd = 1;
    dec[0] = cp;
    if (prop->decomp_seqindex != UINT16_MAX || (cp >= 0xAC00 && cp < 0xAC00 + 11172)) {
      nd = utf8proc_decompose_char(cp, dec, 32, UTF8PROC_DECOMPOSE, nullptr);
      if (nd < 0 || nd > 32) {
        dec[0] = cp;
        nd = 1;
      }
    }
    for (utf8proc_ssize_t k = 0; k < nd; ++k) {
      int32_t d = dec[k];
      const utf8proc_property_t* dp = d == cp ? prop : utf8proc_get_property(d);
      uint8_t cls = static_cast<uint8_t>(dp->combining_class);
      if (dp->category == UTF8PROC_CATEGORY_MN) {
        if (cls == 0) run_start = char_pos.size();
        continue;
      }
      lower_and_pretokenize(d, cls, b0, b1);
    }
  } else {
    lower_and_pretokenize(cp, 0, b0, b1);
  }
  if (chinese) flush();
}

// Lowercasing (Rust's char::to_lowercase: full mapping, no context) then pre-tokenization.
inline void TextTokenizer::lower_and_pretokenize(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1) {
  if (t.lowercase) {
    // utf8proc's lowercase mapping is the simple one. The full mapping differs from it for one
    // character only (the single unconditional lowercase entry of SpecialCasing.txt):
    // U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE -> U+0069 U+0307.
    if (cp == 0x130) {
      pretokenize(0x69, 0, b0, b1);
      pretokenize(0x307, 0, b0, b1);
      return;
    }
    cp = cp < 0x80 ? static_cast<int32_t>(static_cast<unsigned char>(t.ascii_map[cp])) : utf8proc_tolower(cp);
  }
  pretokenize(cp, cls, b0, b1);
}

// Pre-tokenizer step for one normalized character.
inline void TextTokenizer::pretokenize(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1) {
  if (cp < 0x80) {
    uint8_t k = t.ascii_kind[cp];
    if (k == kWord || k == kRemove) {  // kRemove cannot come out of normalization; keep it safe
      push(cp, 0, b0, b1);
    } else if (k == kSpace) {
      flush();
    } else {
      flush();
      push(cp, 0, b0, b1);
      flush();
    }
    return;
  }
  utf8proc_category_t cat = static_cast<utf8proc_category_t>(utf8proc_get_property(cp)->category);
  if (is_whitespace(cp, cat)) {
    flush();
  } else if (is_unicode_punct(cat)) {
    flush();
    push(cp, 0, b0, b1);
    flush();
  } else {
    push(cp, cls, b0, b1);
  }
}

// Appends one normalized character to the word; ccc > 0 only when accents are stripped, where
// it is moved before earlier characters of higher class (NFD canonical ordering).
void TextTokenizer::push(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1) {
  char buf[4];
  int len = utf8_encode(cp, buf);
  std::size_t n = char_pos.size();
  std::size_t p = n;
  // A word already longer than max_input_chars_per_word becomes [UNK] whatever its order, so
  // reordering stops there (which also bounds the insertion sort).
  if (cls > 0 && n <= t.config.max_input_chars_per_word) {
    while (p > run_start && ccc[p - 1] > cls) --p;
  }
  if (p == n) {
    char_pos.push_back(static_cast<uint32_t>(word.size()));
    word.append(buf, static_cast<std::size_t>(len));
    orig.push_back(b0);
    orig.push_back(b1);
    ccc.push_back(cls);
  } else {
    uint32_t at = char_pos[p];
    word.insert(at, buf, static_cast<std::size_t>(len));
    char_pos.insert(char_pos.begin() + static_cast<std::ptrdiff_t>(p), at);
    for (std::size_t k = p + 1; k <= n; ++k) char_pos[k] += static_cast<uint32_t>(len);
    orig.insert(orig.begin() + static_cast<std::ptrdiff_t>(2 * p), {b0, b1});
    ccc.insert(ccc.begin() + static_cast<std::ptrdiff_t>(p), cls);
  }
  if (cls == 0) run_start = char_pos.size();
}

}  // namespace bertrt::core::wordpiece
