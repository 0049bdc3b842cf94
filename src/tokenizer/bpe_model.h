// The BPE model of a byte-level tokenizer: the vocabulary's byte symbols and the merges, ranked.
// A word (the bytes of one pre-token) starts as one symbol per byte (the vocabulary entry of the
// byte's printable stand-in, e.g. "Ġ" for a space); the adjacent pair with the lowest merge rank
// is merged, leftmost first among equal pairs, until no pair has a merge. A priority queue keeps
// this O(n log n) in the word's length; a per-thread cache remembers short words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bertrt::core::bpe {

// The printable stand-in of each byte (GPT-2's bytes_to_unicode): bytes ! to ~, 0xA1 to 0xAC and
// 0xAE to 0xFF stand for themselves, the others for U+0100 onwards in byte order.
int32_t byte_to_char(unsigned char b) noexcept;
// The byte-level string of some bytes (UTF-8 of each byte's stand-in).
std::string byte_level_string(std::string_view bytes);

// One symbol of a word: a vocabulary id and the word's bytes [begin, end) it covers.
struct Symbol {
  int32_t id;
  uint32_t begin, end;
};

class Model {
 public:
  // vocab[i] is the token of id i; merges in rank order, each a pair of vocabulary tokens whose
  // concatenation is a vocabulary token. unk: id of the unknown token, or -1 (bytes without a
  // vocabulary entry are then dropped, as Hugging Face drops them). Throws BERTRT_ERROR_FORMAT for
  // a merge whose parts or result are not in the vocabulary.
  Model(const std::vector<std::string>& vocab, const std::vector<std::pair<std::string, std::string>>& merges,
        int32_t unk, bool ignore_merges);

  // Appends the symbols of the word w (its raw bytes) to out.
  void encode_word(std::string_view w, std::vector<Symbol>& out) const;

  std::size_t merge_count() const noexcept { return n_merges_; }

  // Leading and trailing characters of a vocabulary token that are 'Ġ' or whitespace (as offset
  // trimming counts them), counted once; kCountSpaces: that many or more, count them in the token.
  struct Spaces {
    uint8_t lead, trail;
  };
  static constexpr uint8_t kCountSpaces = 255;
  Spaces spaces(int32_t id) const noexcept {
    return static_cast<std::size_t>(id) < spaces_.size() ? spaces_[static_cast<std::size_t>(id)]
                                                         : Spaces{kCountSpaces, kCountSpaces};
  }
  uint64_t generation() const noexcept { return generation_; }

 private:
  struct Entry {
    uint64_t key;  // left id << 32 | right id; ~0: empty slot
    int32_t rank;
    int32_t merged;
  };
  const Entry* find(int32_t left, int32_t right) const noexcept;
  void insert(int32_t left, int32_t right, int32_t rank, int32_t merged);
  void merge_symbols(std::string_view w, std::vector<Symbol>& out) const;

  std::vector<Entry> table_;
  uint64_t mask_ = 0;
  std::size_t n_merges_ = 0;
  int32_t byte_id_[256];
  int32_t unk_ = -1;
  bool ignore_merges_ = false;
  std::unordered_map<std::string, int32_t> token_ids_;  // only with ignore_merges
  std::vector<Spaces> spaces_;                          // per id
  uint64_t generation_;                                 // tells this model's cache entries apart
};

// Fills out[i] with the Spaces of vocab[i] (byte_level.cpp).
void count_token_spaces(const std::vector<std::string>& vocab, std::vector<Model::Spaces>& out);

}  // namespace bertrt::core::bpe
