// WordPiece over one word, which the pre-tokenizer (text_tokenizer.cpp) has collected: from the
// start of the word, the longest vocabulary entry that ends on a character boundary, then the
// longest "##" continuation from there, and so on. A word with no such split, or longer than
// max_input_chars_per_word characters, becomes one [UNK]. Each token's offsets span the input
// bytes of its first to its last character.
// Linear in the word's length: each match walks the vocabulary trie (vocab_trie.h) for at most the
// length of the longest vocabulary entry.
#include <cstddef>
#include <cstdint>

#include "tokenizer/tokenizer_impl.h"

namespace bertrt::core::wordpiece {

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
