// The vocabulary as a byte trie: built once by the Tokenizer constructor (vocab_trie.cpp), walked
// byte by byte by WordPiece (step() is inline: it runs once per byte of every word) and by the
// token_to_id() lookup.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bertrt::core::wordpiece {

// Vocabulary as a byte trie, nodes numbered in breadth-first order so that the children of a node
// are consecutive: node n's children are nodes first[n] + 1 .. first[n] + count[n], sorted by their
// label, and label[c - 1] is the byte that leads to node c (the root, node 0, has none).
// value is the id of the token spelled by the path to the node, or -1.
struct Trie {
  struct Node {
    uint32_t first;
    uint32_t count;
    int32_t value;
  };
  std::vector<Node> nodes;
  std::vector<uint8_t> label;
  uint32_t root_child[256];  // direct table for the root (0 = none)

  static constexpr uint32_t kNone = 0;

  // Builds the trie of vocab (id i spells vocab[i]). When a string occurs twice, the later id wins.
  void build(const std::vector<std::string>& vocab);

  // Child of node along byte b, or kNone.
  inline uint32_t step(uint32_t node, unsigned char b) const {
    if (node == 0) return root_child[b];
    const Node& n = nodes[node];
    const uint8_t* l = label.data() + n.first;
    const uint32_t c = n.count;
    if (c <= 16) {
      for (uint32_t k = 0; k < c; ++k) {
        if (l[k] == b) return n.first + k + 1;
        if (l[k] > b) return kNone;
      }
      return kNone;
    }
    const uint8_t* p = std::lower_bound(l, l + c, b);
    if (p != l + c && *p == b) return n.first + static_cast<uint32_t>(p - l) + 1;
    return kNone;
  }

  int32_t value(uint32_t node) const { return nodes[node].value; }

  uint32_t walk(uint32_t node, std::string_view s) const {
    for (char ch : s) {
      node = step(node, static_cast<unsigned char>(ch));
      if (node == kNone) return kNone;
    }
    return node;
  }
};

}  // namespace bertrt::core::wordpiece
