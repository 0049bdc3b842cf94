// Unit tests for each tokenizer rule, on small hand-made vocabularies (so that every expected id
// is obvious) and on the shipped vocabularies.
#include <doctest/doctest.h>

#include <ctime>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/status.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_test_util.h"

// The tokenizer is moving from namespace bertrt to bertrt::core; this lets bertrt::core:: names
// find it in either place while both states exist.
namespace bertrt::core {
using namespace ::bertrt;
}  // namespace bertrt::core

using bertrt::core::Encoding;
using bertrt::core::Tokenizer;
using bertrt::core::TokenizerConfig;
using bertrt_test::tokenizer_for;
using bertrt_test::thread_cpu_seconds;
using bertrt::testing::status_of;

namespace {

// ids 0..4 are [PAD] [UNK] [CLS] [SEP] [MASK].
const std::vector<std::string> kSmallVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",              // 0-4
    "a", "b", "ab", "##b", "##c",                              // 5-9
    "hello", "world", "!", ",", "$",                           // 10-14
    "中", "\xE2\x82\xAC", "##a", "ß", "i",                     // 15-19: 中, €, ##a, ß, i
    "\xC3\xA9", "##\xC3\xA9", "h\xC3\xA9llo", "`", "[",        // 20-24: é, ##é, héllo, `, [
    "]", "mask", "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB",       // 25-27: ], mask, 한 as jamo
    "a\xF0\x9D\x85\xA5\xF0\x9D\x85\xAD",                       // 28: a U+1D165 U+1D16D
    "i\xCC\x87", "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x83",           // 29-30: i U+0307, οδοσ
    "\xC2\xBF", "h", "##e", "##l", "##o",                      // 31-35: ¿, h, ##e, ##l, ##o
    "a\xCD\xB8" "b",                                           // 36: a U+0378 b
};

Tokenizer small(bool lower = true, int strip = -1, bool chinese = true) {
  TokenizerConfig c;
  c.do_lower_case = lower;
  c.strip_accents = strip;
  c.tokenize_chinese_chars = chinese;
  return Tokenizer(kSmallVocab, c);
}

// The ids between [CLS] and the first [SEP].
std::vector<int64_t> body(const Tokenizer& t, std::string_view text) {
  Encoding e = t.encode(text);
  REQUIRE(e.ids.size() >= 2);
  REQUIRE(e.ids.front() == 2);
  REQUIRE(e.ids.back() == 3);
  return std::vector<int64_t>(e.ids.begin() + 1, e.ids.end() - 1);
}

