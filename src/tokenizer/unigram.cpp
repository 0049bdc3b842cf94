// One text through a SentencePiece Unigram tokenizer (unigram.h), in one pass per piece of text
// between added tokens:
//   normalize()  the Precompiled charsmap per grapheme cluster (a cluster under 6 bytes is looked up
//                whole, else each character), with the alignments Hugging Face's
//                NormalizedString::transform gives: a character that replaces one takes that one's
//                range, one marked as inserted takes the range of the byte before it. Runs of ASCII
//                characters and lone characters that the charsmap keeps (a bit per character below
//                U+10000, Model::bmp_replaced) are copied without a lookup;
//   words        WhitespaceSplit, then Metaspace: "▁" before each word (it takes the word's first
//                character's range), the word split before each "▁";
//   segment()    the best-scoring segmentation of each piece (viterbi(), over the double-array
//                piece trie), unknown characters fused; remembered per thread for short pieces, as
//                Hugging Face's Unigram caches its results.
#include <utf8proc.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.h"
#include "tokenizer/char_classes.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace bertrt::core::unigram {

namespace {

using wordpiece::utf8_decode;
using Span = std::pair<std::size_t, std::size_t>;

bool is_space_cp(int32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  const auto cat = static_cast<utf8proc_category_t>(utf8proc_get_property(cp)->category);
  return wordpiece::is_whitespace(cp, cat);
}

// Length of the UTF-8 character that starts with byte c (the text and the charsmap's
// replacements are valid UTF-8).
std::size_t char_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

// The grapheme cluster break class of each character below U+10000 (utf8proc's), read once.
const uint8_t* bmp_boundclass() {
  static const std::vector<uint8_t> table = [] {
    std::vector<uint8_t> t(0x10000);
    for (int32_t cp = 0; cp < 0x10000; ++cp) t[static_cast<std::size_t>(cp)] = static_cast<uint8_t>(utf8proc_get_property(cp)->boundclass);
    return t;
  }();
  return table.data();
}

// One position of the Viterbi lattice: the best score of the text before it, where the last
// token of that segmentation starts (-1: not reached) and its id.
struct Lattice {
  double best;
  int64_t from;
  int32_t id;
};

// One token of a word's segmentation: its id and its bytes [begin, end) of the word.
struct PathToken {
  int32_t id;
  std::size_t begin, end;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view v) const noexcept { return std::hash<std::string_view>{}(v); }
};

// Words up to kCacheWordBytes are remembered per thread: their tokens, at [first, first + second)
// of tokens. Emptied when it holds kCacheEntries words or kCacheTokens tokens (a few MB at most),
// or when another model uses it.
constexpr std::size_t kCacheWordBytes = 255;
constexpr std::size_t kCacheEntries = 1 << 14;
constexpr std::size_t kCacheTokens = 1 << 17;

struct WordCache {
  uint64_t model = 0;  // Model::cache_id of the words held
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>, StringHash, std::equal_to<>> words;
  std::vector<PathToken> tokens;
  void clear() {
    words.clear();
    tokens.clear();
  }
};

struct Scratch {
  std::vector<AddedSplit> splits, splits_tmp;
  std::string norm, word;
  std::vector<Span> align, walign;
  std::vector<Lattice> lattice;
  std::size_t w0 = 0, prepended = 0;  // the word: normalized text from w0, after prepended bytes
  bool direct = false;                // ... with no spaces inside (walign unused)
  std::vector<PathToken> path;        // the best segmentation of one word
  WordCache cache;
};

struct Encoder {
  const Tokenizer::Impl& m;
  const Model& u;
  std::string_view text;
  TextOutput& out;
  std::size_t limit;
  Scratch& sc;
  const unsigned char* s;
  const bool* plain;  // per byte: an ASCII character other than CR that the charsmap keeps

  // The range of the text character holding byte k.
  Span char_range(std::size_t k) const {
    std::size_t a = k;
    while (a > 0 && (s[a] & 0xC0) == 0x80) --a;
    int32_t cp;
    return {a, a + utf8_decode(s, a, cp)};
  }

  // normalize() state: pos is the next unconsumed byte of the segment [b, e).
  std::size_t b = 0, e = 0, pos = 0;

  void consume() {
    if (b + pos < e) pos += char_range(b + pos).second - (b + pos);
  }

