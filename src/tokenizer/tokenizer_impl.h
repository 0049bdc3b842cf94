// Internal state of the tokenizer, shared by its source files:
//   Tokenizer::Impl  the immutable state built by the constructor (tokenizer.cpp): vocabulary, trie,
//                    special tokens, ASCII tables;
//   TextTokenizer    the state of one call on one text, which turns the text into ids and offsets.
//
// Where each step of TextTokenizer lives (one pass over the text, linear in its length):
//   text_tokenizer.cpp  run(): special tokens matched in the raw bytes; segment(): the text between
//                       them, character by character: cleaning, CJK spacing, accent stripping,
//                       lowercasing (the normalizer) and collecting words (the pre-tokenizer,
//                       push() appends a character to the current word);
//   wordpiece.cpp       flush(): WordPiece over the finished word.
// A byte-level BPE tokenizer keeps its model in Impl::bpe (bpe_model.h) and tokenizes a text in
// byte_level.cpp; the template (post-processor) is shared by both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unigram.h"
#include "tokenizer/vocab_trie.h"

namespace bertrt::core {

// One piece of a post-processor template: a text (seq 0 or 1) or special tokens (seq -1, ids).
struct TemplatePiece {
  int seq = -1;
  int64_t type_id = 0;
  std::vector<int64_t> ids;
};

// What the post-processor adds around one text or a pair.
struct PostTemplate {
  std::vector<TemplatePiece> single, pair;
  std::size_t n_single = 0, n_pair = 0;  // special tokens each adds
  bool trim_offsets = false;             // ByteLevel / RobertaProcessing offset trimming
  bool trim_prefix_space = false;        // ... with add_prefix_space (keeps a first token's space)
};

// One text's tokens as a text tokenizer produces them (offsets: two a token, bytes of the text).
struct TextOutput {
  std::vector<int64_t> ids, offsets;
  std::vector<TokenText> texts;  // index: position in ids
  void clear() {
    ids.clear();
    offsets.clear();
    texts.clear();
  }
};

struct Tokenizer::Impl {
  TokenizerKind kind = TokenizerKind::wordpiece;
  PostTemplate post;
  std::unique_ptr<bpe::Model> bpe;  // kind bpe
  std::unique_ptr<unigram::Model> unigram;  // kind unigram
  AddedTokens added;                // kind bpe: matched before the pre-tokenizer
  bool bpe_add_prefix_space = false;  // ByteLevel pre-tokenizer: a space before each piece
  bool bpe_use_regex = true;          // ... and the GPT-2 split (else a piece is one word)
  std::vector<std::string> vocab;
  TokenizerConfig config;
  bool lowercase = true;
  bool strip = true;
  wordpiece::Trie trie;
  uint32_t cont_node = wordpiece::Trie::kNone;  // node of the continuation prefix "##"
  int64_t unk = -1, cls = -1, sep = -1, pad = 0, mask = -1;
  struct Special {
    std::string text;
    int64_t id;
  };
  std::vector<Special> specials;  // matched in the raw text
  bool special_first_byte[256] = {};
  uint8_t ascii_kind[128];  // wordpiece::AsciiKind of each ASCII character
  char ascii_map[128];      // each ASCII character after lowercasing (when enabled)

  int64_t lookup(std::string_view s) const {
    if (s.empty()) {
      return trie.value(0);
    }
    uint32_t n = trie.walk(0, s);
    return n == wordpiece::Trie::kNone ? -1 : trie.value(n);
  }
};

namespace wordpiece {

// Per-call scratch state: the word being collected and the output of one text.
struct TextTokenizer {
  const Tokenizer::Impl& t;
  std::vector<int64_t>& ids;
  std::vector<int64_t>& offsets;
  std::size_t limit;  // stop once this many tokens were produced

  std::string word;                   // normalized bytes of the current word
  std::vector<uint32_t> char_pos;     // byte position in word of each character
  std::vector<std::size_t> orig;      // per character: start, end in the input text
  std::vector<uint8_t> ccc;           // per character: canonical combining class (strip mode)
  std::size_t run_start = 0;          // first character that canonical reordering may move

  TextTokenizer(const Tokenizer::Impl& tk, std::vector<int64_t>& ids_out, std::vector<int64_t>& offsets_out,
                std::size_t max_tokens)
      : t(tk), ids(ids_out), offsets(offsets_out), limit(max_tokens) {
    word.reserve(64);
    char_pos.reserve(64);
    orig.reserve(128);
    ccc.reserve(64);
  }

  // Tokenizes a whole text: special tokens first, then the segments between them
  // (text_tokenizer.cpp).
  void run(std::string_view text);

  // Tokenizes text bytes [begin, end) that hold no special token (text_tokenizer.cpp).
  void segment(const unsigned char* s, std::size_t begin, std::size_t end);

  // The per-character steps of segment(), defined in text_tokenizer.cpp (inline: they are only
  // called there, and run for every non-ASCII character).
  inline void normalize_char(int32_t cp, std::size_t b0, std::size_t b1);
  inline void lower_and_pretokenize(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1);
  inline void pretokenize(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1);

  // Appends one normalized character (text bytes [b0, b1)) to the word (text_tokenizer.cpp).
  void push(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1);

  // WordPiece over the collected word, then starts a new word (wordpiece.cpp).
  void flush();

  void emit(int64_t id, std::size_t start, std::size_t end) {
    ids.push_back(id);
    offsets.push_back(static_cast<int64_t>(start));
    offsets.push_back(static_cast<int64_t>(end));
  }

  void clear_word() {
    word.clear();
    char_pos.clear();
    orig.clear();
    ccc.clear();
    run_start = 0;
  }
};

}  // namespace wordpiece

namespace bpe {
// Tokenizes one text with a byte-level BPE tokenizer into out, stopping once out holds limit
// tokens (byte_level.cpp).
void encode_text(const Tokenizer::Impl& m, std::string_view text, TextOutput& out, std::size_t limit);
}  // namespace bpe

namespace unigram {
// Tokenizes one text with a Unigram tokenizer into out (unigram.cpp).
void encode_text(const Tokenizer::Impl& m, std::string_view text, TextOutput& out, std::size_t limit);
}  // namespace unigram

// Builds the BERT template "[CLS] A [SEP]" / "[CLS] A [SEP] B [SEP]" (types 0 and 1) from
// m.cls and m.sep (tokenizer.cpp).
void set_bert_template(Tokenizer::Impl& m);

}  // namespace bertrt::core
