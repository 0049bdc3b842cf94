// BERT WordPiece tokenizer; see tokenizer.h and tests/data/tokenizer-cases/README.md for the rules.
//
// One pass over the text: special tokens are found in the raw bytes, then every other character
// is cleaned, spaced (CJK), decomposed and stripped of non-spacing marks (when accents are
// stripped), lowercased, and fed to the pre-tokenizer, which collects words; each finished word
// goes straight to WordPiece, which walks a byte trie of the vocabulary for the longest match.
// Everything is linear in the input length (WordPiece is bounded by the longest vocabulary entry).
#include "tokenizer/tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>
#include <utility>

#include "common/error.h"

namespace bertrt::core {

// ------------------------------------------------------------------------------------ UTF-8

std::size_t find_invalid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII run, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;       // overlong
      else if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;       // overlong
      else if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;  // continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return n;
}

void validate_utf8(std::string_view text, const char* what) {
  std::size_t bad = find_invalid_utf8(text);
  if (bad != text.size()) {
    throw Error(BERTRT_ERROR_INVALID_UTF8,
                std::string(what) + " is not valid UTF-8: bad byte sequence at byte offset " + std::to_string(bad));
  }
}

namespace {

// Decodes the (already validated) character at s[i]; returns its length.
inline std::size_t decode(const unsigned char* s, std::size_t i, int32_t& cp) {
  unsigned c = s[i];
  if (c < 0x80) {
    cp = static_cast<int32_t>(c);
    return 1;
  }
  if (c < 0xE0) {
    cp = static_cast<int32_t>(((c & 0x1F) << 6) | (s[i + 1] & 0x3F));
    return 2;
  }
  if (c < 0xF0) {
    cp = static_cast<int32_t>(((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F));
    return 3;
  }
  cp = static_cast<int32_t>(((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) |
                            (s[i + 3] & 0x3F));
  return 4;
}

inline int encode(int32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// ------------------------------------------------------------------- character classes

// Rust's char::is_whitespace is the White_Space property, which is exactly the characters of
// categories Zs, Zl and Zp plus the controls U+0009..U+000D and U+0085.
inline bool is_whitespace(int32_t cp, utf8proc_category_t cat) {
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP ||
         (cp >= 0x09 && cp <= 0x0D) || cp == 0x85;
}

inline bool is_unicode_punct(utf8proc_category_t cat) {
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// Characters removed by text cleaning (besides NUL, which is Cc): U+FFFD and categories Cc, Cf,
// Co, Cs other than \t \n \r (which are ASCII and handled by the ASCII table).
inline bool is_removed(int32_t cp, utf8proc_category_t cat) {
  return cp == 0xFFFD || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO ||
         cat == UTF8PROC_CATEGORY_CS;
}

// The ranges BertNormalizer treats as Chinese characters (README: note 2B920, not 2B820).
inline bool is_chinese_char(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

enum AsciiKind : uint8_t { kRemove = 0, kSpace = 1, kPunct = 2, kWord = 3 };

// ---------------------------------------------------------------------------- byte trie

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

  void build(const std::vector<std::string>& vocab) {
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

}  // namespace

// ----------------------------------------------------------------------------- Impl

struct Tokenizer::Impl {
  std::vector<std::string> vocab;
  TokenizerConfig config;
  bool lowercase = true;
  bool strip = true;
  Trie trie;
  uint32_t cont_node = Trie::kNone;  // node of the continuation prefix "##"
  int64_t unk = -1, cls = -1, sep = -1, pad = 0, mask = -1;
  struct Special {
    std::string text;
    int64_t id;
  };
  std::vector<Special> specials;  // matched in the raw text
  bool special_first_byte[256] = {};
  uint8_t ascii_kind[128];
  char ascii_map[128];

  int64_t lookup(std::string_view s) const {
    if (s.empty()) {
      return trie.value(0);
    }
    uint32_t n = trie.walk(0, s);
    return n == Trie::kNone ? -1 : trie.value(n);
  }
};

namespace {

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

  // WordPiece over the collected word.
  void flush() {
    const std::size_t n_chars = char_pos.size();
    if (n_chars == 0) return;
    if (n_chars > t.config.max_input_chars_per_word) {
      emit(t.unk, orig[0], orig[2 * n_chars - 1]);
      clear_word();
      return;
    }
    const std::size_t mark = ids.size();
    const auto* w = reinterpret_cast<const unsigned char*>(word.data());
    const std::size_t n = word.size();
    std::size_t start = 0, ci = 0;
    bool bad = false;
    while (start < n) {
      uint32_t node = start == 0 ? 0u : t.cont_node;
      if (node == Trie::kNone && start != 0) {
        bad = true;
        break;
      }
      int32_t best = -1;
      std::size_t best_end = start;
      std::size_t i = start;
      while (i < n) {
        node = t.trie.step(node, w[i]);
        if (node == Trie::kNone) break;
        ++i;
        const int32_t v = t.trie.value(node);
        if (v >= 0 && (i == n || (w[i] & 0xC0) != 0x80)) {
          best = v;
          best_end = i;
        }
      }
      if (best < 0) {
        bad = true;
        break;
      }
      std::size_t cj = ci;
      while (cj < n_chars && char_pos[cj] < best_end) ++cj;
      emit(best, orig[2 * ci], orig[2 * (cj - 1) + 1]);
      ci = cj;
      start = best_end;
    }
    if (bad) {
      ids.resize(mark);
      offsets.resize(2 * mark);
      emit(t.unk, orig[0], orig[2 * n_chars - 1]);
    }
    clear_word();
  }

  // Appends one normalized character to the word; ccc > 0 only when accents are stripped, where
  // it is moved before earlier characters of higher class (NFD canonical ordering).
  void push(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1) {
    char buf[4];
    int len = encode(cp, buf);
    std::size_t n = char_pos.size();
    std::size_t p = n;
    // A word already longer than max_input_chars_per_word becomes [UNK] whatever its order, so
    // reordering stops there (which also bounds the insertion sort).
    if (cls > 0 && n <= t.config.max_input_chars_per_word) {
      while (p > run_start && ccc[p - 1] > cls) --p;
    }
    if (p == n) {
      char_pos.push_back(static_cast<uint32_t>(word.size()));
      word.append(buf, static_cast<std::size_t>(len));
      orig.push_back(b0);
      orig.push_back(b1);
      ccc.push_back(cls);
    } else {
      uint32_t at = char_pos[p];
      word.insert(at, buf, static_cast<std::size_t>(len));
      char_pos.insert(char_pos.begin() + static_cast<std::ptrdiff_t>(p), at);
      for (std::size_t k = p + 1; k <= n; ++k) char_pos[k] += static_cast<uint32_t>(len);
      orig.insert(orig.begin() + static_cast<std::ptrdiff_t>(2 * p), {b0, b1});
      ccc.insert(ccc.begin() + static_cast<std::ptrdiff_t>(p), cls);
    }
    if (cls == 0) run_start = char_pos.size();
  }

  // Pre-tokenizer step for one normalized character.
  void pretokenize(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1) {
    if (cp < 0x80) {
      uint8_t k = t.ascii_kind[cp];
      if (k == kWord || k == kRemove) {  // kRemove cannot come out of normalization; keep it safe
        push(cp, 0, b0, b1);
      } else if (k == kSpace) {
        flush();
      } else {
        flush();
        push(cp, 0, b0, b1);
        flush();
      }
      return;
    }
    utf8proc_category_t cat = static_cast<utf8proc_category_t>(utf8proc_get_property(cp)->category);
    if (is_whitespace(cp, cat)) {
      flush();
    } else if (is_unicode_punct(cat)) {
      flush();
      push(cp, 0, b0, b1);
      flush();
    } else {
      push(cp, cls, b0, b1);
    }
  }

  // Lowercasing (Rust's char::to_lowercase: full mapping, no context) then pre-tokenization.
  void lower_and_pretokenize(int32_t cp, uint8_t cls, std::size_t b0, std::size_t b1) {
    if (t.lowercase) {
      // utf8proc's lowercase mapping is the simple one. The full mapping differs from it for one
      // character only (the single unconditional lowercase entry of SpecialCasing.txt):
      // U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE -> U+0069 U+0307.
      if (cp == 0x130) {
        pretokenize(0x69, 0, b0, b1);
        pretokenize(0x307, 0, b0, b1);
        return;
      }
      cp = cp < 0x80 ? static_cast<int32_t>(static_cast<unsigned char>(t.ascii_map[cp])) : utf8proc_tolower(cp);
    }
    pretokenize(cp, cls, b0, b1);
  }

  // Normalizes the non-ASCII character cp (text bytes [b0, b1)).
  void normalize_char(int32_t cp, std::size_t b0, std::size_t b1) {
    const utf8proc_property_t* prop = utf8proc_get_property(cp);
    utf8proc_category_t cat = static_cast<utf8proc_category_t>(prop->category);
    if (is_removed(cp, cat)) return;
    if (is_whitespace(cp, cat)) {
      flush();
      return;
    }
    const bool chinese = t.config.tokenize_chinese_chars && is_chinese_char(cp);
    if (chinese) flush();
    if (t.strip) {
      utf8proc_int32_t dec[32];
      utf8proc_ssize_t nd = 1;
      dec[0] = cp;
      if (prop->decomp_seqindex != UINT16_MAX || (cp >= 0xAC00 && cp < 0xAC00 + 11172)) {
        nd = utf8proc_decompose_char(cp, dec, 32, UTF8PROC_DECOMPOSE, nullptr);
        if (nd < 0 || nd > 32) {
          dec[0] = cp;
          nd = 1;
        }
      }
      for (utf8proc_ssize_t k = 0; k < nd; ++k) {
        int32_t d = dec[k];
        const utf8proc_property_t* dp = d == cp ? prop : utf8proc_get_property(d);
        uint8_t cls = static_cast<uint8_t>(dp->combining_class);
        if (dp->category == UTF8PROC_CATEGORY_MN) {
          if (cls == 0) run_start = char_pos.size();
          continue;
        }
        lower_and_pretokenize(d, cls, b0, b1);
      }
    } else {
      lower_and_pretokenize(cp, 0, b0, b1);
    }
    if (chinese) flush();
  }

  // Tokenizes text bytes [begin, end) that hold no special token.
  void segment(const unsigned char* s, std::size_t begin, std::size_t end) {
    std::size_t i = begin;
    while (i < end) {
      unsigned c = s[i];
      if (c < 0x80) {
        switch (t.ascii_kind[c]) {
          case kWord: {
            // Whole ASCII run of word characters at once.
            std::size_t j = i;
            while (j < end && s[j] < 0x80 && t.ascii_kind[s[j]] == kWord) {
              char_pos.push_back(static_cast<uint32_t>(word.size()));
              word.push_back(t.ascii_map[s[j]]);
              orig.push_back(j);
              orig.push_back(j + 1);
              ccc.push_back(0);
              ++j;
            }
            run_start = char_pos.size();
            i = j;
            continue;
          }
          case kSpace:
            flush();
            break;
          case kPunct:
            flush();
            push(static_cast<int32_t>(c), 0, i, i + 1);
            flush();
            break;
          default:
            break;
        }
        ++i;
        if (ids.size() >= limit) return;
        continue;
      }
      int32_t cp;
      std::size_t len = decode(s, i, cp);
      normalize_char(cp, i, i + len);
      i += len;
      if (ids.size() >= limit) return;
    }
    flush();
  }

  // Tokenizes a whole text: special tokens first, then the segments between them.
  void run(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t seg = 0;
    std::size_t i = 0;
    if (!t.specials.empty()) {
      while (i < n && ids.size() < limit) {
        if (!t.special_first_byte[s[i]]) {
          ++i;
          continue;
        }
        const Tokenizer::Impl::Special* best = nullptr;
        for (const auto& sp : t.specials) {
          if (sp.text.size() <= n - i && std::memcmp(s + i, sp.text.data(), sp.text.size()) == 0 &&
              (best == nullptr || sp.text.size() > best->text.size())) {
            best = &sp;
          }
        }
        if (best == nullptr) {
          ++i;
          continue;
        }
        segment(s, seg, i);
        if (ids.size() >= limit) return;
        emit(best->id, i, i + best->text.size());
        i += best->text.size();
        seg = i;
      }
    }
    if (ids.size() < limit) segment(s, seg, n);
  }
};

}  // namespace

// -------------------------------------------------------------------------- Tokenizer

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
    m.cont_node = m.trie.walk(0, "##");
    m.unk = m.lookup(m.config.unk_token);
    m.cls = m.lookup(m.config.cls_token);
    m.sep = m.lookup(m.config.sep_token);
    if (m.unk < 0) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary has no unknown token '" + m.config.unk_token + "'");
    if (m.cls < 0) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary has no '" + m.config.cls_token + "' token");
    if (m.sep < 0) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary has no '" + m.config.sep_token + "' token");
    int64_t pad = m.lookup(m.config.pad_token);
    m.pad = pad < 0 ? 0 : pad;
    m.mask = m.lookup(m.config.mask_token);
    // Special tokens, in the order [PAD] [UNK] [CLS] [SEP] [MASK]; those missing from the
    // vocabulary are not special.
    for (const std::string* tok : {&m.config.pad_token, &m.config.unk_token, &m.config.cls_token,
                                   &m.config.sep_token, &m.config.mask_token}) {
      if (tok->empty()) continue;
      int64_t id = m.lookup(*tok);
      if (id < 0) continue;
      bool dup = false;
      for (const auto& sp : m.specials) dup = dup || sp.text == *tok;
      if (dup) continue;
      m.specials.push_back({*tok, id});
      m.special_first_byte[static_cast<unsigned char>((*tok)[0])] = true;
    }
    for (int c = 0; c < 128; ++c) {
      uint8_t kind;
      if (c == '\t' || c == '\n' || c == '\r' || c == ' ') {
        kind = kSpace;
      } else if (c < 0x20 || c == 0x7F) {
        kind = kRemove;  // Cc (NUL included); 0x0B and 0x0C are removed before the space mapping
      } else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
        kind = kPunct;
      } else {
        kind = kWord;
      }
      m.ascii_kind[c] = kind;
      m.ascii_map[c] = static_cast<char>(m.lowercase && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
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

Encoding Tokenizer::encode(std::string_view text, const std::string_view* pair, std::size_t max_length,
                           bertrt_truncation truncation) const {
  const Impl& m = *impl_;
  if (truncation != BERTRT_TRUNCATION_LONGEST_FIRST && truncation != BERTRT_TRUNCATION_ONLY_FIRST &&
      truncation != BERTRT_TRUNCATION_ONLY_SECOND) {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "unknown truncation strategy " + std::to_string(static_cast<int>(truncation)));
  }
  validate_utf8(text, "text");
  if (pair != nullptr) validate_utf8(*pair, "text_pair");
  const std::size_t n_special = pair != nullptr ? 3 : 2;
  if (max_length != 0 && max_length < n_special) {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "max_length " + std::to_string(max_length) +
                                                   " is smaller than the " + std::to_string(n_special) +
                                                   " special tokens the template adds");
  }
  const std::size_t budget = max_length == 0 ? 0 : max_length - n_special;

  // Per-thread scratch for the token lists, reused across calls so that large inputs do not pay
  // for fresh memory twice (the Encoding below is allocated once, at its final size).
  struct Scratch {
    std::vector<int64_t> ids_a, offs_a, ids_b, offs_b;
  };
  thread_local Scratch scratch;
  std::vector<int64_t>& ids_a = scratch.ids_a;
  std::vector<int64_t>& offs_a = scratch.offs_a;
  std::vector<int64_t>& ids_b = scratch.ids_b;
  std::vector<int64_t>& offs_b = scratch.offs_b;
  ids_a.clear();
  offs_a.clear();
  ids_b.clear();
  offs_b.clear();
  // Release scratch memory that an unusually large input left behind.
  constexpr std::size_t kKeep = std::size_t{1} << 22;
  for (auto* v : {&ids_a, &offs_a, &ids_b, &offs_b}) {
    if (v->capacity() > kKeep) std::vector<int64_t>().swap(*v);
  }
  // A single text is only tokenized until it is known to be longer than the budget.
  std::size_t limit_a = SIZE_MAX;
  if (max_length != 0 && pair == nullptr) limit_a = budget + 1;
  TextTokenizer(m, ids_a, offs_a, limit_a).run(text);
  if (pair != nullptr) TextTokenizer(m, ids_b, offs_b, SIZE_MAX).run(*pair);

  std::size_t a = ids_a.size(), b = ids_b.size();
  if (max_length != 0 && a + b > budget) {
    if (pair == nullptr) {
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

  Encoding e;
  const std::size_t total = a + b + n_special;
  e.ids.reserve(total);
  e.token_type_ids.reserve(total);
  e.offsets.reserve(2 * total);
  e.sequence_ids.reserve(total);
  auto special = [&](int64_t id, int64_t type) {
    e.ids.push_back(id);
    e.token_type_ids.push_back(type);
    e.offsets.push_back(0);
    e.offsets.push_back(0);
    e.sequence_ids.push_back(-1);
  };
  auto body = [&](const std::vector<int64_t>& ids, const std::vector<int64_t>& offs, std::size_t count, int64_t seq) {
    e.ids.insert(e.ids.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(count));
    e.token_type_ids.insert(e.token_type_ids.end(), count, seq);
    e.offsets.insert(e.offsets.end(), offs.begin(), offs.begin() + static_cast<std::ptrdiff_t>(2 * count));
    e.sequence_ids.insert(e.sequence_ids.end(), count, seq);
  };
  special(m.cls, 0);
  body(ids_a, offs_a, a, 0);
  special(m.sep, 0);
  if (pair != nullptr) {
    body(ids_b, offs_b, b, 1);
    special(m.sep, 1);
  }
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

std::vector<Encoding> Tokenizer::encode_batch(std::span<const std::string_view> texts,
                                              std::span<const std::string_view> pairs, std::size_t max_length,
                                              bertrt_truncation truncation) const {
  if (!pairs.empty() && pairs.size() != texts.size()) {
    throw Error(BERTRT_ERROR_SHAPE, "text pairs: " + std::to_string(pairs.size()) + " for " +
                                        std::to_string(texts.size()) + " texts");
  }
  std::vector<Encoding> out;
  out.reserve(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    out.push_back(encode(texts[i], pairs.empty() ? nullptr : &pairs[i], max_length, truncation));
  }
  return out;
}

BatchEncoding Tokenizer::pad(std::span<const Encoding> encodings, std::size_t width) const {
  std::size_t longest = 0;
  for (const auto& e : encodings) longest = std::max(longest, e.size());
  if (width == 0) {
    width = longest;
  } else if (longest > width) {
    throw Error(BERTRT_ERROR_SHAPE, "a row has " + std::to_string(longest) + " tokens, more than the padded length " +
                                        std::to_string(width));
  }
  BatchEncoding out;
  out.batch = encodings.size();
  out.seq_len = width;
  out.ids.assign(out.batch * width, impl_->pad);
  out.token_type_ids.assign(out.batch * width, 0);
  out.attention_mask.assign(out.batch * width, 0);
  for (std::size_t r = 0; r < encodings.size(); ++r) {
    const Encoding& e = encodings[r];
    std::copy(e.ids.begin(), e.ids.end(), out.ids.begin() + static_cast<std::ptrdiff_t>(r * width));
    std::copy(e.token_type_ids.begin(), e.token_type_ids.end(),
              out.token_type_ids.begin() + static_cast<std::ptrdiff_t>(r * width));
    std::copy(e.attention_mask.begin(), e.attention_mask.end(),
              out.attention_mask.begin() + static_cast<std::ptrdiff_t>(r * width));
  }
  return out;
}

BatchEncoding Tokenizer::encode_batch_padded(std::span<const std::string_view> texts,
                                             std::span<const std::string_view> pairs, std::size_t max_length,
                                             bertrt_truncation truncation, std::size_t pad_to) const {
  std::vector<Encoding> rows = encode_batch(texts, pairs, max_length, truncation);
  return pad(rows, pad_to);
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
  return out;
}

std::size_t Tokenizer::vocab_size() const noexcept { return impl_->vocab.size(); }
int64_t Tokenizer::pad_id() const noexcept { return impl_->pad; }
int64_t Tokenizer::unk_id() const noexcept { return impl_->unk; }
int64_t Tokenizer::cls_id() const noexcept { return impl_->cls; }
int64_t Tokenizer::sep_id() const noexcept { return impl_->sep; }
int64_t Tokenizer::mask_id() const noexcept { return impl_->mask; }
const TokenizerConfig& Tokenizer::config() const noexcept { return impl_->config; }

// ------------------------------------------------------------------------ char offsets

std::vector<int64_t> byte_to_char_offsets(std::string_view text, std::span<const int64_t> byte_offsets) {
  // index[b] = number of characters that start before byte b.
  std::vector<int64_t> index(text.size() + 1);
  int64_t chars = 0;
  for (std::size_t b = 0; b < text.size(); ++b) {
    if ((static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) {
      index[b] = chars;
      ++chars;
    } else {
      index[b] = chars - 1;  // inside a character: that character
    }
  }
  index[text.size()] = chars;
  std::vector<int64_t> out;
  out.reserve(byte_offsets.size());
  for (int64_t off : byte_offsets) {
    if (off < 0 || static_cast<std::size_t>(off) > text.size()) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "byte offset " + std::to_string(off) + " outside the text");
    }
    out.push_back(index[static_cast<std::size_t>(off)]);
  }
  return out;
}

std::vector<int64_t> encoding_char_offsets(const Encoding& encoding, std::string_view text,
                                           const std::string_view* pair) {
  std::vector<int64_t> out(encoding.offsets.size(), 0);
  for (int seq = 0; seq < 2; ++seq) {
    if (seq == 1 && pair == nullptr) break;
    std::string_view t = seq == 0 ? text : *pair;
    std::vector<int64_t> sel, where;
    for (std::size_t i = 0; i < encoding.sequence_ids.size(); ++i) {
      if (encoding.sequence_ids[i] != seq) continue;
      sel.push_back(encoding.offsets[2 * i]);
      sel.push_back(encoding.offsets[2 * i + 1]);
      where.push_back(static_cast<int64_t>(i));
    }
    std::vector<int64_t> conv = byte_to_char_offsets(t, sel);
    for (std::size_t k = 0; k < where.size(); ++k) {
      out[2 * static_cast<std::size_t>(where[k])] = conv[2 * k];
      out[2 * static_cast<std::size_t>(where[k]) + 1] = conv[2 * k + 1];
    }
  }
  return out;
}

}  // namespace bertrt::core
