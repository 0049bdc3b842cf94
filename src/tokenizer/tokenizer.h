// Tokenizers that reproduce Hugging Face's Rust `tokenizers` library:
//   - BERT WordPiece as configured by BertTokenizerFast: BertNormalizer (clean text, space out CJK
//     ideographs, optional accent stripping and lowercasing, no NFC), BertPreTokenizer (split on
//     whitespace, isolate punctuation), WordPiece with "##" continuations, [PAD]/[UNK]/[CLS]/[SEP]/
//     [MASK] matched in the raw text, and the "[CLS] A [SEP] B [SEP]" template;
//   - byte-level BPE (GPT-2, RoBERTa): the ByteLevel pre-tokenizer (GPT-2 split rules, bytes mapped
//     to printable characters), merges by rank, added tokens with lstrip/rstrip, offsets trimmed of
//     spaces, RobertaProcessing "<s> A </s></s> B </s>" or a TemplateProcessing template;
//   - SentencePiece Unigram (T5, XLM-RoBERTa): the Precompiled charsmap normalizer, WhitespaceSplit
//     and Metaspace, the best segmentation by piece scores (unigram.h).
// Each is built from a Hugging Face tokenizer.json (tokenizer_json.cpp), which says which one;
// WordPiece also from a vocab.txt, BPE also from vocab.json + merges.txt (tokenizer_files.cpp).
// The exact rules are in tests/data/tokenizer-cases/README.md.
//
// A Tokenizer is immutable after construction; encode() may be called from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bertrt/bertrt.h"

namespace bertrt::core {

struct TokenizerConfig {
  bool do_lower_case = true;
  int strip_accents = -1;  // -1: follow do_lower_case; 0: never; 1: always
  bool tokenize_chinese_chars = true;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";
  std::size_t max_input_chars_per_word = 100;
  std::string continuing_subword_prefix = "##";
  // Tokens matched in the raw text before anything else (longest first). Empty: the five tokens
  // above that the vocabulary holds.
  std::vector<std::string> special_tokens;
};

// The algorithm behind a tokenizer.
enum class TokenizerKind { wordpiece, bpe, unigram };

// A token whose string is not the vocabulary entry of its id (an added token matched with the
// whitespace lstrip/rstrip took, whose string keeps that whitespace, as Hugging Face reports it).
struct TokenText {
  std::size_t index;  // position in the encoding
  std::string text;
};

// One encoded text or pair; all vectors except offsets have one entry per token.
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> token_type_ids;
  std::vector<int64_t> attention_mask;
  // Two entries per token: [start, end) in bytes of the token's own input text; (0, 0) for the
  // [CLS]/[SEP] the template adds.
  std::vector<int64_t> offsets;
  // 0 (first text), 1 (second text) or -1 (template special token).
  std::vector<int64_t> sequence_ids;
  // The few tokens whose string differs from id_to_token(id), in index order (usually empty).
  std::vector<TokenText> token_texts;

  std::size_t size() const noexcept { return ids.size(); }
};

// A batch padded to one width: row-major [batch, seq_len].
struct BatchEncoding {
  std::size_t batch = 0;
  std::size_t seq_len = 0;
  std::vector<int64_t> ids;
  std::vector<int64_t> token_type_ids;
  std::vector<int64_t> attention_mask;
};