std::vector<std::string> token_strings(const Tokenizer& t, const Encoding& e) {
  std::vector<std::string> out;
  for (auto s : t.tokens(e)) out.emplace_back(s);
  return out;
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("vocabulary: ids, lookups and special ids") {
  Tokenizer t = small();
  CHECK(t.vocab_size() == kSmallVocab.size());
  CHECK(t.token_to_id("hello") == 10);
  CHECK(t.token_to_id("##b") == 8);
  CHECK(t.token_to_id("nope") == -1);
  CHECK(t.token_to_id("") == -1);
  CHECK(t.id_to_token(11) == "world");
  CHECK(t.id_to_token(-1).empty());
  CHECK(t.id_to_token(1000).empty());
  CHECK(t.id_to_token_cstr(1000) == nullptr);
  CHECK(std::string(t.id_to_token_cstr(10)) == "hello");
  CHECK(t.pad_id() == 0);
  CHECK(t.unk_id() == 1);
  CHECK(t.cls_id() == 2);
  CHECK(t.sep_id() == 3);
  CHECK(t.mask_id() == 4);
}

TEST_CASE("vocabulary: a duplicated token maps to its later id") {
  std::vector<std::string> v = kSmallVocab;
  v.push_back("hello");
  Tokenizer t(v);
  CHECK(t.token_to_id("hello") == static_cast<int64_t>(v.size() - 1));
  CHECK(t.id_to_token(10) == "hello");
}

TEST_CASE("vocabulary: missing special tokens are reported") {
  std::vector<std::string> v = {"[PAD]", "[CLS]", "[SEP]", "a"};
  CHECK(status_of([&] { Tokenizer t(v); }) == BERTRT_ERROR_FORMAT);
  v.push_back("[UNK]");
  CHECK(status_of([&] { Tokenizer t(v); }) == BERTRT_OK);
  TokenizerConfig c;
  c.strip_accents = 2;
  CHECK(status_of([&] { Tokenizer t(v, c); }) == BERTRT_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("vocabulary file: split on \\n only; CRLF ends and U+2028 inside entries") {
  auto v = Tokenizer::split_vocab("a\nb\r\nc\xE2\x80\xA8" "d\n\ne\n");
  REQUIRE(v.size() == 5);
  CHECK(v[0] == "a");
  CHECK(v[1] == "b");
  CHECK(v[2] == "c\xE2\x80\xA8" "d");
  CHECK(v[3] == "");
  CHECK(v[4] == "e");
  CHECK(Tokenizer::split_vocab("x").size() == 1);
  CHECK(Tokenizer::split_vocab("").empty());

  // bert-base-chinese has entries with U+2028 (ids 343 and 13502); later ids must not shift.
  const Tokenizer& zh = tokenizer_for("bert-base-chinese");
  CHECK(zh.vocab_size() == 21128);
  CHECK(zh.id_to_token(343).find("\xE2\x80\xA8") != std::string_view::npos);
  CHECK(zh.id_to_token(13502).find("\xE2\x80\xA8") != std::string_view::npos);
  CHECK(zh.token_to_id("\xE6\x88\x91") == 2769);  // 我
  CHECK(zh.token_to_id("\xE7\x9A\x84") == 4638);  // 的
  CHECK(tokenizer_for("bert-base-uncased").vocab_size() == 30522);
  CHECK(tokenizer_for("bert-base-multilingual-cased@cased").vocab_size() == 119547);

  CHECK(status_of([] { Tokenizer::from_vocab_file("/nonexistent/vocab.txt"); }) == BERTRT_ERROR_IO);
}

TEST_CASE("empty and whitespace-only input give [CLS] [SEP]") {
  Tokenizer t = small();
  for (std::string_view s : {"", " ", "\t\n\r  ", "\xE3\x80\x80", "\xC2\xA0", "\x01\x02"}) {
    Encoding e = t.encode(s);
    CHECK(e.ids == std::vector<int64_t>{2, 3});
    CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 0});
    CHECK(e.sequence_ids == std::vector<int64_t>{-1, -1});
  }
  std::string_view empty;
  Encoding p = t.encode("", &empty);
  CHECK(p.ids == std::vector<int64_t>{2, 3, 3});
  CHECK(p.token_type_ids == std::vector<int64_t>{0, 0, 1});
}

TEST_CASE("cleaning: removed, kept and whitespace characters") {
  Tokenizer t = small();
  CHECK(body(t, std::string("a\0b", 3)) == std::vector<int64_t>{7});  // NUL removed: "ab"
  CHECK(body(t, "a\xEF\xBF\xBD" "b") == std::vector<int64_t>{7});     // U+FFFD
  CHECK(body(t, "a\xE2\x80\x8B" "b") == std::vector<int64_t>{7});     // U+200B (Cf)
  CHECK(body(t, "a\xEE\x80\x80" "b") == std::vector<int64_t>{7});     // U+E000 (Co)
  CHECK(body(t, "a\x7F" "b") == std::vector<int64_t>{7});             // DEL (Cc)
  CHECK(body(t, "a\x0B" "b") == std::vector<int64_t>{7});             // VT is Cc: removed, not a space
  CHECK(body(t, "a\x0C" "b") == std::vector<int64_t>{7});             // FF likewise
  CHECK(body(t, "a\xC2\x85" "b") == std::vector<int64_t>{7});         // U+0085 likewise
  CHECK(body(t, "a\tb") == std::vector<int64_t>{5, 6});
  CHECK(body(t, "a\r\nb") == std::vector<int64_t>{5, 6});
  CHECK(body(t, "a\xC2\xA0" "b") == std::vector<int64_t>{5, 6});      // U+00A0 (Zs)
  CHECK(body(t, "a\xE2\x80\xA8" "b") == std::vector<int64_t>{5, 6});  // U+2028 (Zl)
  CHECK(body(t, "a\xE3\x80\x80" "b") == std::vector<int64_t>{5, 6});  // U+3000
  // Unassigned code points (Cn) are kept: "a U+0378 b" is entry 36.
  CHECK(body(t, "a\xCD\xB8" "b") == std::vector<int64_t>{36});
}

TEST_CASE("CJK: ideographs are spaced out, only in the listed ranges") {
  Tokenizer t = small();
  CHECK(body(t, "ab\xE4\xB8\xAD" "b") == std::vector<int64_t>{7, 15, 6});  // ab 中 b
  Tokenizer no_cjk = small(true, -1, false);
  CHECK(body(no_cjk, "ab\xE4\xB8\xAD" "b") == std::vector<int64_t>{1});     // one word: [UNK]
  // U+2B820 is outside the ranges (Python starts at 2B820, Rust at 2B920): stays in the word.
  CHECK(body(t, "a\xF0\xAB\xA0\xA0") == std::vector<int64_t>{1});
  CHECK(body(t, "a\xF0\xAB\xA4\xA0") == std::vector<int64_t>{5, 1});       // U+2B920 is split
  CHECK(body(t, "a\xF0\xAB\xA0\x9F") == std::vector<int64_t>{5, 1});       // U+2B81F is split
  CHECK(body(t, "a\xE3\x90\x80" "b") == std::vector<int64_t>{5, 1, 6});    // U+3400
}

TEST_CASE("accents: NFD then drop Mn, only when stripping; no NFC") {
  Tokenizer uncased = small();
  CHECK(body(uncased, "H\xC3\xA9llo") == std::vector<int64_t>{10});          // Héllo -> hello
  CHECK(body(uncased, "He\xCC\x81llo") == std::vector<int64_t>{10});         // decomposed too
  Tokenizer keep = small(true, 0);
  CHECK(body(keep, "H\xC3\xA9llo") == std::vector<int64_t>{22});             // héllo
  Tokenizer cased = small(false, 0);
  CHECK(body(cased, "h\xC3\xA9llo") == std::vector<int64_t>{22});
  CHECK(body(cased, "he\xCC\x81llo") == std::vector<int64_t>{1});            // no NFC: [UNK]
  Tokenizer strip_only = small(false, 1);
  CHECK(body(strip_only, "h\xC3\xA9llo") == std::vector<int64_t>{10});
  // Hangul syllables decompose into jamo (Lo, kept) when stripping.
  CHECK(body(uncased, "\xED\x95\x9C") == std::vector<int64_t>{27});
  CHECK(body(cased, "\xED\x95\x9C") == std::vector<int64_t>{1});
  // Canonical ordering: U+1D16D (ccc 226) before U+1D165 (ccc 216) is reordered by NFD; both are
  // spacing marks (Mc) and survive the stripping.
  CHECK(body(uncased, "a\xF0\x9D\x85\xAD\xF0\x9D\x85\xA5") == std::vector<int64_t>{28});
  CHECK(body(uncased, "a\xF0\x9D\x85\xA5\xF0\x9D\x85\xAD") == std::vector<int64_t>{28});
  // ...but a starter between them blocks the reordering (U+0300 is Mn ccc 230: it is dropped, not
  // a starter, so it does not block).
  CHECK(body(uncased, "a\xF0\x9D\x85\xAD\xCC\x80\xF0\x9D\x85\xA5") == std::vector<int64_t>{28});
  // U+212B ANGSTROM SIGN: NFD gives A + ring, so uncased gives "a".
  CHECK(body(uncased, "\xE2\x84\xAB") == std::vector<int64_t>{5});
}

TEST_CASE("lowercasing: full mappings per character, no final sigma") {
  Tokenizer lower_keep_accents = small(true, 0);
  CHECK(body(lower_keep_accents, "\xC4\xB0") == std::vector<int64_t>{29});  // İ -> i U+0307
  Tokenizer uncased = small();
  CHECK(body(uncased, "\xC4\xB0") == std::vector<int64_t>{19});             // İ -> I (strip) -> i
  CHECK(body(uncased, "\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3") == std::vector<int64_t>{30});  // ΟΔΟΣ -> οδοσ
  CHECK(body(uncased, "\xC3\x9F") == std::vector<int64_t>{18});             // ß stays ß
  CHECK(body(uncased, "HELLO World") == std::vector<int64_t>{10, 11});
  Tokenizer cased = small(false, 0);
  CHECK(body(cased, "HELLO") == std::vector<int64_t>{1});
}

TEST_CASE("punctuation: ASCII punctuation and Unicode P* are isolated") {
  Tokenizer t = small();
  CHECK(body(t, "hello, world!") == std::vector<int64_t>{10, 13, 11, 12});
  CHECK(body(t, "a$b") == std::vector<int64_t>{5, 14, 6});                  // $ is ASCII punctuation (Sc)
  CHECK(body(t, "a\xC2\xBF" "b") == std::vector<int64_t>{5, 31, 6});        // ¿ (Po)
  CHECK(body(t, "a\xE2\x82\xAC" "b") == std::vector<int64_t>{1});           // € (Sc, not ASCII): a word
  CHECK(body(t, "!!") == std::vector<int64_t>{12, 12});
  // U+1FEF (Sk) decomposes to '`' (ASCII punctuation) when stripping accents.
  CHECK(body(t, "a\xE1\xBF\xAF" "b") == std::vector<int64_t>{5, 23, 6});
  Tokenizer cased = small(false, 0);
  CHECK(body(cased, "a\xE1\xBF\xAF" "b") == std::vector<int64_t>{1});
}

TEST_CASE("special tokens: matched in the raw text, case-sensitively, never split") {
  Tokenizer t = small();
  Encoding e = t.encode("a[MASK]b");
  CHECK(e.ids == std::vector<int64_t>{2, 5, 4, 6, 3});
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 1, 1, 7, 7, 8, 0, 0});
  CHECK(e.sequence_ids == std::vector<int64_t>{-1, 0, 0, 0, -1});
  CHECK(body(t, "[mask]") == std::vector<int64_t>{24, 26, 25});  // ordinary text
  CHECK(body(t, "[MASK") == std::vector<int64_t>{24, 26});       // not a special token: "[", "mask"
  CHECK(body(t, "[CLS][SEP][PAD][UNK]") == std::vector<int64_t>{2, 3, 0, 1});
  CHECK(body(t, "x[CLS]") == std::vector<int64_t>{1, 2});
  // Cleaning happens after the match: a format character inside stops the match.
  CHECK(body(t, "[MA\xE2\x80\x8BSK]") == std::vector<int64_t>{24, 26, 25});
  Tokenizer cased = small(false, 0);
  CHECK(body(cased, "[MASK]hello") == std::vector<int64_t>{4, 10});
}

