// Tokenizer::encode: one text or pair into an Encoding, in four steps:
//   check_arguments()  the truncation strategy, UTF-8 of both texts, max_length against the
//                      template;
//   tokenize_text()    each text into ids and byte offsets (WordPiece: TextTokenizer,
//                      text_tokenizer.cpp; BPE: bpe::encode_text, byte_level.cpp), in per-thread
//                      scratch lists;
//   truncate_counts()  how many tokens of each text are kept, as the Rust library truncates;
//   assemble()         the post-processor's template ("[CLS] A [SEP] B [SEP]",
//                      "<s> A </s></s> B </s>", ...) with token types, offsets ((0, 0) for template
//                      tokens), sequence ids and the token strings that differ from the vocabulary.
#include "tokenizer/tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "tokenizer/tokenizer_impl.h"

namespace bertrt::core {

namespace {

// Throws bertrt::Error for an unknown truncation strategy, a text that is not UTF-8, or a
// max_length too small for the n_special tokens of the template (in this order).
void check_arguments(std::string_view text, const std::string_view* pair, std::size_t max_length,
                     bertrt_truncation truncation, std::size_t n_special) {
  if (truncation != BERTRT_TRUNCATION_LONGEST_FIRST && truncation != BERTRT_TRUNCATION_ONLY_FIRST &&
      truncation != BERTRT_TRUNCATION_ONLY_SECOND) {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
                "unknown truncation strategy " + std::to_string(static_cast<int>(truncation)));
  }
  validate_utf8(text, "text");
  if (pair != nullptr) validate_utf8(*pair, "text_pair");
  if (max_length != 0 && max_length < n_special) {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "max_length " + std::to_string(max_length) +
                                                   " is smaller than the " + std::to_string(n_special) +
                                                   " special tokens the template adds");
  }
}

// Per-thread scratch for the token lists of the first and the second text, reused across calls so
// that large inputs do not pay for fresh memory twice (the Encoding is allocated once, at its
// final size).
struct Scratch {
  TextOutput a, b;
};

// This thread's scratch, emptied.
Scratch& thread_scratch() {
  thread_local Scratch scratch;
  scratch.a.clear();
  scratch.b.clear();
  // Release scratch memory that an unusually large input left behind.
  constexpr std::size_t kKeep = std::size_t{1} << 22;
  for (auto* v : {&scratch.a.ids, &scratch.a.offsets, &scratch.b.ids, &scratch.b.offsets}) {
    if (v->capacity() > kKeep) std::vector<int64_t>().swap(*v);
  }
  return scratch;
}

// One text into ids and byte offsets with the tokenizer's model, at most limit tokens.
void tokenize_text(const Tokenizer::Impl& m, std::string_view text, TextOutput& out, std::size_t limit) {
  if (m.kind == TokenizerKind::bpe) {
    bpe::encode_text(m, text, out, limit);
  } else if (m.kind == TokenizerKind::unigram) {
    unigram::encode_text(m, text, out, limit);
  } else {
    wordpiece::TextTokenizer(m, out.ids, out.offsets, limit).run(text);
  }
}

// Truncates a + b tokens (a of the first text, b of the second; b = 0 without a pair) to budget,
// which they exceed: a and b become the numbers of tokens kept. Throws where the Rust library
// refuses (only_second without a pair, only_first/only_second when that text is too short).
void truncate_counts(std::size_t& a, std::size_t& b, bool has_pair, std::size_t budget, std::size_t max_length,
                     bertrt_truncation truncation) {
  if (!has_pair) {
    if (truncation == BERTRT_TRUNCATION_ONLY_SECOND) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "truncation only_second needs a second text");
    }
    if (truncation == BERTRT_TRUNCATION_ONLY_FIRST && budget == 0) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "the text is too short to be truncated to max_length");
    }
    a = budget;
  } else if (truncation == BERTRT_TRUNCATION_LONGEST_FIRST) {
    const bool first_shorter = a <= b;
    const std::size_t s = first_shorter ? a : b;
    std::size_t keep_short, keep_long;
    if (2 * s <= budget) {
      keep_short = s;
      keep_long = budget - s;
    } else {
      keep_short = budget / 2;
      keep_long = budget - budget / 2;
    }
    a = first_shorter ? keep_short : keep_long;
    b = first_shorter ? keep_long : keep_short;
  } else {
    const std::size_t remove = a + b - budget;
    std::size_t& target = truncation == BERTRT_TRUNCATION_ONLY_FIRST ? a : b;
    if (target <= remove) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
                  std::string("the ") + (truncation == BERTRT_TRUNCATION_ONLY_FIRST ? "first" : "second") +
                      " text is too short to be truncated to max_length " + std::to_string(max_length));
    }
    target -= remove;
  }
}

