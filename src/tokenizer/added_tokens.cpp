// Added tokens found in a text (added_tokens.h). Whitespace for lstrip/rstrip is the Unicode
// White_Space property; a word character for single_word is a letter, mark, decimal digit, letter
// number, connector punctuation or a zero-width (non-)joiner, as Rust's regex \w.
#include "tokenizer/added_tokens.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstring>

#include "tokenizer/char_classes.h"
#include "tokenizer/utf8.h"

namespace bertrt::core {

namespace {

using wordpiece::utf8_decode;

// Start of the character that ends at byte end (end > 0, valid UTF-8).
std::size_t char_before(const unsigned char* s, std::size_t end) {
  std::size_t i = end - 1;
  while (i > 0 && (s[i] & 0xC0) == 0x80) --i;
  return i;
}

bool is_space_at(const unsigned char* s, std::size_t i, std::size_t* len) {
  int32_t cp;
  *len = utf8_decode(s, i, cp);
  auto cat = static_cast<utf8proc_category_t>(utf8proc_get_property(cp)->category);
  return wordpiece::is_whitespace(cp, cat);
}

bool is_word_char(int32_t cp) {
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (utf8proc_get_property(cp)->category) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

}  // namespace

void AddedTokens::build(std::vector<AddedToken> tokens) {
  tokens_.clear();
  for (auto& set : by_first_) {
    for (auto& v : set) v.clear();
  }
  for (auto& t : tokens) {
    if (t.content.empty()) continue;
    bool dup = false;
    for (const auto& have : tokens_) dup = dup || have.content == t.content;
    if (!dup) tokens_.push_back(std::move(t));
  }
  for (uint32_t k = 0; k < tokens_.size(); ++k) {
    const AddedToken& t = tokens_[k];
    by_first_[t.normalized ? 1 : 0][static_cast<unsigned char>(t.content[0])].push_back(k);
  }
  for (std::size_t set = 0; set < 2; ++set) {
    for (std::size_t b = 0; b < 256; ++b) starts_[set][b] = !by_first_[set][b].empty();
  }
  for (auto& set : by_first_) {
    for (auto& v : set) {
      std::stable_sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) {
        return tokens_[a].content.size() > tokens_[b].content.size();
      });
    }
  }
}

void AddedTokens::split(std::string_view text, std::size_t begin, std::size_t end, bool normalized,
                        std::vector<AddedSplit>& out) const {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const auto& set = by_first_[normalized ? 1 : 0];
  std::size_t done = begin;  // end of the previous match (start_offset)
  const auto& starts = starts_[normalized ? 1 : 0];
  std::size_t i = begin;
  while (i < end) {
    while (i < end && !starts[s[i]]) ++i;  // bytes that start no token
    if (i == end) break;
    const auto& cands = set[s[i]];
    int found = -1;
    for (uint32_t k : cands) {
      const std::string& c = tokens_[k].content;
      if (c.size() <= end - i && std::memcmp(s + i, c.data(), c.size()) == 0) {
        found = static_cast<int>(k);
        break;
      }
    }
    if (found < 0) {
      ++i;
      continue;
    }
    const AddedToken& t = tokens_[static_cast<std::size_t>(found)];
    std::size_t start = i, stop = i + t.content.size();
    if (t.single_word) {
      int32_t before = 0, after = 0;
      if (start > begin) utf8_decode(s, char_before(s, start), before);
      if (stop < end) utf8_decode(s, stop, after);
      if ((start > begin && is_word_char(before)) || (stop < end && is_word_char(after))) {
        i = stop;  // as an Aho-Corasick scan: the next match starts after this one
        continue;
      }
    }
    if (t.lstrip) {
      std::size_t len;
      while (start > done) {
        std::size_t p = char_before(s, start);
        if (!is_space_at(s, p, &len)) break;
        start = p;
      }
    }
    if (t.rstrip) {
      std::size_t len;
      while (stop < end && is_space_at(s, stop, &len)) stop += len;
    }
    if (done < start) out.push_back({done, start, -1});
    out.push_back({start, stop, found});
    done = stop;
    i = stop;
  }
  if (done < end) out.push_back({done, end, -1});
}

void AddedTokens::split_all(std::string_view text, std::vector<AddedSplit>& out,
                            std::vector<AddedSplit>& scratch) const {
  out.clear();
  scratch.clear();
  split(text, 0, text.size(), false, scratch);
  for (const AddedSplit& piece : scratch) {
    if (piece.token >= 0) {
      out.push_back(piece);
    } else {
      split(text, piece.begin, piece.end, true, out);
    }
  }
}

}  // namespace bertrt::core