TEST_CASE("WordPiece: greedy longest match with ## continuations") {
  Tokenizer t = small();
  CHECK(body(t, "ab") == std::vector<int64_t>{7});       // longest first piece
  CHECK(body(t, "abc") == std::vector<int64_t>{7, 9});   // ab ##c
  CHECK(body(t, "abbc") == std::vector<int64_t>{7, 8, 9});
  CHECK(body(t, "acb") == std::vector<int64_t>{5, 9, 8});
  CHECK(body(t, "abd") == std::vector<int64_t>{1});      // no full match: one [UNK]
  CHECK(body(t, "helo") == std::vector<int64_t>{32, 33, 34, 35});
  Encoding e = tokenizer_for("bert-base-uncased").encode("unaffable");
  CHECK(token_strings(tokenizer_for("bert-base-uncased"), e) ==
        std::vector<std::string>{"[CLS]", "una", "##ffa", "##ble", "[SEP]"});
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 3, 3, 6, 6, 9, 0, 0});
}

TEST_CASE("WordPiece: words over 100 characters (after normalization) are [UNK]") {
  Tokenizer t = small();
  auto a_run = [](std::size_t n) {
    std::vector<int64_t> ids{5};
    ids.insert(ids.end(), n - 1, 17);  // a ##a ##a ...
    return ids;
  };
  CHECK(body(t, repeat("a", 100)) == a_run(100));
  CHECK(body(t, repeat("a", 101)) == std::vector<int64_t>{1});
  // Characters, not bytes: é is two bytes.
  Tokenizer keep = small(true, 0);
  std::vector<int64_t> e100{20};
  e100.insert(e100.end(), 99, 21);
  CHECK(body(keep, repeat("\xC3\xA9", 100)) == e100);
  CHECK(body(keep, repeat("\xC3\xA9", 101)) == std::vector<int64_t>{1});
  // Counted after normalization: 60 x (a + U+0301) is 120 characters raw, 60 once stripped.
  CHECK(body(t, repeat("a\xCC\x81", 60)) == a_run(60));
  CHECK(body(keep, repeat("a\xCC\x81", 60)) == std::vector<int64_t>{1});
  // The limit is configurable.
  TokenizerConfig c;
  c.max_input_chars_per_word = 3;
  Tokenizer short_words(kSmallVocab, c);
  CHECK(body(short_words, "aaa aaaa") == std::vector<int64_t>{5, 17, 17, 1});
  // [UNK] covers the whole word.
  Encoding e = t.encode("x " + repeat("a", 101));
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 1, 2, 103, 0, 0});
}