class Tokenizer {
 public:
  // vocab[i] is the token of id i. Throws bertrt::Error (BERTRT_ERROR_FORMAT) when the unk, cls or
  // sep token is missing, (BERTRT_ERROR_INVALID_ARGUMENT) when strip_accents is not -1, 0 or 1.
  // When a token occurs twice, token_to_id() gives the later id (as Hugging Face's loaders do).
  Tokenizer(std::vector<std::string> vocab, TokenizerConfig config = {});
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Reads a vocab.txt: one token a line, lines split on '\n' only (a trailing '\r' is removed, as
  // both Python's universal-newline reader and Rust's lines() do for CRLF files; U+2028 and other
  // characters are kept). A final '\n' does not start another entry. Throws BERTRT_ERROR_IO.
  static Tokenizer from_vocab_file(const std::string& path, TokenizerConfig config = {});
  // Splits the contents of a vocab.txt as from_vocab_file() does.
  static std::vector<std::string> split_vocab(std::string_view contents);

  // A tokenizer from the text of a Hugging Face tokenizer.json: its model (WordPiece, BPE, Unigram),
  // normalizer, pre-tokenizer, post-processor and added tokens (its truncation and padding blocks
  // are ignored). Throws bertrt::Error: BERTRT_ERROR_FORMAT for JSON that does not parse or a
  // field of the wrong type, BERTRT_ERROR_UNSUPPORTED for a model type or component this library
  // does not implement (the message names it).
  static Tokenizer from_json(std::string_view tokenizer_json);
  // Byte-level BPE from the texts of a vocab.json ({token: id}) and a merges.txt (one "a b" merge
  // a line, an optional "#version" first line), assembled as RobertaTokenizerFast does: no
  // prefix space, trimmed offsets, "<mask>" with lstrip, and "<s> A </s></s> B </s>" when the
  // vocabulary has <s> and </s> (else no special tokens, as GPT-2). Throws BERTRT_ERROR_FORMAT.
  static Tokenizer from_bpe_files(std::string_view vocab_json, std::string_view merges_txt);
  // From a path: a tokenizer.json file, a vocab.txt file (uncased BERT), a vocab.json (with
  // merges.txt beside it), or a folder holding tokenizer.json, else vocab.json + merges.txt, else
  // vocab.txt (uncased unless tokenizer_config.json says do_lower_case false). Throws
  // BERTRT_ERROR_IO when nothing usable is there.
  static Tokenizer from_file(const std::string& path);

  // Encodes text (and *pair when pair is not null) with the BERT template. max_length 0: no
  // truncation; otherwise the result has at most max_length ids (special tokens included).
  // Throws bertrt::Error: BERTRT_ERROR_INVALID_UTF8 (message gives the byte offset),
  // BERTRT_ERROR_INVALID_ARGUMENT when max_length is smaller than the number of template tokens,
  // when the strategy cannot reach max_length (only_first/only_second with that text too short, as
  // the Rust library refuses) or when the truncation value is unknown.
  // add_special_tokens false: no template tokens (the texts alone, types 0 and 1), as Hugging
  // Face's add_special_tokens=False; offsets are still trimmed where the template trims them.
  Encoding encode(std::string_view text, const std::string_view* pair = nullptr, std::size_t max_length = 0,
                  bertrt_truncation truncation = BERTRT_TRUNCATION_LONGEST_FIRST,
                  bool add_special_tokens = true) const;

  // Encodes each row (pairs may be empty, or hold one entry per text).
  std::vector<Encoding> encode_batch(std::span<const std::string_view> texts,
                                     std::span<const std::string_view> pairs = {}, std::size_t max_length = 0,
                                     bertrt_truncation truncation = BERTRT_TRUNCATION_LONGEST_FIRST) const;
  // Encodes and pads to the longest row (pad_to 0) or to pad_to (a longer row throws
  // BERTRT_ERROR_SHAPE). Padding: pad id, token type 0, attention mask 0.
  BatchEncoding encode_batch_padded(std::span<const std::string_view> texts,
                                    std::span<const std::string_view> pairs = {}, std::size_t max_length = 0,
                                    bertrt_truncation truncation = BERTRT_TRUNCATION_LONGEST_FIRST,
                                    std::size_t pad_to = 0) const;
  // Pads encodings into [encodings.size(), width]; width 0: the longest. Throws BERTRT_ERROR_SHAPE
  // when a row is longer than a nonzero width.
  BatchEncoding pad(std::span<const Encoding> encodings, std::size_t width = 0) const;

  // The token string of an id; empty view when id is out of range.
  std::string_view id_to_token(int64_t id) const noexcept;
  // NUL-terminated token string of an id, or nullptr when out of range.
  const char* id_to_token_cstr(int64_t id) const noexcept;
  // The id of a token string, or -1.
  int64_t token_to_id(std::string_view token) const noexcept;
  // The token strings of an encoding (views into the vocabulary, or into encoding.token_texts).
  std::vector<std::string_view> tokens(const Encoding& encoding) const;
  TokenizerKind kind() const noexcept;

  // Number of vocabulary entries (the id range).
  std::size_t vocab_size() const noexcept;
  int64_t pad_id() const noexcept;  // 0 when the vocabulary has no pad token
  int64_t unk_id() const noexcept;  // -1 when the tokenizer has none (byte-level BPE may not)
  int64_t cls_id() const noexcept;
  int64_t sep_id() const noexcept;
  int64_t mask_id() const noexcept;  // -1 when absent
  const TokenizerConfig& config() const noexcept;

  struct Impl;  // opaque (defined in tokenizer_impl.h)

 private:
  explicit Tokenizer(Impl* impl) noexcept : impl_(impl) {}
  Impl* impl_;
};

// Throws bertrt::Error(BERTRT_ERROR_INVALID_UTF8) naming the first bad byte offset of text.
// what: how the text is named in the message ("text", "text_pair").
void validate_utf8(std::string_view text, const char* what = "text");
// Offset of the first byte that makes text invalid UTF-8, or text.size() when it is valid.
std::size_t find_invalid_utf8(std::string_view text) noexcept;

// Converts byte offsets into code-point offsets of the same (valid UTF-8) text. Each offset must be
// in [0, text.size()]; one inside a character maps to that character's index.
std::vector<int64_t> byte_to_char_offsets(std::string_view text, std::span<const int64_t> byte_offsets);
// The offsets of an encoding in code points: each token's pair is converted with the text its
// sequence id names (pair may be null for a single text); template tokens stay (0, 0).
std::vector<int64_t> encoding_char_offsets(const Encoding& encoding, std::string_view text,
                                           const std::string_view* pair = nullptr);

}  // namespace bertrt::core
