// The pieces of a Unigram model as a double-array trie: the Viterbi search walks it from every
// character of every word, so one step is one array access (slot base + byte, owned when its
// check names the node) instead of a search among the node's children.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bertrt::core::unigram {

class PieceTrie {
 public:
  static constexpr uint32_t kNone = 0;  // no such node (the root, 0, is never a child)

  // Builds the trie of pieces (id i spells pieces[i]; when a string occurs twice, the later id
  // wins). Empty strings are not pieces the search can reach.
  void build(const std::vector<std::string>& pieces);

  // Child of node along byte b, or kNone.
  uint32_t step(uint32_t node, unsigned char b) const noexcept {
    const uint32_t t = units_[node].base + b;
    return units_[t].check == node ? t : kNone;
  }

  // The id of the piece spelled by the path to node, or -1.
  int32_t value(uint32_t node) const noexcept { return units_[node].value; }

 private:
  struct Unit {
    uint32_t base = 0;          // children at base + byte
    uint32_t check = kUnused;   // parent node
    int32_t value = -1;
  };
  static constexpr uint32_t kUnused = ~uint32_t{0};
  std::vector<Unit> units_ = std::vector<Unit>(256);
};

}  // namespace bertrt::core::unigram
