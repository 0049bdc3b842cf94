// The word stage of a text: the pre-tokenizer hands each character of a word to push(), which
// keeps the word in canonical (NFD) order of combining marks; at the end of the word flush() runs
// WordPiece: from the start of the word, the longest vocabulary entry that ends on a character
// boundary, then the longest "##" continuation from there, and so on; a word with no such split,
// or longer than max_input_chars_per_word characters, becomes one [UNK].
// Linear in the word's length: each match walks the vocabulary trie for at most the length of the
// longest vocabulary entry.
#include <cstddef>
#include <cstdint>

#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace bertrt::core::wordpiece {

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

// WordPiece over the collected word.
void TextTokenizer::flush() {
  const std::size_t n_chars = char_pos.size();
  if (n_chars == 0) return;
  if (n_chars > t.config.max_input_chars_per_word) {
    emit(t.unk, orig[0], orig[2 * n_chars - 1]);
    clear_word();
    return;
  }
  const std::size_t mark = ids.size();
  const auto* w = reinterpret_cast<const unsigned char*>(word.data());
  const std::size_t n = word.size();
  std::size_t start = 0, ci = 0;
  bool bad = false;
  while (start < n) {
    uint32_t node = start == 0 ? 0u : t.cont_node;
    if (node == Trie::kNone && start != 0) {
      bad = true;
      break;
    }
    int32_t best = -1;
    std::size_t best_end = start;
    std::size_t i = start;
    while (i < n) {
      node = t.trie.step(node, w[i]);
      if (node == Trie::kNone) break;
      ++i;
      const int32_t v = t.trie.value(node);
      if (v >= 0 && (i == n || (w[i] & 0xC0) != 0x80)) {
        best = v;
        best_end = i;
      }
    }
    if (best < 0) {
      bad = true;
      break;
    }
    std::size_t cj = ci;
    while (cj < n_chars && char_pos[cj] < best_end) ++cj;
    emit(best, orig[2 * ci], orig[2 * (cj - 1) + 1]);
    ci = cj;
    start = best_end;
  }
  if (bad) {
    ids.resize(mark);
    offsets.resize(2 * mark);
    emit(t.unk, orig[0], orig[2 * n_chars - 1]);
  }
  clear_word();
}

}  // namespace bertrt::core::wordpiece
