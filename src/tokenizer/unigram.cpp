// One text through a SentencePiece Unigram tokenizer (unigram.h), in one pass per piece of text
// between added tokens:
//   normalize()  the Precompiled charsmap per grapheme cluster (a cluster under 6 bytes is looked up
//                whole, else each character), with the alignments Hugging Face's
//                NormalizedString::transform gives: a character that replaces one takes that one's
//                range, one marked as inserted takes the range of the byte before it;
//   words        WhitespaceSplit, then Metaspace: "▁" before each word (it takes the word's first
//                character's range), the word split before each "▁";
//   viterbi()    the best-scoring segmentation of each piece; unknown characters fused.
#include <utf8proc.h>

#include <algorithm>
#include <cstring>
#include <string>
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
  const auto cat = static_cast<utf8proc_category_t>(utf8proc_get_property(cp)->category);
  return wordpiece::is_whitespace(cp, cat);
}

struct Scratch {
  std::vector<AddedSplit> splits, splits_tmp;
  std::string norm, word;
  std::vector<Span> align, walign;
  std::vector<double> best;
  std::vector<int64_t> from, id;
  std::vector<Span> spans;  // backtracked tokens (reversed)
  std::vector<int64_t> span_ids;
};

struct Encoder {
  const Tokenizer::Impl& m;
  const Model& u;
  std::string_view text;
  TextOutput& out;
  std::size_t limit;
  Scratch& sc;
  const unsigned char* s;

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

  void normalize(std::size_t begin, std::size_t end) {
    b = begin;
    e = end;
    pos = 0;
    sc.norm.clear();
    sc.align.clear();
    std::size_t g = begin;
    while (g < end) {
      // One extended grapheme cluster [g, h).
      int32_t prev;
      std::size_t h = g + utf8_decode(s, g, prev);
      utf8proc_int32_t state = 0;
      long chars = 1;
      while (h < end) {
        int32_t cp;
        const std::size_t len = utf8_decode(s, h, cp);
        if (utf8proc_grapheme_break_stateful(prev, cp, &state)) break;
        prev = cp;
        h += len;
        ++chars;
      }
      std::string_view repl;
      if (h - g < 6 && u.charsmap_lookup(text.substr(g, h - g), repl)) {
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
    out.offsets.push_back(static_cast<int64_t>(sc.walign[p0].first));
    out.offsets.push_back(static_cast<int64_t>(sc.walign[p1 - 1].second));
  }

  // Best segmentation of word bytes [p0, p1).
  void viterbi(std::size_t p0, std::size_t p1) {
    const std::size_t n = p1 - p0;
    const auto* w = reinterpret_cast<const unsigned char*>(sc.word.data()) + p0;
    sc.best.assign(n + 1, 0.0);
    sc.from.assign(n + 1, -1);
    sc.id.assign(n + 1, -1);
    auto offer = [&](std::size_t at, std::size_t start, int64_t tid, double score) {
      const double cand = score + sc.best[start];
      if (sc.from[at] < 0 || cand > sc.best[at]) {
        sc.best[at] = cand;
        sc.from[at] = static_cast<int64_t>(start);
        sc.id[at] = tid;
      }
    };
    for (std::size_t start = 0; start < n;) {
      int32_t cp;
      const std::size_t mblen = utf8_decode(w, start, cp);
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
    auto& spans = sc.spans;
    auto& ids = sc.span_ids;
    spans.clear();
    ids.clear();
    for (std::size_t at = n; at > 0;) {
      const auto st = static_cast<std::size_t>(sc.from[at]);
      if (sc.id[at] == u.unk && !ids.empty() && ids.back() == u.unk) {
        spans.back().first = st;
      } else {
        spans.push_back({st, at});
        ids.push_back(sc.id[at]);
      }
      at = st;
    }
    for (std::size_t k = spans.size(); k-- > 0 && out.ids.size() < limit;) {
      emit(ids[k], p0 + spans[k].first, p0 + spans[k].second);
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
    if (prepend) {
      sc.word = u.replacement;
      sc.walign.assign(u.replacement.size(), sc.align[w0]);
    }
    for (std::size_t k = w0; k < w1; ++k) {
      if (u.metaspace && nv[k] == ' ') {
        sc.word += u.replacement;
        sc.walign.insert(sc.walign.end(), u.replacement.size(), sc.align[k]);
      } else {
        sc.word.push_back(nv[k]);
        sc.walign.push_back(sc.align[k]);
      }
    }
    // Split before each replacement (MergedWithNext).
    std::size_t start = 0;
    const std::string_view wv(sc.word);
    for (std::size_t k = 1; u.metaspace && u.split && k < wv.size(); ++k) {
      if (wv.compare(k, u.replacement.size(), u.replacement) == 0) {
        viterbi(start, k);
        start = k;
      }
    }
    if (start < wv.size()) viterbi(start, wv.size());
  }

  void piece(std::size_t begin, std::size_t end) {
    if (begin == end) return;
    normalize(begin, end);
    const auto* p = reinterpret_cast<const unsigned char*>(sc.norm.data());
    const std::size_t n = sc.norm.size();
    std::size_t i = 0;
    while (i < n && out.ids.size() < limit) {
      int32_t cp;
      std::size_t len = utf8_decode(p, i, cp);
      if (u.whitespace_split && is_space_cp(cp)) {
        i += len;
        continue;
      }
      std::size_t j = i;
      while (j < n) {
        len = utf8_decode(p, j, cp);
        if (u.whitespace_split && is_space_cp(cp)) break;
        j += len;
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

void encode_text(const Tokenizer::Impl& m, std::string_view text, TextOutput& out, std::size_t limit) {
  thread_local Scratch scratch;
  Encoder enc{m, *m.unigram, text, out, limit, scratch, reinterpret_cast<const unsigned char*>(text.data())};
  enc.run();
}

void Model::set_charsmap(std::string_view blob) {
  if (blob.size() < 4) throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: precompiled_charsmap is too short");
  uint32_t trie_size;
  std::memcpy(&trie_size, blob.data(), 4);
  if (trie_size % 4 != 0 || trie_size > blob.size() - 4) {
    throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: precompiled_charsmap has a bad trie size");
  }
  charsmap_units.resize(trie_size / 4);
  std::memcpy(charsmap_units.data(), blob.data() + 4, trie_size);
  charsmap_strings.assign(blob.substr(4 + trie_size));
}

bool Model::charsmap_lookup(std::string_view key, std::string_view& out) const {
  if (charsmap_units.empty()) return false;
  // darts-clone units: bit 8 has_leaf, bits 0-7 (and 31) label, offset in bits 10-30 (shifted
  // by 8 when bit 9 is set), value in bits 0-30.
  auto offset = [](uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); };
  const std::size_t n = charsmap_units.size();
  std::size_t node = offset(charsmap_units[0]);
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    node ^= c;
    if (node >= n) return false;
    const uint32_t unit = charsmap_units[node];
    if ((unit & ((1u << 31) | 0xFFu)) != c) return false;
    node ^= offset(unit);
    if (node >= n) return false;
    if ((unit >> 8) & 1u) {
      const std::size_t at = charsmap_units[node] & ((1u << 31) - 1);
      if (at >= charsmap_strings.size()) return false;
      const std::size_t stop = charsmap_strings.find('\0', at);
      out = std::string_view(charsmap_strings).substr(at, (stop == std::string::npos ? charsmap_strings.size() : stop) - at);
      return true;  // the first (shortest) match, as Hugging Face takes it
    }
  }
  return false;
}

std::string base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: precompiled_charsmap is not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace bertrt::core::unigram
