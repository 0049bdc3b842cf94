// One text through a byte-level BPE tokenizer, in one pass:
//   1. added tokens (<s>, <mask>, ...) are found in the raw text (added_tokens.h);
//   2. each piece between them gets a prefix space (add_prefix_space, when it does not start with
//      one) and is split by the GPT-2 rules, the regex
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      written out by hand over Unicode classes (utf8proc): letters L*, numbers N*, whitespace
//      (White_Space), everything else;
//   3. each pre-token's bytes go through BPE (bpe_model.h);
//   4. each token gets the byte range of the whole characters it touches (a token holding part of
//      a character gets all of it) and, with trim_offsets, loses its leading and trailing spaces
//      (as Hugging Face's ByteLevel / RobertaProcessing post-processors trim them).
#include <utf8proc.h>

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/char_classes.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace bertrt::core::bpe {

namespace {

using wordpiece::utf8_decode;

enum CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };

CharClass class_from_tables(int32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return kLetter;
    if (cp >= '0' && cp <= '9') return kNumber;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return kSpace;
    return kOther;
  }
  const auto cat = static_cast<utf8proc_category_t>(utf8proc_get_property(cp)->category);
  if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) return kLetter;
  if (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) return kNumber;
  if (wordpiece::is_whitespace(cp, cat)) return kSpace;
  return kOther;
}

// The class of each character below U+10000, computed once.
const CharClass* bmp_classes() {
  static const std::vector<CharClass> table = [] {
    std::vector<CharClass> t(0x10000);
    for (int32_t cp = 0; cp < 0x10000; ++cp) t[static_cast<std::size_t>(cp)] = class_from_tables(cp);
    return t;
  }();
  return table.data();
}

CharClass class_of(int32_t cp) { return cp < 0x10000 ? bmp_classes()[cp] : class_from_tables(cp); }

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Number of leading (lead) or trailing characters of s that are 'Ġ' (a byte-level space) or
// whitespace, as the offset trimming counts them.
std::size_t count_spaces(std::string_view s, bool lead) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = 0, i = lead ? 0 : s.size();
  while (lead ? i < s.size() : i > 0) {
    std::size_t at = i;
    if (!lead) {
      at = i - 1;
      while (at > 0 && is_continuation(p[at])) --at;
    }
    int32_t cp;
    const std::size_t len = utf8_decode(p, at, cp);
    if (cp != 0x120 && class_of(cp) != kSpace) break;
    ++n;
    i = lead ? i + len : at;
  }
  return n;
}

struct Scratch {
  std::vector<AddedSplit> splits, splits_tmp;
  std::vector<Symbol> symbols;
  std::string work;
};

// The state of one call: the text, where its tokens go, and the piece being split.
struct Encoder {
  const Tokenizer::Impl& m;
  std::string_view text;
  TextOutput& out;
  std::size_t limit;
  Scratch& scratch;
  const unsigned char* s;  // text bytes
  const CharClass* classes;  // bmp_classes()
  // The piece being split: view v; without a prefix space v is text[base, end); with one, v is
  // " " + that and the space stands for the piece's first character.
  std::string_view v;
  std::size_t base = 0, end = 0, first_end = 0;
  bool prefixed = false;

  // Original byte of view position p (the first byte of its character in the text).
  std::size_t orig(std::size_t p) const { return prefixed ? (p == 0 ? base : base + p - 1) : base + p; }

  void emit(int64_t id, std::size_t start, std::size_t stop, std::string_view token) {
    if (m.post.trim_offsets) trim(count_spaces(token, true), count_spaces(token, false), start, stop);
    push(id, start, stop);
  }

  // A token of the BPE model: its spaces were counted when the model was built.
  void emit_symbol(int32_t id, std::size_t start, std::size_t stop) {
    if (m.post.trim_offsets) {
      const Model::Spaces sp = m.bpe->spaces(id);
      if (sp.lead == Model::kCountSpaces || sp.trail == Model::kCountSpaces) {
        const std::string_view token = m.vocab[static_cast<std::size_t>(id)];
        trim(count_spaces(token, true), count_spaces(token, false), start, stop);
      } else if (sp.lead != 0 || sp.trail != 0) {
        trim(sp.lead, sp.trail, start, stop);
      }
    }
    push(id, start, stop);
  }

  void push(int64_t id, std::size_t start, std::size_t stop) {
    out.ids.push_back(id);
    out.offsets.push_back(static_cast<int64_t>(start));
    out.offsets.push_back(static_cast<int64_t>(stop));
  }

  // Hugging Face's process_offsets, on byte offsets: the start moves past the token's leading
  // spaces (one per character), the end back before its trailing ones, never past each other.
  void trim(std::size_t lead, std::size_t trail, std::size_t& start, std::size_t& stop) const {
    if (lead > 0) {
      const bool first = out.ids.empty() || start == 0;
      if (first && m.post.trim_prefix_space && lead == 1) lead = 0;
      for (; lead > 0 && start < stop; --lead) {
        ++start;
        while (start < stop && is_continuation(s[start])) ++start;
      }
    }
    if (trail > 0) {
      std::size_t e = stop, k = trail;
      for (; k > 0 && e > 0; --k) {
        --e;
        while (e > 0 && is_continuation(s[e])) --e;
      }
      if (k == 0) stop = e < start ? start : e;  // only when the text has that many characters
    }
  }

