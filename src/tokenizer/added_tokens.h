// Added tokens (the "added_tokens" of a tokenizer.json: <s>, </s>, <mask>, ...): found in the text
// before the pre-tokenizer, as Hugging Face's AddedVocabulary finds them. Matching is
// leftmost-longest; a token with single_word matches only between non-word characters; lstrip /
// rstrip make the match take the whitespace on its left / right. Tokens with normalized false are
// matched in the raw text first, then tokens with normalized true in the pieces between (this
// library's BPE has no normalizer, so both passes read the raw text).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bertrt::core {

struct AddedToken {
  std::string content;
  int64_t id = -1;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = true;
  bool special = false;
};

// A piece of the text: bytes [begin, end), an added token (token: its index) or plain text (-1).
struct AddedSplit {
  std::size_t begin, end;
  int token;
};

class AddedTokens {
 public:
  // Keeps the tokens with non-empty content; a content given twice keeps its first entry.
  void build(std::vector<AddedToken> tokens);
  bool empty() const noexcept { return tokens_.empty(); }
  const std::vector<AddedToken>& tokens() const noexcept { return tokens_; }
  // Appends the splits of text[begin, end) at the tokens whose normalized flag is normalized;
  // together they cover [begin, end).
  void split(std::string_view text, std::size_t begin, std::size_t end, bool normalized,
             std::vector<AddedSplit>& out) const;
  // Both passes over a whole text (no normalizer): the raw-text tokens, then the others in the gaps.
  void split_all(std::string_view text, std::vector<AddedSplit>& out, std::vector<AddedSplit>& scratch) const;

 private:
  std::vector<AddedToken> tokens_;
  // Per set (0: raw, 1: normalized) and first byte: token indices, longest content first.
  std::array<std::array<std::vector<uint32_t>, 256>, 2> by_first_;
  std::array<std::array<bool, 256>, 2> starts_{};  // some token of the set starts with the byte
};

}  // namespace bertrt::core
