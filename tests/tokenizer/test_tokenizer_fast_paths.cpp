// The data structures behind the BPE and Unigram speed, each against a plain oracle:
//   - the double-array piece trie (unigram_trie.h) against a std::map of the pieces, on random
//     vocabularies (every byte value, duplicates, prefixes of each other, an empty piece);
//   - the per-thread word caches: a text encoded twice (the second time from the cache) gives what
//     a tokenizer with a cold cache gives, for roberta-base and t5-small, on random texts;
//   - a damaged charsmap (a replacement that is not UTF-8) is refused when read.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unigram.h"
#include "tokenizer/unigram_trie.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace {

using bertrt::core::Encoding;
using bertrt::core::Tokenizer;
using bertrt::core::unigram::PieceTrie;
using bertrt_test::data_path;

std::string random_bytes(std::mt19937& rng, std::size_t max_len, int alphabet) {
  std::string s(1 + rng() % max_len, '\0');
  for (char& c : s) {
    // A small alphabet makes pieces share prefixes; byte 0 and 255 are in every alphabet.
    const int k = static_cast<int>(rng() % static_cast<unsigned>(alphabet));
    c = static_cast<char>(k == 0 ? 0 : k == 1 ? 255 : 'a' + k);
  }
  return s;
}

// Texts of words from a small pool of characters (letters, digits, spaces, CJK, accents, emoji,
// full-width forms that the charsmap rewrites, Metaspace's own character), so that words repeat.
std::string random_words(std::mt19937& rng, std::size_t n) {
  static const char32_t pool[] = {'a', 'b', 'e', 'o', 'T', '1', ' ', ' ', '\'', 's', '.', '<', '>', 0xE9,
                                  0x301, 0x4E2D, 0x1F600, 0xFF21, 0x2581, 0x3000, 0x0439, 0x1100, 0x1161};
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    char buf[4];
    const auto c = static_cast<int32_t>(pool[rng() % (sizeof(pool) / sizeof(pool[0]))]);
    s.append(buf, static_cast<std::size_t>(bertrt::core::wordpiece::utf8_encode(c, buf)));
  }
  return s;
}

void check_same(const Encoding& a, const Encoding& b) {
  CHECK(a.ids == b.ids);
  CHECK(a.offsets == b.offsets);
  REQUIRE(a.token_texts.size() == b.token_texts.size());
  for (std::size_t k = 0; k < a.token_texts.size(); ++k) {
    CHECK(a.token_texts[k].index == b.token_texts[k].index);
    CHECK(a.token_texts[k].text == b.token_texts[k].text);
  }
}

}  // namespace

TEST_CASE("Unigram piece trie: every walk agrees with a map of the pieces") {
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 40; ++round) {
    const int alphabet = 3 + static_cast<int>(rng() % 30);
    std::vector<std::string> pieces(1 + rng() % 3000);
    for (auto& p : pieces) p = random_bytes(rng, 12, alphabet);
    pieces[rng() % pieces.size()] = pieces[rng() % pieces.size()];  // a duplicate: the later id wins
    if (round % 4 == 0) pieces[rng() % pieces.size()].clear();     // an empty piece is never reached
    std::map<std::string, int32_t> ids;
    std::set<std::string> prefixes;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (pieces[i].empty()) continue;
      ids[pieces[i]] = static_cast<int32_t>(i);
      for (std::size_t k = 1; k <= pieces[i].size(); ++k) prefixes.insert(pieces[i].substr(0, k));
    }
    PieceTrie trie;
    trie.build(pieces);
    // Walk every piece, and random strings, byte by byte.
    std::vector<std::string> probes(pieces.begin(), pieces.end());
    for (int k = 0; k < 2000; ++k) probes.push_back(random_bytes(rng, 14, alphabet + 2));
    std::size_t checked = 0;
    for (const std::string& s : probes) {
      uint32_t node = 0;
      for (std::size_t k = 0; k < s.size(); ++k) {
        node = trie.step(node, static_cast<unsigned char>(s[k]));
        const std::string prefix = s.substr(0, k + 1);
        INFO("round " << round << ", prefix of " << prefix.size() << " bytes");
        REQUIRE((node != PieceTrie::kNone) == (prefixes.count(prefix) == 1));
        if (node == PieceTrie::kNone) break;
        const auto it = ids.find(prefix);
        CHECK(trie.value(node) == (it == ids.end() ? -1 : it->second));
        ++checked;
      }
    }
    CHECK(checked >= prefixes.size());
  }
}

TEST_CASE("word caches: a second encoding (from the cache) equals a cold one") {
  std::mt19937 rng(std::random_device{}());
  for (const char* name : {"roberta-base", "t5-small"}) {
    const std::string file = data_path(std::string("vocab/") + name + "/tokenizer.json");
    const Tokenizer warm = Tokenizer::from_file(file);
    const Tokenizer other = Tokenizer::from_file(file);  // a model of its own: its use empties the cache
    for (int round = 0; round < 300; ++round) {
      const std::string text = random_words(rng, 1 + rng() % 120);
      INFO(name << ": " << text);
      const Encoding first = warm.encode(text);
      const Encoding again = warm.encode(text);  // every short word from the cache now
      check_same(first, again);
      const Encoding cold = other.encode(text);
      check_same(first, cold);
    }
  }
}

TEST_CASE("Unigram charsmap: a replacement that is not UTF-8 is refused") {
  bertrt::core::unigram::Model model;
  // A darts-clone unit array of one unit (the root) and a string blob with a lone continuation byte.
  std::string blob(4, '\0');
  const uint32_t trie_bytes = 4;
  std::memcpy(blob.data(), &trie_bytes, 4);
  blob.append(4, '\0');
  const char strings[] = {'o', 'k', '\0', static_cast<char>(0x80), 'x', '\0'};
  blob.append(strings, sizeof(strings));
  bool refused = false;
  try {
    model.set_charsmap(blob);
  } catch (const bertrt::Error& e) {
    refused = e.status() == BERTRT_ERROR_FORMAT;
  }
  CHECK(refused);
}