TEST_CASE("truncation: one text keeps its first max_length - 2 tokens") {
  Tokenizer t = small();
  std::string text = "a b a b a b";
  CHECK(t.encode(text).ids.size() == 8);
  CHECK(t.encode(text, nullptr, 8).ids.size() == 8);
  CHECK(t.encode(text, nullptr, 100).ids.size() == 8);
  Encoding e = t.encode(text, nullptr, 5);
  CHECK(e.ids == std::vector<int64_t>{2, 5, 6, 5, 3});
  CHECK(t.encode(text, nullptr, 5, BERTRT_TRUNCATION_ONLY_FIRST).ids == e.ids);
  CHECK(t.encode(text, nullptr, 2).ids == std::vector<int64_t>{2, 3});
  CHECK(status_of([&] { t.encode(text, nullptr, 1); }) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(status_of([&] { t.encode(text, nullptr, 5, BERTRT_TRUNCATION_ONLY_SECOND); }) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(status_of([&] { t.encode(text, nullptr, 8, BERTRT_TRUNCATION_ONLY_SECOND); }) == BERTRT_OK);
  CHECK(status_of([&] { t.encode(text, nullptr, 5, static_cast<bertrt_truncation>(7)); }) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
}

namespace {
// Lengths (first, second) kept from a pair of a and b single-token words.
std::pair<std::size_t, std::size_t> kept(const Tokenizer& t, std::size_t a, std::size_t b, std::size_t max_length,
                                         bertrt_truncation s = BERTRT_TRUNCATION_LONGEST_FIRST) {
  std::string x = repeat("a ", a), y = repeat("b ", b);
  std::string_view yv(y);
  Encoding e = t.encode(x, &yv, max_length, s);
  std::size_t first = 0, second = 0;
  for (std::size_t i = 0; i < e.ids.size(); ++i) {
    if (e.sequence_ids[i] == 0) ++first;
    if (e.sequence_ids[i] == 1) ++second;
  }
  CHECK(e.ids.size() == first + second + 3);
  return {first, second};
}
using P = std::pair<std::size_t, std::size_t>;
}  // namespace

TEST_CASE("truncation: longest_first pair arithmetic") {
  Tokenizer t = small();
  // L = 9. Shorter kept whole when 2s <= L.
  CHECK(kept(t, 10, 3, 12) == P{6, 3});
  CHECK(kept(t, 3, 10, 12) == P{3, 6});
  CHECK(kept(t, 10, 4, 12) == P{5, 4});
  // 2s > L: shorter gets floor(L/2), longer ceil(L/2).
  CHECK(kept(t, 10, 6, 12) == P{5, 4});
  CHECK(kept(t, 6, 10, 12) == P{4, 5});
  // Tie: the first counts as the shorter.
  CHECK(kept(t, 8, 8, 12) == P{4, 5});
  // Even L.
  CHECK(kept(t, 8, 8, 13) == P{5, 5});
  CHECK(kept(t, 30, 20, 16) == P{7, 6});  // full counts (tokenizers 0.22 / README rule)
  // Fits: untouched.
  CHECK(kept(t, 4, 5, 12) == P{4, 5});
  CHECK(kept(t, 0, 20, 12) == P{0, 9});
  CHECK(status_of([&] { kept(t, 1, 1, 2); }) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(kept(t, 5, 5, 3) == P{0, 0});
}

TEST_CASE("truncation: only_first and only_second") {
  Tokenizer t = small();
  CHECK(kept(t, 10, 3, 12, BERTRT_TRUNCATION_ONLY_FIRST) == P{6, 3});
  CHECK(kept(t, 3, 10, 12, BERTRT_TRUNCATION_ONLY_SECOND) == P{3, 6});
  CHECK(kept(t, 3, 4, 12, BERTRT_TRUNCATION_ONLY_SECOND) == P{3, 4});
  // The named text must keep at least one token (the Rust library refuses otherwise).
  CHECK(status_of([&] { kept(t, 3, 10, 12, BERTRT_TRUNCATION_ONLY_FIRST); }) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(status_of([&] { kept(t, 10, 3, 12, BERTRT_TRUNCATION_ONLY_SECOND); }) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(status_of([&] { kept(t, 4, 10, 12, BERTRT_TRUNCATION_ONLY_FIRST); }) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(kept(t, 9, 8, 12, BERTRT_TRUNCATION_ONLY_FIRST) == P{1, 8});
}

TEST_CASE("pairs: template, token types and sequence ids") {
  Tokenizer t = small();
  std::string_view second = "world!";
  Encoding e = t.encode("hello", &second);
  CHECK(e.ids == std::vector<int64_t>{2, 10, 3, 11, 12, 3});
  CHECK(e.token_type_ids == std::vector<int64_t>{0, 0, 0, 1, 1, 1});
  CHECK(e.sequence_ids == std::vector<int64_t>{-1, 0, -1, 1, 1, -1});
  CHECK(e.attention_mask == std::vector<int64_t>(6, 1));
  // Offsets of the second text are into the second text.
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 5, 0, 0, 0, 5, 5, 6, 0, 0});
}

TEST_CASE("offsets: bytes of the original text, whatever normalization did") {
  Tokenizer t = small();
  // "Héllo  wörld": é and ö are two bytes; the normalized words are hello, world.
  std::string text = "H\xC3\xA9llo  w\xC3\xB6rld";
  Encoding e = t.encode(text);
  CHECK(e.ids == std::vector<int64_t>{2, 10, 11, 3});
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 6, 8, 14, 0, 0});
  std::vector<int64_t> chars = bertrt::core::encoding_char_offsets(e, text);
  CHECK(chars == std::vector<int64_t>{0, 0, 0, 5, 7, 12, 0, 0});
  // Removed characters do not belong to a token.
  Encoding z = t.encode("\xE2\x80\x8B" "ab");
  CHECK(z.offsets == std::vector<int64_t>{0, 0, 3, 5, 0, 0});
  // A CJK character alone.
  Encoding c = t.encode("a\xE4\xB8\xAD" "b");
  CHECK(c.offsets == std::vector<int64_t>{0, 0, 0, 1, 1, 4, 4, 5, 0, 0});
}

TEST_CASE("byte offsets to code-point offsets") {
  std::string text = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z";  // a é 中 😀 z
  std::vector<int64_t> bytes = {0, 1, 3, 6, 10, 11, 2};
  CHECK(bertrt::core::byte_to_char_offsets(text, bytes) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 1});
  std::vector<int64_t> bad = {12};
  CHECK(status_of([&] { bertrt::core::byte_to_char_offsets(text, bad); }) == BERTRT_ERROR_INVALID_ARGUMENT);
  Tokenizer t = small(false, 0);
  std::string_view pair = "\xC3\xA9" "b";
  Encoding e = t.encode("\xE4\xB8\xAD", &pair);
  CHECK(e.ids == std::vector<int64_t>{2, 15, 3, 20, 8, 3});
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 3, 0, 0, 0, 2, 2, 3, 0, 0});
  CHECK(bertrt::core::encoding_char_offsets(e, "\xE4\xB8\xAD", &pair) ==
        std::vector<int64_t>{0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 0, 0});
}