  void push(std::string_view c, long changes) {
    Span al;
    if (changes > 0) {
      al = pos < 1 ? Span{b, b} : char_range(b + pos - 1);
    } else {
      al = b + pos < e ? char_range(b + pos) : Span{e, e};
    }
    if (changes <= 0) consume();
    for (long k = 0; k < -changes; ++k) consume();
    sc.norm.append(c);
    sc.align.insert(sc.align.end(), c.size(), al);
  }

  // Pushes a replacement string for a chunk of old_count characters.
  void replace(std::string_view repl, long old_count) {
    if (repl.empty()) {  // removed: the chunk's characters are consumed without output
      for (long k = 0; k < old_count; ++k) consume();
      return;
    }
    long n = 0;
    for (std::size_t i = 0; i < repl.size();) {
      int32_t cp;
      i += utf8_decode(reinterpret_cast<const unsigned char*>(repl.data()), i, cp);
      ++n;
    }
    std::size_t i = 0;
    for (long k = 0; i < repl.size(); ++k) {
      int32_t cp;
      const std::size_t len = utf8_decode(reinterpret_cast<const unsigned char*>(repl.data()), i, cp);
      // The first character replaces the chunk's first (and removes the rest when the
      // replacement is shorter); the others are inserted after it.
      push(repl.substr(i, len), k == 0 ? std::min(0L, n - old_count) : 1);
      i += len;
    }
  }

  // Copies the ASCII characters from g on that are grapheme clusters of their own (the next
  // character is ASCII too; CR is never plain, for CR LF) and that the charsmap keeps, as push()
  // would one by one; returns where they stop.
  std::size_t ascii_run(std::size_t g) {
    if (b + pos != g) return g;  // the alignment is not at the text's position
    std::size_t h = g;
    while (h < e && plain[s[h]] && (h + 1 == e || s[h + 1] < 0x80)) ++h;
    sc.norm.append(text.substr(g, h - g));
    const std::size_t at = sc.align.size();
    sc.align.resize(at + (h - g));
    Span* al = sc.align.data() + at;
    for (std::size_t k = g; k < h; ++k) *al++ = {k, k + 1};
    pos += h - g;
    return h;
  }

  // End of the extended grapheme cluster that starts at g (first: its first character; chars: how
  // many it has). Two characters of grapheme class Other always break, so the pairs of those that
  // start a cluster are decided without utf8proc's state machine.
  std::size_t cluster_end(std::size_t g, int32_t& first, long& chars) const {
    const uint8_t* bc = bmp_boundclass();
    auto other = [bc](int32_t cp) { return cp < 0x10000 && bc[cp] == UTF8PROC_BOUNDCLASS_OTHER; };
    int32_t prev;
    std::size_t h = g + utf8_decode(s, g, prev);
    first = prev;
    utf8proc_int32_t state = 0;
    while (h < e) {
      int32_t cp;
      const std::size_t len = utf8_decode(s, h, cp);
      if (state == 0 && other(prev) && other(cp)) break;
      if (utf8proc_grapheme_break_stateful(prev, cp, &state)) break;
      prev = cp;
      h += len;
      ++chars;
    }
    return h;
  }

  void normalize(std::size_t begin, std::size_t end) {
    b = begin;
    e = end;
    pos = 0;
    sc.norm.clear();
    sc.align.clear();
    std::size_t g = begin;
    while (g < end) {
      g = ascii_run(g);
      if (g == end) break;
      int32_t first;
      long chars = 1;
      const std::size_t h = cluster_end(g, first, chars);
      std::string_view repl;
      if (chars == 1 && first < 0x10000 && !u.replaced_alone(first) && b + pos == g) {
        // A character the charsmap keeps, as push() would add it.
        sc.norm.append(text.substr(g, h - g));
        const std::size_t at = sc.align.size();
        sc.align.resize(at + (h - g));
        std::fill(sc.align.begin() + static_cast<std::ptrdiff_t>(at), sc.align.end(), Span{g, h});
        pos += h - g;
      } else if (h - g < 6 && u.charsmap_lookup(text.substr(g, h - g), repl)) {
        replace(repl, chars);
      } else {
        for (std::size_t k = g; k < h;) {
          int32_t cp;
          const std::size_t len = utf8_decode(s, k, cp);
          if (u.charsmap_lookup(text.substr(k, len), repl)) {
            replace(repl, 1);
          } else {
            push(text.substr(k, len), 0);
          }
          k += len;
        }
      }
      g = h;
    }
  }

