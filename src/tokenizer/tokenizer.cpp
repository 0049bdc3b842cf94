// The Tokenizer class: construction (vocabulary trie, special tokens, ASCII tables), reading a
// vocab.txt, and the vocabulary accessors. The rest of the class lives next door:
//   encode.cpp          Tokenizer::encode: checks, truncation, the template;
//   batch.cpp           encode_batch, pad, encode_batch_padded;
//   text_tokenizer.cpp  one text: special tokens, normalizer, pre-tokenizer (words);
//   wordpiece.cpp       one word: WordPiece over the vocabulary trie (vocab_trie.h/.cpp);
//   char_classes.h      Unicode and ASCII character classes;
//   utf8.h/.cpp         UTF-8 decoding, validation and byte-to-character offsets;
//   tokenizer_impl.h    the state those files share (Tokenizer::Impl, TextTokenizer);
//   tokenizer_json.cpp  from_json (tokenizer.json), tokenizer_files.cpp from_file, from_bpe_files;
//   byte_level.cpp, bpe_model.cpp, added_tokens.cpp  byte-level BPE.
// Everything is linear in the input length (WordPiece is bounded by the longest vocabulary entry).
#include "tokenizer/tokenizer.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/error.h"
#include "tokenizer/char_classes.h"
#include "tokenizer/tokenizer_impl.h"