TEST_CASE("padding: batches padded to the longest row or to a given width") {
  Tokenizer t = small();
  std::vector<std::string_view> texts = {"hello world", "a", ""};
  bertrt::core::BatchEncoding b = t.encode_batch_padded(texts);
  CHECK(b.batch == 3);
  CHECK(b.seq_len == 4);
  CHECK(b.ids == std::vector<int64_t>{2, 10, 11, 3, 2, 5, 3, 0, 2, 3, 0, 0});
  CHECK(b.attention_mask == std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0});
  CHECK(b.token_type_ids == std::vector<int64_t>(12, 0));
  bertrt::core::BatchEncoding w = t.encode_batch_padded(texts, {}, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 6);
  CHECK(w.seq_len == 6);
  CHECK(w.ids[5] == 0);
  CHECK(w.ids[6] == 2);
  CHECK(status_of([&] { t.encode_batch_padded(texts, {}, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 3); }) ==
        BERTRT_ERROR_SHAPE);
  // Truncation makes a narrow width possible.
  bertrt::core::BatchEncoding n = t.encode_batch_padded(texts, {}, 3, BERTRT_TRUNCATION_LONGEST_FIRST, 3);
  CHECK(n.ids == std::vector<int64_t>{2, 10, 3, 2, 5, 3, 2, 3, 0});
  // Pairs.
  std::vector<std::string_view> pairs = {"a", "b", "hello"};
  bertrt::core::BatchEncoding p = t.encode_batch_padded(texts, pairs);
  CHECK(p.seq_len == 6);
  CHECK(std::vector<int64_t>(p.token_type_ids.begin(), p.token_type_ids.begin() + 6) ==
        std::vector<int64_t>{0, 0, 0, 0, 1, 1});
  std::vector<std::string_view> wrong = {"a"};
  CHECK(status_of([&] { t.encode_batch(texts, wrong); }) == BERTRT_ERROR_SHAPE);
}

