// Construction of the double-array piece trie (unigram_trie.h): the pieces are sorted once, then
// the nodes are placed breadth first; each node's children get the first base at which every one
// of their slots is free, found by walking a list of the free slots.
#include "tokenizer/unigram_trie.h"

#include <algorithm>
#include <cstddef>

namespace bertrt::core::unigram {

namespace {

// A node still to place: its slot, the sorted range of pieces below it and its depth.
struct Item {
  uint32_t node, lo, hi, depth;
};

// The free slots of the array as a doubly linked list in slot order; the array grows on demand.
class FreeSlots {
 public:
  explicit FreeSlots(std::size_t n) { grow(n); }

  std::size_t size() const { return used_.size(); }
  bool used(std::size_t s) const { return used_[s] != 0; }
  // The first free slot at or after the list's head, growing the array when the list is empty.
  std::size_t first() {
    if (head_ == kEnd) grow(used_.size() * 2);
    return head_;
  }
  std::size_t next(std::size_t s) {
    if (next_[s] == kEnd) grow(used_.size() * 2);
    return next_[s];
  }
  // Slots below n exist.
  void reserve(std::size_t n) {
    if (n >= used_.size()) grow(std::max(n + 1, used_.size() * 2));
  }
  void take(std::size_t s) {
    used_[s] = 1;
    if (trials_[s] < kMaxTrials) unlink(s);  // else it has left the list already
  }
  // A free slot tried as the first child's slot without success; after kMaxTrials of those it
  // leaves the list (it stays free), so that slots that never fit stop costing a scan each.
  void failed(std::size_t s) {
    if (++trials_[s] == kMaxTrials) unlink(s);
  }

 private:
  static constexpr uint32_t kEnd = ~uint32_t{0};
  static constexpr uint8_t kMaxTrials = 16;
  void unlink(std::size_t s) {
    const uint32_t p = prev_[s], n = next_[s];
    (p == kEnd ? head_ : next_[p]) = n;
    (n == kEnd ? tail_ : prev_[n]) = p;
  }

  void grow(std::size_t n) {
    const std::size_t old = used_.size();
    used_.resize(n, 0);
    trials_.resize(n, 0);
    next_.resize(n, kEnd);
    prev_.resize(n, kEnd);
    for (std::size_t s = old; s < n; ++s) {
      prev_[s] = tail_;
      (tail_ == kEnd ? head_ : next_[tail_]) = static_cast<uint32_t>(s);
      tail_ = static_cast<uint32_t>(s);
    }
  }
  std::vector<uint8_t> used_, trials_;
  std::vector<uint32_t> next_, prev_;
  uint32_t head_ = kEnd, tail_ = kEnd;
};

// The ids of pieces in byte order of their strings, equal strings in id order. The first eight
// bytes of each string, big-endian, are compared before the strings.
std::vector<uint32_t> sorted_order(const std::vector<std::string>& pieces) {
  struct Key {
    uint64_t head;
    uint32_t id;
  };
  std::vector<Key> keys(pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    uint64_t head = 0;
    const std::string& p = pieces[i];
    for (std::size_t k = 0; k < 8; ++k) head = (head << 8) | (k < p.size() ? static_cast<unsigned char>(p[k]) : 0u);
    keys[i] = {head, static_cast<uint32_t>(i)};
  }
  std::sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
    if (a.head != b.head) return a.head < b.head;
    const int c = pieces[a.id].compare(pieces[b.id]);
    return c != 0 ? c < 0 : a.id < b.id;
  });
  std::vector<uint32_t> order(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].id;
  return order;
}

}  // namespace

void PieceTrie::build(const std::vector<std::string>& pieces) {
  const std::vector<uint32_t> order = sorted_order(pieces);
  FreeSlots slots(512);
  slots.take(0);  // the root
  std::vector<Item> queue{{0, 0, static_cast<uint32_t>(order.size()), 0}};
  std::vector<uint8_t> labels;
  std::vector<uint32_t> bounds;
  auto byte_at = [&](uint32_t k, uint32_t depth) { return static_cast<uint8_t>(pieces[order[k]][depth]); };
  units_.assign(1, Unit{});
  for (std::size_t q = 0; q < queue.size(); ++q) {
    const Item it = queue[q];
    uint32_t lo = it.lo;
    for (; lo < it.hi && pieces[order[lo]].size() == it.depth; ++lo) {
      units_[it.node].value = it.depth == 0 ? -1 : static_cast<int32_t>(order[lo]);  // the later id wins
    }
    labels.clear();
    bounds.clear();
    for (uint32_t k = lo; k < it.hi; ++k) {
      if (k == lo || byte_at(k, it.depth) != labels.back()) {
        labels.push_back(byte_at(k, it.depth));
        bounds.push_back(k);
      }
    }
    if (labels.empty()) continue;
    bounds.push_back(it.hi);
    std::size_t base = 0;
    for (std::size_t p = slots.first();; p = slots.next(p)) {
      if (p < labels[0]) continue;
      base = p - labels[0];
      slots.reserve(base + 256);
      if (std::none_of(labels.begin(), labels.end(), [&](uint8_t l) { return slots.used(base + l); })) break;
      slots.failed(p);
    }
    if (units_.size() < slots.size()) units_.resize(slots.size());
    units_[it.node].base = static_cast<uint32_t>(base);
    for (std::size_t c = 0; c < labels.size(); ++c) {
      const auto child = static_cast<uint32_t>(base + labels[c]);
      slots.take(child);
      units_[child].check = it.node;
      queue.push_back({child, bounds[c], bounds[c + 1], it.depth + 1});
    }
  }
  // Every node's base + 255 stays inside the array (childless nodes have base 0).
  std::size_t top = 256;
  for (const Unit& u : units_) top = std::max<std::size_t>(top, u.base + 256);
  units_.resize(top);
}

}  // namespace bertrt::core::unigram