  void emit(int64_t tid, std::size_t p0, std::size_t p1) {
    const std::string_view piece = std::string_view(sc.word).substr(p0, p1 - p0);
    if (tid == u.unk && piece != m.vocab[static_cast<std::size_t>(tid)]) {
      out.texts.push_back({out.ids.size(), std::string(piece)});
    }
    out.ids.push_back(tid);
    out.offsets.push_back(static_cast<int64_t>(span_at(p0).first));
    out.offsets.push_back(static_cast<int64_t>(span_at(p1 - 1).second));
  }

  // The text range of byte p of the word: from the word's own alignments, or (a word without
  // spaces inside) the first character's for the prepended replacement, else the normalized text's.
  Span span_at(std::size_t p) const {
    if (!sc.direct) return sc.walign[p];
    return p < sc.prepended ? sc.align[sc.w0] : sc.align[sc.w0 + p - sc.prepended];
  }

  // Best segmentation of word bytes [p0, p1).
  void viterbi(std::size_t p0, std::size_t p1) {
    const std::size_t n = p1 - p0;
    const auto* w = reinterpret_cast<const unsigned char*>(sc.word.data()) + p0;
    sc.lattice.assign(n + 1, Lattice{0.0, -1, -1});
    Lattice* lat = sc.lattice.data();
    auto offer = [lat](std::size_t at, std::size_t start, int32_t tid, double score) {
      const double cand = score + lat[start].best;
      if (lat[at].from < 0 || cand > lat[at].best) lat[at] = Lattice{cand, static_cast<int64_t>(start), tid};
    };
    for (std::size_t start = 0; start < n;) {
      const std::size_t mblen = std::min(char_len(w[start]), n - start);
      bool single = false;
      uint32_t node = 0;
      for (std::size_t k = start; k < n; ++k) {
        node = u.trie.step(node, w[k]);
        if (node == PieceTrie::kNone) break;
        const int32_t v = u.trie.value(node);
        if (v < 0) continue;
        offer(k + 1, start, v, u.scores[static_cast<std::size_t>(v)]);
        single = single || k + 1 - start == mblen;
      }
      if (!single) offer(start + mblen, start, u.unk, u.unk_score);
      start += mblen;
    }
    // Back from the end; neighbouring unknown tokens become one.
    auto& path = sc.path;
    path.clear();
    for (std::size_t at = n; at > 0;) {
      const auto st = static_cast<std::size_t>(lat[at].from);
      if (lat[at].id == u.unk && !path.empty() && path.back().id == u.unk) {
        path.back().begin = st;
      } else {
        path.push_back({lat[at].id, st, at});
      }
      at = st;
    }
    std::reverse(path.begin(), path.end());
  }

  // The tokens of word bytes [p0, p1): the best segmentation, remembered for short words.
  void segment(std::size_t p0, std::size_t p1) {
    const std::string_view key = std::string_view(sc.word).substr(p0, p1 - p0);
    WordCache& cache = sc.cache;
    if (key.size() <= kCacheWordBytes) {
      if (cache.model != u.cache_id.value) {
        cache.clear();
        cache.model = u.cache_id.value;
      }
      const auto it = cache.words.find(key);
      if (it != cache.words.end()) {
        emit_path(p0, cache.tokens.data() + it->second.first, it->second.second);
        return;
      }
    }
    viterbi(p0, p1);
    if (key.size() <= kCacheWordBytes) {
      if (cache.words.size() >= kCacheEntries || cache.tokens.size() >= kCacheTokens) cache.clear();
      cache.words.emplace(std::string(key), std::make_pair(cache.tokens.size(), sc.path.size()));
      cache.tokens.insert(cache.tokens.end(), sc.path.begin(), sc.path.end());
    }
    emit_path(p0, sc.path.data(), sc.path.size());
  }

  void emit_path(std::size_t p0, const PathToken* path, std::size_t count) {
    for (std::size_t k = 0; k < count && out.ids.size() < limit; ++k) {
      emit(path[k].id, p0 + path[k].begin, p0 + path[k].end);
    }
  }

