// BPE merges (bpe_model.h): an open-addressing table from a pair of ids to (rank, merged id), and
// the merge loop over one word with a binary heap of (rank, position) candidates. Stale
// candidates (a side already merged away, or the pair changed) are skipped when popped.
#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <atomic>
#include <functional>

#include "common/error.h"
#include "tokenizer/utf8.h"

namespace bertrt::core::bpe {

namespace {

constexpr uint64_t kEmpty = ~uint64_t{0};

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

std::size_t slot_of(uint64_t key, uint64_t mask) {
  return static_cast<std::size_t>(((key * 0x9E3779B97F4A7C15ull) >> 20) & mask);
}

std::atomic<uint64_t> next_generation{1};

// Words up to kCacheWordBytes are cached per thread, their symbols at [first, first + second) of
// symbols; the cache is emptied when it holds kCacheEntries words or kCacheSymbols symbols (a few
// MB at most).
constexpr std::size_t kCacheWordBytes = 255;
constexpr std::size_t kCacheEntries = 1 << 15;
constexpr std::size_t kCacheSymbols = 1 << 18;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct WordCache {
  uint64_t generation = 0;
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>, StringHash, std::equal_to<>> words;
  std::vector<Symbol> symbols;
  void clear() {
    words.clear();
    symbols.clear();
  }
};

// Per-thread scratch of the merge loop.
struct MergeScratch {
  struct Node {
    int32_t id;
    int32_t prev, next;  // -1: none
    uint32_t begin, end;
  };
  std::vector<Node> nodes;
  std::vector<uint64_t> heap;  // rank << 32 | position, smallest on top
};

}  // namespace

int32_t byte_to_char(unsigned char b) noexcept {
  if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)) return b;
  // The others, in byte order, get U+0100, U+0101, ...
  int32_t n = 0;
  for (int c = 0; c < b; ++c) {
    if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE))) ++n;
  }
  return 256 + n;
}

std::string byte_level_string(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  char buf[4];
  for (char c : bytes) {
    int len = wordpiece::utf8_encode(byte_to_char(static_cast<unsigned char>(c)), buf);
    out.append(buf, static_cast<std::size_t>(len));
  }
  return out;
}

Model::Model(const std::vector<std::string>& vocab, const std::vector<std::pair<std::string, std::string>>& merges,
             int32_t unk, bool ignore_merges)
    : unk_(unk), ignore_merges_(ignore_merges), generation_(next_generation.fetch_add(1)) {
  std::unordered_map<std::string_view, int32_t> ids;
  ids.reserve(vocab.size() * 2);
  for (std::size_t i = 0; i < vocab.size(); ++i) ids[vocab[i]] = static_cast<int32_t>(i);
  for (int b = 0; b < 256; ++b) {
    char buf[4];
    int len = wordpiece::utf8_encode(byte_to_char(static_cast<unsigned char>(b)), buf);
    auto it = ids.find(std::string_view(buf, static_cast<std::size_t>(len)));
    byte_id_[b] = it == ids.end() ? -1 : it->second;
  }
  std::size_t cap = 16;
  while (cap < merges.size() * 2) cap *= 2;
  table_.assign(cap, Entry{kEmpty, 0, 0});
  mask_ = cap - 1;
  std::string joined;
  for (std::size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    joined = a + b;
    auto ia = ids.find(a), ib = ids.find(b), ij = ids.find(joined);
    if (ia == ids.end() || ib == ids.end() || ij == ids.end()) {
      throw Error(BERTRT_ERROR_FORMAT, "BPE merge " + std::to_string(r) + " ('" + a + "' '" + b +
                                           "') names a token that is not in the vocabulary");
    }
    // A pair listed twice keeps its first (lowest) rank.
    if (find(ia->second, ib->second) == nullptr) insert(ia->second, ib->second, static_cast<int32_t>(r), ij->second);
  }
  n_merges_ = merges.size();
  count_token_spaces(vocab, spaces_);
  if (ignore_merges_) {
    for (std::size_t i = 0; i < vocab.size(); ++i) token_ids_[vocab[i]] = static_cast<int32_t>(i);
  }
}