TEST_CASE("invalid UTF-8 is rejected with the byte offset") {
  Tokenizer t = small();
  struct Bad {
    std::string text;
    std::size_t offset;
  };
  std::vector<Bad> cases = {
      {"ab\xC3", 2},                    // truncated 2-byte sequence
      {"ab\xE2\x82", 2},                // truncated 3-byte sequence
      {"\xF0\x9F\x98", 0},              // truncated 4-byte sequence
      {"x\xE2\x82y", 1},                // truncated in the middle
      {"\xC0\x80", 0},                  // overlong NUL
      {"\xC1\xBF", 0},                  // overlong
      {"a\xE0\x80\x80", 1},             // overlong 3-byte
      {"\xF0\x80\x80\x80", 0},          // overlong 4-byte
      {"ok \xED\xA0\x80", 3},           // U+D800 surrogate
      {"\xED\xBF\xBF", 0},              // U+DFFF surrogate
      {"\xF4\x90\x80\x80", 0},          // U+110000
      {"\xF5\x80\x80\x80", 0},          // F5
      {"\xFF", 0},                      // FF
      {"abc\x80", 3},                   // stray continuation byte
      {"abcdefghijklmno\xC3(", 15},     // bad continuation after an ASCII run
  };
  for (const auto& c : cases) {
    INFO("offset " << c.offset);
    CHECK(bertrt::core::find_invalid_utf8(c.text) == c.offset);
    try {
      t.encode(c.text);
      FAIL("no error");
    } catch (const bertrt::Error& e) {
      CHECK(e.status() == BERTRT_ERROR_INVALID_UTF8);
      CHECK(std::string(e.what()).find("byte offset " + std::to_string(c.offset)) != std::string::npos);
    }
    std::string_view pv(c.text);
    CHECK(status_of([&] { t.encode("fine", &pv); }) == BERTRT_ERROR_INVALID_UTF8);
  }
  // Valid edge cases.
  for (std::string_view ok : {"\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", "\xEE\x80\x80", "\xF0\x90\x80\x80", "\xC2\x80",
                              "\xEF\xBF\xBF"}) {
    CHECK(bertrt::core::find_invalid_utf8(ok) == ok.size());
    CHECK(status_of([&] { t.encode(ok); }) == BERTRT_OK);
  }
}

