// Construction of the vocabulary trie (vocab_trie.h): the strings are sorted once, then the nodes
// are created level by level, so that each node's children are consecutive and sorted by byte.
#include "tokenizer/vocab_trie.h"

#include <algorithm>
#include <iterator>
#include <numeric>

namespace bertrt::core::wordpiece {

void Trie::build(const std::vector<std::string>& vocab) {
  std::vector<uint32_t> order(vocab.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return vocab[a] < vocab[b]; });
  struct Item {
    uint32_t node, lo, hi, depth;
  };
  nodes.assign(1, Node{0, 0, -1});
  label.clear();
  std::vector<Item> queue;
  queue.push_back({0, 0, static_cast<uint32_t>(order.size()), 0});
  for (std::size_t q = 0; q < queue.size(); ++q) {
    Item it = queue[q];
    uint32_t lo = it.lo;
    // Keys that end here (equal strings: the later id wins, as in Hugging Face's loaders).
    while (lo < it.hi && vocab[order[lo]].size() == it.depth) {
      nodes[it.node].value = static_cast<int32_t>(order[lo]);
      ++lo;
    }
    nodes[it.node].first = static_cast<uint32_t>(label.size());
    uint32_t n_children = 0;
    while (lo < it.hi) {
      unsigned char b = static_cast<unsigned char>(vocab[order[lo]][it.depth]);
      uint32_t hi = lo + 1;
      while (hi < it.hi && static_cast<unsigned char>(vocab[order[hi]][it.depth]) == b) ++hi;
      uint32_t child = static_cast<uint32_t>(nodes.size());
      nodes.push_back(Node{0, 0, -1});
      label.push_back(b);  // label[child - 1]
      queue.push_back({child, lo, hi, it.depth + 1});
      ++n_children;
      lo = hi;
    }
    nodes[it.node].count = n_children;
  }
  std::fill(std::begin(root_child), std::end(root_child), kNone);
  for (uint32_t k = 0; k < nodes[0].count; ++k) root_child[label[nodes[0].first + k]] = nodes[0].first + k + 1;
}

}  // namespace bertrt::core::wordpiece