  // Metaspace over one word of the normalized text, [w0, w1).
  void word(std::size_t w0, std::size_t w1) {
    sc.word.clear();
    sc.walign.clear();
    const std::string_view nv(sc.norm);
    const bool first_word = sc.align[w0].first == 0;
    const bool prepend = u.metaspace && (u.prepend == 0 || (u.prepend == 1 && first_word)) &&
                         nv.substr(w0, w1 - w0).substr(0, u.replacement.size()) != u.replacement;
    // The next space of [k, w1), or w1.
    auto space_from = [&](std::size_t k) {
      const void* sp = u.metaspace ? std::memchr(nv.data() + k, ' ', w1 - k) : nullptr;
      return sp == nullptr ? w1 : static_cast<std::size_t>(static_cast<const char*>(sp) - nv.data());
    };
    if (prepend) sc.word = u.replacement;
    sc.w0 = w0;
    sc.prepended = sc.word.size();
    sc.direct = space_from(w0) == w1;
    if (sc.direct) {
      sc.word.append(nv.substr(w0, w1 - w0));
      split_word();
      return;
    }
    if (prepend) sc.walign.assign(u.replacement.size(), sc.align[w0]);
    for (std::size_t k = w0; k < w1;) {
      // The bytes up to the next space, then the space as the replacement (Metaspace).
      const std::size_t j = space_from(k);
      sc.word.append(nv.substr(k, j - k));
      sc.walign.insert(sc.walign.end(), sc.align.begin() + static_cast<std::ptrdiff_t>(k),
                       sc.align.begin() + static_cast<std::ptrdiff_t>(j));
      if (j < w1) {
        sc.word += u.replacement;
        sc.walign.insert(sc.walign.end(), u.replacement.size(), sc.align[j]);
      }
      k = j + (j < w1 ? 1 : 0);
    }
    split_word();
  }

  // Metaspace's split of the word before each replacement (MergedWithNext).
  void split_word() {
    std::size_t start = 0;
    const std::string_view wv(sc.word);
    if (u.metaspace && u.split && !u.replacement.empty()) {
      for (std::size_t k = wv.find(u.replacement, 1); k != std::string_view::npos; k = wv.find(u.replacement, k + 1)) {
        segment(start, k);
        start = k;
      }
    }
    if (start < wv.size()) segment(start, wv.size());
  }

  void piece(std::size_t begin, std::size_t end) {
    if (begin == end) return;
    normalize(begin, end);
    const auto* p = reinterpret_cast<const unsigned char*>(sc.norm.data());
    const std::size_t n = sc.norm.size();
    std::size_t i = 0;
    auto space_at = [p](std::size_t k, std::size_t& len) {
      int32_t cp;
      len = utf8_decode(p, k, cp);
      return is_space_cp(cp);
    };
    while (i < n && out.ids.size() < limit) {
      std::size_t len = 0, j = n;
      if (u.whitespace_split) {
        if (space_at(i, len)) {
          i += len;
          continue;
        }
        for (j = i + len; j < n && !space_at(j, len);) j += len;
      }
      word(i, j);
      i = j;
    }
  }

  void run() {
    m.added.split_all(text, sc.splits, sc.splits_tmp);
    if (m.added.empty()) sc.splits.assign(1, AddedSplit{0, text.size(), -1});
    for (const AddedSplit& sp : sc.splits) {
      if (out.ids.size() >= limit) return;
      if (sp.token >= 0) {
        const AddedToken& t = m.added.tokens()[static_cast<std::size_t>(sp.token)];
        out.ids.push_back(t.id);
        out.offsets.push_back(static_cast<int64_t>(sp.begin));
        out.offsets.push_back(static_cast<int64_t>(sp.end));
      } else {
        piece(sp.begin, sp.end);
      }
    }
  }
};

}  // namespace

uint64_t Model::new_cache_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

void encode_text(const Tokenizer::Impl& m, std::string_view text, TextOutput& out, std::size_t limit) {
  thread_local Scratch scratch;
  Encoder enc{m, *m.unigram, text, out, limit, scratch, reinterpret_cast<const unsigned char*>(text.data()),
              m.unigram->plain_ascii.data()};
  enc.run();
}

}  // namespace bertrt::core::unigram