  void word(std::size_t k0, std::size_t k1) {
    auto& syms = scratch.symbols;
    syms.clear();
    m.bpe->encode_word(v.substr(k0, k1 - k0), syms);
    for (const Symbol& sym : syms) {
      const std::size_t p0 = k0 + sym.begin, p1 = k0 + sym.end;
      std::size_t start = orig(p0);
      while (start > base && is_continuation(s[start])) --start;
      std::size_t stop;
      if (prefixed && p1 == 1) {
        stop = first_end;
      } else {
        stop = orig(p1 - 1) + 1;
        while (stop < end && is_continuation(s[stop])) ++stop;
      }
      emit_symbol(sym.id, start, stop);
      if (out.ids.size() >= limit) return;
    }
  }

  CharClass class_at(std::size_t i, std::size_t& len) const {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x80) {
      len = 1;
      return classes[c];
    }
    int32_t cp;
    len = utf8_decode(reinterpret_cast<const unsigned char*>(v.data()), i, cp);
    return cp < 0x10000 ? classes[cp] : class_from_tables(cp);
  }

  // End of the contraction ('s 't 're 've 'm 'll 'd) at v[i] == '\'', or 0.
  std::size_t contraction(std::size_t i) const {
    const std::size_t n = v.size();
    if (i + 1 >= n) return 0;
    const char a = v[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 >= n) return 0;
    const char b = v[i + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return 0;
  }

  // The GPT-2 split of v, each pre-token through word().
  void split() {
    const std::size_t n = v.size();
    std::size_t i = 0, len = 0, j;
    while (i < n && out.ids.size() < limit) {
      if (v[i] == '\'' && (j = contraction(i)) != 0) {
        word(i, j);
        i = j;
        continue;
      }
      CharClass run = class_at(i, len);
      std::size_t k = i;
      if (v[i] == ' ' && i + 1 < n) {
        const CharClass next = class_at(i + 1, len);
        if (next != kSpace) {
          run = next;
          k = i + 1;
        }
      }
      if (run != kSpace) {  // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
        for (j = k; j < n && class_at(j, len) == run;) j += len;
        word(i, j);
        i = j;
        continue;
      }
      std::size_t last = i;  // start of the run's last character
      for (j = i; j < n && class_at(j, len) == kSpace; j += len) last = j;
      // '\s+(?!\S)': the whole run at the end, else all but its last character; '\s+': one.
      const std::size_t stop = j == n ? n : (last > i ? last : j);
      word(i, stop);
      i = stop;
    }
  }

  void piece(std::size_t b, std::size_t e) {
    if (b == e) return;
    base = b;
    end = e;
    prefixed = m.bpe_add_prefix_space && s[b] != ' ';
    if (prefixed) {
      int32_t cp;
      first_end = b + utf8_decode(s, b, cp);
      scratch.work.assign(1, ' ');
      scratch.work.append(text.substr(b, e - b));
      v = scratch.work;
    } else {
      v = text.substr(b, e - b);
    }
    if (m.bpe_use_regex) {
      split();
    } else {
      word(0, v.size());
    }
  }

  void added(const AddedSplit& sp) {
    const AddedToken& t = m.added.tokens()[static_cast<std::size_t>(sp.token)];
    const std::string_view matched = text.substr(sp.begin, sp.end - sp.begin);
    if (t.id >= 0 && static_cast<std::size_t>(t.id) < m.vocab.size() && matched != m.vocab[static_cast<std::size_t>(t.id)]) {
      out.texts.push_back({out.ids.size(), std::string(matched)});
    }
    emit(t.id, sp.begin, sp.end, matched);
  }

  void run() {
    if (m.added.empty()) {
      piece(0, text.size());
      return;
    }
    m.added.split_all(text, scratch.splits, scratch.splits_tmp);
    for (const AddedSplit& sp : scratch.splits) {
      if (out.ids.size() >= limit) return;
      if (sp.token >= 0) {
        added(sp);
      } else {
        piece(sp.begin, sp.end);
      }
    }
  }
};

}  // namespace

void count_token_spaces(const std::vector<std::string>& vocab, std::vector<Model::Spaces>& out) {
  out.resize(vocab.size());
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    const std::size_t lead = count_spaces(vocab[i], true), trail = count_spaces(vocab[i], false);
    out[i].lead = static_cast<uint8_t>(std::min<std::size_t>(lead, Model::kCountSpaces));
    out[i].trail = static_cast<uint8_t>(std::min<std::size_t>(trail, Model::kCountSpaces));
  }
}

void encode_text(const Tokenizer::Impl& m, std::string_view text, TextOutput& out, std::size_t limit) {
  thread_local Scratch scratch;
  Encoder enc{m, text, out, limit, scratch, reinterpret_cast<const unsigned char*>(text.data()), bmp_classes(), {}};
  enc.run();
}

}  // namespace bertrt::core::bpe