TEST_CASE("linear time: 1 MB against 100 KB") {
  if (bertrt_test::timing_tests_skipped()) {
    MESSAGE("skipped: BERTRT_TEST_SKIP_TIMING=1");
    return;
  }
  const Tokenizer& t = tokenizer_for("bert-base-multilingual-cased@cased");
  std::string unit =
      "The quick brown fox jumps over the lazy dog. Der schnelle braune Fuchs springt. "
      "\xE6\x98\xA5\xE5\xA4\xA9\xE7\x9A\x84\xE6\x97\xA9\xE6\x99\xA8 "  // 春天的早晨
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80! "  // Привет, мир!
      "unaffable antidisestablishmentarianism 12345 caf\xC3\xA9 na\xC3\xAFve\n";
  auto build = [&](std::size_t bytes) {
    std::string s;
    while (s.size() < bytes) s += unit;
    return s;
  };
  std::string small_text = build(100 * 1024), big_text = build(1024 * 1024);
  // Best of several interleaved runs, in this thread's CPU time: other processes on a busy machine
  // do not count, so the ratio shows the algorithm (quadratic would be about 100x).
  double ts = 1e30, tb = 1e30;
  for (int r = 0; r < 5; ++r) {
    for (const std::string* s : {&small_text, &big_text}) {
      const double t0 = thread_cpu_seconds();
      std::size_t n = t.encode(*s).ids.size();
      const double t1 = thread_cpu_seconds();
      CHECK(n > s->size() / 20);
      double& best = s == &small_text ? ts : tb;
      best = std::min(best, t1 - t0);
    }
  }
  MESSAGE("100 KB: " << ts * 1e3 << " ms, 1 MB: " << tb * 1e3 << " ms, ratio " << tb / ts);
  CHECK(tb / ts < 30.0);
  // Pathological inputs stay linear too: one huge word, and a long run of combining marks.
  std::string word(1024 * 1024, 'x');
  const double t0 = thread_cpu_seconds();
  CHECK(t.encode(word).ids.size() == 3);
  std::string marks = "a";
  marks += repeat("\xF0\x9D\x85\xAD\xF0\x9D\x85\xA5", 100000);
  CHECK(tokenizer_for("bert-base-uncased").encode(marks).ids.size() == 3);
  CHECK(thread_cpu_seconds() - t0 < 5.0);
}