namespace bertrt::core {

namespace {

// Ids of the template and padding tokens. Throws when the unknown, [CLS] or [SEP] token is missing.
void find_special_ids(Tokenizer::Impl& m) {
  m.unk = m.lookup(m.config.unk_token);
  m.cls = m.lookup(m.config.cls_token);
  m.sep = m.lookup(m.config.sep_token);
  if (m.unk < 0) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary has no unknown token '" + m.config.unk_token + "'");
  if (m.cls < 0) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary has no '" + m.config.cls_token + "' token");
  if (m.sep < 0) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary has no '" + m.config.sep_token + "' token");
  int64_t pad = m.lookup(m.config.pad_token);
  m.pad = pad < 0 ? 0 : pad;
  m.mask = m.lookup(m.config.mask_token);
}

// Special tokens: config.special_tokens, or [PAD] [UNK] [CLS] [SEP] [MASK]; those missing from the
// vocabulary are not special.
void collect_specials(Tokenizer::Impl& m) {
  std::vector<const std::string*> names;
  for (const std::string& t : m.config.special_tokens) names.push_back(&t);
  if (names.empty()) {
    names = {&m.config.pad_token, &m.config.unk_token, &m.config.cls_token, &m.config.sep_token,
             &m.config.mask_token};
  }
  for (const std::string* tok : names) {
    if (tok->empty()) continue;
    int64_t id = m.lookup(*tok);
    if (id < 0) continue;
    bool dup = false;
    for (const auto& sp : m.specials) dup = dup || sp.text == *tok;
    if (dup) continue;
    m.specials.push_back({*tok, id});
    m.special_first_byte[static_cast<unsigned char>((*tok)[0])] = true;
  }
}

// The kind of each ASCII character and its lowercase form (when lowercasing).
void fill_ascii_tables(Tokenizer::Impl& m) {
  for (int c = 0; c < 128; ++c) {
    m.ascii_kind[c] = wordpiece::ascii_kind_of(c);
    m.ascii_map[c] = static_cast<char>(m.lowercase && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
}

}  // namespace

void set_bert_template(Tokenizer::Impl& m) {
  PostTemplate& p = m.post;
  p.single = {{-1, 0, {m.cls}}, {0, 0, {}}, {-1, 0, {m.sep}}};
  p.pair = {{-1, 0, {m.cls}}, {0, 0, {}}, {-1, 0, {m.sep}}, {1, 1, {}}, {-1, 1, {m.sep}}};
  p.n_single = 2;
  p.n_pair = 3;
}

Tokenizer::Tokenizer(std::vector<std::string> vocab, TokenizerConfig config) : impl_(new Impl) {
  try {
    Impl& m = *impl_;
    if (config.strip_accents < -1 || config.strip_accents > 1) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "strip_accents must be -1, 0 or 1");
    }
    if (vocab.size() > static_cast<std::size_t>(INT32_MAX)) {
      throw Error(BERTRT_ERROR_FORMAT, "vocabulary too large");
    }
    m.vocab = std::move(vocab);
    m.config = std::move(config);
    m.lowercase = m.config.do_lower_case;
    m.strip = m.config.strip_accents < 0 ? m.config.do_lower_case : m.config.strip_accents == 1;
    m.trie.build(m.vocab);
    m.cont_node = m.trie.walk(0, m.config.continuing_subword_prefix);
    find_special_ids(m);
    set_bert_template(m);
    collect_specials(m);
    fill_ascii_tables(m);
  } catch (...) {
    delete impl_;
    throw;
  }
}

Tokenizer::~Tokenizer() { delete impl_; }
Tokenizer::Tokenizer(Tokenizer&& other) noexcept : impl_(other.impl_) { other.impl_ = nullptr; }
Tokenizer& Tokenizer::operator=(Tokenizer&& other) noexcept {
  if (this != &other) {
    delete impl_;
    impl_ = other.impl_;
    other.impl_ = nullptr;
  }
  return *this;
}

std::vector<std::string> Tokenizer::split_vocab(std::string_view contents) {
  std::vector<std::string> vocab;
  std::size_t pos = 0;
  while (pos < contents.size()) {
    std::size_t nl = contents.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? contents.size() : nl;
    std::size_t stop = end;
    if (stop > pos && contents[stop - 1] == '\r') --stop;
    vocab.emplace_back(contents.substr(pos, stop - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return vocab;
}

Tokenizer Tokenizer::from_vocab_file(const std::string& path, TokenizerConfig config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(BERTRT_ERROR_IO, "cannot open vocabulary file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(BERTRT_ERROR_IO, "cannot read vocabulary file '" + path + "'");
  std::vector<std::string> vocab = split_vocab(ss.str());
  if (vocab.empty()) throw Error(BERTRT_ERROR_FORMAT, "vocabulary file '" + path + "' is empty");
  return Tokenizer(std::move(vocab), std::move(config));
}

std::string_view Tokenizer::id_to_token(int64_t id) const noexcept {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->vocab.size()) return {};
  return impl_->vocab[static_cast<std::size_t>(id)];
}

const char* Tokenizer::id_to_token_cstr(int64_t id) const noexcept {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->vocab.size()) return nullptr;
  return impl_->vocab[static_cast<std::size_t>(id)].c_str();
}

int64_t Tokenizer::token_to_id(std::string_view token) const noexcept { return impl_->lookup(token); }

std::vector<std::string_view> Tokenizer::tokens(const Encoding& encoding) const {
  std::vector<std::string_view> out;
  out.reserve(encoding.ids.size());
  for (int64_t id : encoding.ids) out.push_back(id_to_token(id));
  for (const TokenText& t : encoding.token_texts) {
    if (t.index < out.size()) out[t.index] = t.text;
  }
  return out;
}

TokenizerKind Tokenizer::kind() const noexcept { return impl_->kind; }

std::size_t Tokenizer::vocab_size() const noexcept { return impl_->vocab.size(); }
int64_t Tokenizer::pad_id() const noexcept { return impl_->pad; }
int64_t Tokenizer::unk_id() const noexcept { return impl_->unk; }
int64_t Tokenizer::cls_id() const noexcept { return impl_->cls; }
int64_t Tokenizer::sep_id() const noexcept { return impl_->sep; }
int64_t Tokenizer::mask_id() const noexcept { return impl_->mask; }
const TokenizerConfig& Tokenizer::config() const noexcept { return impl_->config; }

}  // namespace bertrt::core