// Appends a template token (offsets (0, 0), sequence id -1).
void append_special(Encoding& e, int64_t id, int64_t type) {
  e.ids.push_back(id);
  e.token_type_ids.push_back(type);
  e.offsets.push_back(0);
  e.offsets.push_back(0);
  e.sequence_ids.push_back(-1);
}

// Appends the first count tokens of a text (sequence id seq) with token type type.
void append_text(Encoding& e, const TextOutput& t, std::size_t count, int64_t type, int64_t seq) {
  const std::size_t base = e.ids.size();
  e.ids.insert(e.ids.end(), t.ids.begin(), t.ids.begin() + static_cast<std::ptrdiff_t>(count));
  e.token_type_ids.insert(e.token_type_ids.end(), count, type);
  e.offsets.insert(e.offsets.end(), t.offsets.begin(), t.offsets.begin() + static_cast<std::ptrdiff_t>(2 * count));
  e.sequence_ids.insert(e.sequence_ids.end(), count, seq);
  for (const TokenText& tt : t.texts) {
    if (tt.index < count) e.token_texts.push_back({base + tt.index, tt.text});
  }
}

// The template around the first a tokens of the first text and (has_pair) the first b of the second.
Encoding assemble(const Tokenizer::Impl& m, const Scratch& s, std::size_t a, std::size_t b, bool has_pair,
                  std::size_t n_special, bool with_template) {
  static const std::vector<TemplatePiece> kPlainSingle = {{0, 0, {}}};
  static const std::vector<TemplatePiece> kPlainPair = {{0, 0, {}}, {1, 1, {}}};
  Encoding e;
  const std::size_t total = a + b + n_special;
  e.ids.reserve(total);
  e.token_type_ids.reserve(total);
  e.offsets.reserve(2 * total);
  e.sequence_ids.reserve(total);
  const std::vector<TemplatePiece>& pieces =
      with_template ? (has_pair ? m.post.pair : m.post.single) : (has_pair ? kPlainPair : kPlainSingle);
  for (const TemplatePiece& p : pieces) {
    if (p.seq < 0) {
      for (int64_t id : p.ids) append_special(e, id, p.type_id);
    } else if (p.seq == 0) {
      append_text(e, s.a, a, p.type_id, 0);
    } else {
      append_text(e, s.b, b, p.type_id, 1);
    }
  }
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

}  // namespace

Encoding Tokenizer::encode(std::string_view text, const std::string_view* pair, std::size_t max_length,
                           bertrt_truncation truncation, bool add_special_tokens) const {
  const Impl& m = *impl_;
  std::size_t n_special = pair != nullptr ? m.post.n_pair : m.post.n_single;
  if (!add_special_tokens) n_special = 0;
  check_arguments(text, pair, max_length, truncation, n_special);
  const std::size_t budget = max_length == 0 ? 0 : max_length - n_special;

  Scratch& scratch = thread_scratch();
  // A single text is only tokenized until it is known to be longer than the budget.
  std::size_t limit_a = SIZE_MAX;
  if (max_length != 0 && pair == nullptr) limit_a = budget + 1;
  tokenize_text(m, text, scratch.a, limit_a);
  if (pair != nullptr) tokenize_text(m, *pair, scratch.b, SIZE_MAX);

  std::size_t a = scratch.a.ids.size(), b = scratch.b.ids.size();
  if (max_length != 0 && a + b > budget) truncate_counts(a, b, pair != nullptr, budget, max_length, truncation);
  return assemble(m, scratch, a, b, pair != nullptr, n_special, add_special_tokens);
}

}  // namespace bertrt::core