TEST_CASE("truncated single text is tokenized only as far as needed, with the same result") {
  const Tokenizer& t = tokenizer_for("bert-base-uncased");
  std::string text = repeat("Hello, my dog is cute. ", 50);
  Encoding full = t.encode(text);
  for (std::size_t max_length : {2u, 3u, 10u, 64u, 500u}) {
    Encoding cut = t.encode(text, nullptr, max_length);
    std::size_t keep = std::min(full.ids.size(), max_length);
    std::vector<int64_t> want(full.ids.begin(), full.ids.begin() + static_cast<std::ptrdiff_t>(keep - 1));
    want.push_back(3 + 99);  // [SEP] is 102 in bert-base-uncased
    CHECK(cut.ids == want);
  }
}

TEST_CASE("random text: no failure, offsets inside the text, starts in order") {
  // Code points from ranges that exercise every path: ASCII, Latin with accents, combining marks,
  // Hangul, CJK, private use, unassigned, format characters, whitespace, the special tokens.
  const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x00, 0x7F},       {0xC0, 0x24F},      {0x300, 0x36F},     {0x370, 0x3FF},   {0x400, 0x4FF},
      {0xAC00, 0xAC40},   {0x4E00, 0x4E40},   {0xE000, 0xE010},   {0x0378, 0x0379}, {0x200B, 0x200F},
      {0x2000, 0x200A},   {0x1D165, 0x1D172}, {0x1F600, 0x1F64F}, {0xF900, 0xF910},  {0xFFFD, 0xFFFD}};
  const char* specials[] = {"[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]"};
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  for (const char* name : {"bert-base-uncased", "bert-base-multilingual-cased@cased", "bert-base-chinese"}) {
    const Tokenizer& t = tokenizer_for(name);
    for (int round = 0; round < 200; ++round) {
      std::string text;
      std::size_t n = next() % 60;
      for (std::size_t k = 0; k < n; ++k) {
        if (next() % 20 == 0) {
          text += specials[next() % 5];
          continue;
        }
        auto [lo, hi] = ranges[next() % ranges.size()];
        uint32_t cp = lo + next() % (hi - lo + 1);
        if (next() % 4 == 0) cp = 'a' + next() % 26;
        if (next() % 8 == 0) cp = ' ';
        char buf[4];
        int len = 0;
        if (cp < 0x80) {
          buf[len++] = static_cast<char>(cp);
        } else if (cp < 0x800) {
          buf[len++] = static_cast<char>(0xC0 | (cp >> 6));
          buf[len++] = static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          buf[len++] = static_cast<char>(0xE0 | (cp >> 12));
          buf[len++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          buf[len++] = static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          buf[len++] = static_cast<char>(0xF0 | (cp >> 18));
          buf[len++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          buf[len++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          buf[len++] = static_cast<char>(0x80 | (cp & 0x3F));
        }
        text.append(buf, static_cast<std::size_t>(len));
      }
      REQUIRE(bertrt::core::find_invalid_utf8(text) == text.size());
      Encoding e = t.encode(text);
      // Starts never go back. Tokens may share a character: the jamo of one Hangul syllable, split
      // by WordPiece into pieces, all point at that syllable (as in the Rust library).
      int64_t prev_start = 0;
      for (std::size_t i = 1; i + 1 < e.ids.size(); ++i) {
        int64_t s = e.offsets[2 * i], en = e.offsets[2 * i + 1];
        CHECK(s < en);
        CHECK(s >= prev_start);
        CHECK(static_cast<std::size_t>(en) <= text.size());
        prev_start = s;
      }
      std::size_t max_length = 3 + next() % 10;
      CHECK(t.encode(text, nullptr, max_length).ids.size() <= max_length);
      std::string_view pv(text);
      CHECK(t.encode(text, &pv, max_length + 1).ids.size() <= max_length + 1);
      (void)bertrt::core::encoding_char_offsets(e, text);
    }
  }
}
