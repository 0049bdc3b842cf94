// Character classes of the normalizer and pre-tokenizer, as Hugging Face's Rust `tokenizers`
// defines them (tests/data/tokenizer-cases/README.md): whitespace, punctuation, characters removed
// by text cleaning, the CJK ranges that are spaced out, and one table kind per ASCII character for
// the fast path. Inline: they run once per character.
#pragma once

#include <utf8proc.h>

#include <cstdint>

namespace bertrt::core::wordpiece {

// Rust's char::is_whitespace is the White_Space property, which is exactly the characters of
// categories Zs, Zl and Zp plus the controls U+0009..U+000D and U+0085.
inline bool is_whitespace(int32_t cp, utf8proc_category_t cat) {
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP ||
         (cp >= 0x09 && cp <= 0x0D) || cp == 0x85;
}

inline bool is_unicode_punct(utf8proc_category_t cat) {
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// Characters removed by text cleaning (besides NUL, which is Cc): U+FFFD and categories Cc, Cf,
// Co, Cs other than \t \n \r (which are ASCII and handled by the ASCII table).
inline bool is_removed(int32_t cp, utf8proc_category_t cat) {
  return cp == 0xFFFD || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO ||
         cat == UTF8PROC_CATEGORY_CS;
}

// The ranges BertNormalizer treats as Chinese characters (README: note 2B920, not 2B820).
inline bool is_chinese_char(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

enum AsciiKind : uint8_t { kRemove = 0, kSpace = 1, kPunct = 2, kWord = 3 };

// The kind of ASCII character c (0..127), from which the tokenizer fills its table.
inline AsciiKind ascii_kind_of(int c) {
  if (c == '\t' || c == '\n' || c == '\r' || c == ' ') return kSpace;
  // Cc (NUL included); 0x0B and 0x0C are removed before the space mapping.
  if (c < 0x20 || c == 0x7F) return kRemove;
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return kPunct;
  return kWord;
}

}  // namespace bertrt::core::wordpiece