const Model::Entry* Model::find(int32_t left, int32_t right) const noexcept {
  const uint64_t key = pair_key(left, right);
  std::size_t s = slot_of(key, mask_);
  while (true) {
    const Entry& e = table_[s];
    if (e.key == key) return &e;
    if (e.key == kEmpty) return nullptr;
    s = (s + 1) & mask_;
  }
}

void Model::insert(int32_t left, int32_t right, int32_t rank, int32_t merged) {
  const uint64_t key = pair_key(left, right);
  std::size_t s = slot_of(key, mask_);
  while (table_[s].key != kEmpty) s = (s + 1) & mask_;
  table_[s] = Entry{key, rank, merged};
}

void Model::encode_word(std::string_view w, std::vector<Symbol>& out) const {
  if (w.empty()) return;
  if (ignore_merges_) {
    auto it = token_ids_.find(byte_level_string(w));
    if (it != token_ids_.end()) {
      out.push_back({it->second, 0, static_cast<uint32_t>(w.size())});
      return;
    }
  }
  if (w.size() > kCacheWordBytes) {
    merge_symbols(w, out);
    return;
  }
  thread_local WordCache cache;
  if (cache.generation != generation_) {
    cache.clear();
    cache.generation = generation_;
  }
  auto it = cache.words.find(w);
  if (it != cache.words.end()) {
    const auto from = cache.symbols.begin() + static_cast<std::ptrdiff_t>(it->second.first);
    out.insert(out.end(), from, from + static_cast<std::ptrdiff_t>(it->second.second));
    return;
  }
  const std::size_t first = out.size();
  merge_symbols(w, out);
  if (cache.words.size() >= kCacheEntries || cache.symbols.size() >= kCacheSymbols) cache.clear();
  cache.words.emplace(std::string(w), std::make_pair(cache.symbols.size(), out.size() - first));
  cache.symbols.insert(cache.symbols.end(), out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
}

void Model::merge_symbols(std::string_view w, std::vector<Symbol>& out) const {
  thread_local MergeScratch scratch;
  auto& nodes = scratch.nodes;
  auto& heap = scratch.heap;
  nodes.clear();
  heap.clear();
  const auto* s = reinterpret_cast<const unsigned char*>(w.data());
  for (std::size_t i = 0; i < w.size(); ++i) {
    int32_t id = byte_id_[s[i]];
    if (id < 0) {
      if (unk_ < 0) continue;  // dropped
      id = unk_;
    }
    const auto n = static_cast<int32_t>(nodes.size());
    nodes.push_back({id, n - 1, -1, static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)});
    if (n > 0) nodes[static_cast<std::size_t>(n) - 1].next = n;
  }
  const std::greater<uint64_t> cmp;
  auto push_pair = [&](int32_t pos) {
    const auto& a = nodes[static_cast<std::size_t>(pos)];
    if (a.next < 0) return;
    const Entry* e = find(a.id, nodes[static_cast<std::size_t>(a.next)].id);
    if (e == nullptr) return;
    heap.push_back((static_cast<uint64_t>(e->rank) << 32) | static_cast<uint32_t>(pos));
    std::push_heap(heap.begin(), heap.end(), cmp);
  };
  for (std::size_t i = 0; i + 1 < nodes.size(); ++i) push_pair(static_cast<int32_t>(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), cmp);
    const uint64_t top = heap.back();
    heap.pop_back();
    const auto pos = static_cast<int32_t>(top & 0xFFFFFFFFu);
    auto& a = nodes[static_cast<std::size_t>(pos)];
    if (a.id < 0 || a.next < 0) continue;
    auto& b = nodes[static_cast<std::size_t>(a.next)];
    const Entry* e = find(a.id, b.id);
    if (e == nullptr || static_cast<uint64_t>(e->rank) != (top >> 32)) continue;
    a.id = e->merged;
    a.end = b.end;
    a.next = b.next;
    if (b.next >= 0) nodes[static_cast<std::size_t>(b.next)].prev = pos;
    b.id = -1;
    if (a.prev >= 0) push_pair(a.prev);
    push_pair(pos);
  }
  for (int32_t k = nodes.empty() ? -1 : 0; k >= 0; k = nodes[static_cast<std::size_t>(k)].next) {
    const auto& n = nodes[static_cast<std::size_t>(k)];
    out.push_back({n.id, n.begin, n.end});
  }
}

}  // namespace bertrt::core::bpe
