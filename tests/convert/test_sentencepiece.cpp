// The SentencePiece reader (src/convert/sentencepiece.cpp): t5-small's spiece.model gives the same
// tokenizer as its tokenizer.json (the document compared part by part, and every t5-small
// conformance case: ids, tokens, type ids, byte offsets); the T5, XLM-RoBERTa and CamemBERT layouts
// on random hand-made models; the normalizer flags; folder configuration; the C API; and damaged
// files (truncated, wrong wire types, huge lengths, bad pieces, random bytes) are errors, never
// crashes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <set>

#include "bertrt/convert.h"
#include "common/error.h"
#include "common/fixtures.h"
#include "common/status.h"
#include "convert/sentencepiece.h"
#include "tokenizer/tokenizer.h"
#include "spm_test_util.h"

using namespace spm_test;
namespace spm = bertrt::convert::spm;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::mt19937& rng() {
  static std::mt19937 g = [] {
    const unsigned seed = std::random_device{}();
    MESSAGE("sentencepiece tests: random seed " << seed);
    return std::mt19937(seed);
  }();
  return g;
}

// The status a call throws (BERTRT_OK when it does not throw).
using bertrt::testing::status_of;

// Random distinct lowercase pieces (every letter alone, "▁" alone, then longer ones, some with
// "▁" in front), each with a random negative score.
std::vector<PieceSpec> random_pieces(size_t extra) {
  std::uniform_real_distribution<float> score(-12.0f, -1.0f);
  std::uniform_int_distribution<int> letter('a', 'z'), length(2, 6), coin(0, 1);
  std::vector<PieceSpec> out;
  std::set<std::string> seen;
  auto add = [&](std::string p) {
    if (seen.insert(p).second) out.push_back({p, score(rng()), NORMAL});
  };
  add("\xE2\x96\x81");
  for (char c = 'a'; c <= 'z'; ++c) add(std::string(1, c));
  while (out.size() < 27 + extra) {
    std::string p = coin(rng()) ? "\xE2\x96\x81" : "";
    for (int k = length(rng()); k > 0; --k) p.push_back(static_cast<char>(letter(rng())));
    add(p);
  }
  return out;
}

std::string random_word(int max_len) {
  std::uniform_int_distribution<int> letter('a', 'z'), length(1, max_len);
  std::string w;
  for (int k = length(rng()); k > 0; --k) w.push_back(static_cast<char>(letter(rng())));
  return w;
}

bertrt::Tokenizer tokenizer_of(const std::string& model, spm::Family family, int extra_ids = 100) {
  return bertrt::Tokenizer::from_json(spm::tokenizer_json(model, {family, extra_ids}));
}

}  // namespace

TEST_CASE("sentencepiece: t5-small's spiece.model converts to its tokenizer.json") {
  const json got = json::parse(spm::tokenizer_json(read_bytes(t5_dir() / "spiece.model"), {}));
  const json want = json::parse(read_bytes(t5_dir() / "tokenizer.json"));
  CHECK(got.at("normalizer") == want.at("normalizer"));  // the same charsmap, byte for byte
  CHECK(got.at("pre_tokenizer") == want.at("pre_tokenizer"));
  CHECK(got.at("post_processor") == want.at("post_processor"));
  CHECK(got.at("model").at("unk_id") == want.at("model").at("unk_id"));
  const json& gv = got.at("model").at("vocab");
  const json& wv = want.at("model").at("vocab");
  REQUIRE(gv.size() == 32100);
  REQUIRE(wv.size() == gv.size());
  // The pieces, and the scores as the file's float32 values (tokenizer.json prints some of them
  // with a last digit that is not the float's exact double).
  size_t differ = 0;
  double worst = 0.0;
  for (size_t i = 0; i < gv.size(); ++i) {
    const double g = gv[i][1].get<double>(), w = wv[i][1].get<double>();
    worst = std::max(worst, std::fabs(g - w));
    if (gv[i][0] != wv[i][0] || static_cast<float>(g) != static_cast<float>(w)) ++differ;
  }
  CHECK(differ == 0);
  CHECK(worst < 1e-13);
  REQUIRE(got.at("added_tokens").size() == want.at("added_tokens").size());
  for (size_t i = 0; i < got.at("added_tokens").size(); ++i) {
    const json& g = got.at("added_tokens")[i];
    const json& w = want.at("added_tokens")[i];
    for (const char* key : {"id", "content", "lstrip", "rstrip", "single_word", "normalized", "special"}) {
      INFO("added token " << i << " " << key);
      CHECK(g.at(key) == w.at(key));
    }
  }
}

TEST_CASE("sentencepiece: every t5-small case through spiece.model matches (ids, tokens, types, offsets)") {
  // The library's own tokenizer, whose token strings keep NUL bytes.
  const auto core_tok = bertrt::core::Tokenizer::from_json(spm::tokenizer_json(read_bytes(t5_dir() / "spiece.model"), {}));
  const std::vector<Case> cases = t5_cases();
  REQUIRE(cases.size() >= 100);
  for (const Case& c : cases) {
    const std::string_view pair(c.pair);
    const bertrt::core::Encoding e = core_tok.encode(c.text, c.has_pair ? &pair : nullptr, c.max_length, c.truncation);
    std::vector<std::string> tokens;
    for (std::string_view t : core_tok.tokens(e)) tokens.emplace_back(t);
    check_case(c, e.ids, tokens, e.token_type_ids, e.offsets, "spiece.model", false);
  }
  const bertrt::Tokenizer tok = tokenizer_of(read_bytes(t5_dir() / "spiece.model"), spm::Family::t5);
  CHECK(tok.vocab_size() == 32100);
  CHECK(tok.unk_id() == 2);
  CHECK(tok.pad_id() == 0);
  CHECK(tok.id_to_token(32099) == "<extra_id_0>");
}

TEST_CASE("sentencepiece: T5 layout on random models") {
  std::vector<PieceSpec> pieces = {{"<pad>", 0, CONTROL}, {"</s>", 0, CONTROL}, {"<unk>", 0, UNKNOWN}};
  for (const PieceSpec& p : random_pieces(200)) pieces.push_back(p);
  pieces.push_back({"<sep>", 0, USER_DEFINED});
  ModelSpec s;
  s.pieces = pieces;
  s.unk_id = 2;
  const int extra = std::uniform_int_distribution<int>(0, 20)(rng());
  const bertrt::Tokenizer tok = tokenizer_of(model_bytes(s), spm::Family::t5, extra);
  const size_t n = pieces.size();
  REQUIRE(tok.vocab_size() == n + static_cast<size_t>(extra));
  for (size_t i = 0; i < n; ++i) CHECK(tok.id_to_token(static_cast<int64_t>(i)) == pieces[i].piece);
  for (int k = 0; k < extra; ++k)
    CHECK(tok.id_to_token(static_cast<int64_t>(n) + k) == "<extra_id_" + std::to_string(extra - 1 - k) + ">");
  const std::string a = random_word(8) + " " + random_word(8), b = random_word(8);
  const bertrt::Encoding single = tok.encode(a);
  REQUIRE(single.ids.size() >= 2);
  CHECK(single.ids.back() == 1);
  CHECK(single.tokens.front().rfind("\xE2\x96\x81", 0) == 0);  // the dummy prefix
  const bertrt::Encoding pair = tok.encode(a, &b);
  CHECK(pair.ids.back() == 1);
  CHECK(std::count(pair.ids.begin(), pair.ids.end(), 1) == 2);
  CHECK(std::all_of(pair.token_type_ids.begin(), pair.token_type_ids.end(), [](int64_t t) { return t == 0; }));
  // A user-defined piece is matched whole in the text, and so is a sentinel.
  const std::string with_sep = random_word(5) + "<sep>" + random_word(5);
  const bertrt::Encoding sep = tok.encode(with_sep);
  CHECK(std::count(sep.ids.begin(), sep.ids.end(), static_cast<int64_t>(n - 1)) == 1);
  if (extra > 0) {
    const bertrt::Encoding sentinel = tok.encode(random_word(5) + " <extra_id_0>");
    CHECK(sentinel.ids[sentinel.ids.size() - 2] == static_cast<int64_t>(n + extra - 1));
  }
}

TEST_CASE("sentencepiece: XLM-RoBERTa and CamemBERT layouts shift the ids as fairseq does") {
  std::vector<PieceSpec> pieces = {{"<unk>", 0, UNKNOWN}, {"<s>", 0, CONTROL}, {"</s>", 0, CONTROL}};
  for (const PieceSpec& p : random_pieces(150)) pieces.push_back(p);
  ModelSpec s;
  s.pieces = pieces;
  const std::string model = model_bytes(s);
  const size_t n = pieces.size();
  const std::string a = random_word(10) + " " + random_word(10), b = random_word(10);

  SUBCASE("xlm-roberta") {
    const bertrt::Tokenizer tok = tokenizer_of(model, spm::Family::xlm_roberta);
    REQUIRE(tok.vocab_size() == n + 2);
    const char* head[] = {"<s>", "<pad>", "</s>", "<unk>"};
    for (int i = 0; i < 4; ++i) CHECK(tok.id_to_token(i) == head[i]);
    for (size_t i = 3; i < n; ++i) CHECK(tok.id_to_token(static_cast<int64_t>(i + 1)) == pieces[i].piece);
    CHECK(tok.id_to_token(static_cast<int64_t>(n + 1)) == "<mask>");
    CHECK(tok.unk_id() == 3);
    CHECK(tok.pad_id() == 1);
    const bertrt::Encoding e = tok.encode(a, &b);
    REQUIRE(e.ids.size() >= 6);
    CHECK(e.ids.front() == 0);
    CHECK(e.ids.back() == 2);
    CHECK(std::count(e.ids.begin(), e.ids.end(), 2) == 3);  // <s> A </s></s> B </s>
    // <mask> takes the space before it (lstrip; the template does not trim offsets).
    const std::string w = random_word(6);
    const bertrt::Encoding m = tok.encode(w + " <mask>");
    REQUIRE(m.ids.size() >= 3);
    const size_t k = m.ids.size() - 2;
    CHECK(m.ids[k] == static_cast<int64_t>(n + 1));
    CHECK(m.offsets[2 * k] == static_cast<int64_t>(w.size()));
    CHECK(m.offsets[2 * k + 1] == static_cast<int64_t>(w.size() + 7));
  }
  SUBCASE("camembert") {
    const bertrt::Tokenizer tok = tokenizer_of(model, spm::Family::camembert);
    REQUIRE(tok.vocab_size() == n + 5);
    const char* head[] = {"<s>NOTUSED", "<pad>", "</s>NOTUSED", "<unk>", "<unk>NOTUSED"};
    for (int i = 0; i < 5; ++i) CHECK(tok.id_to_token(i) == head[i]);
    for (size_t i = 1; i < n; ++i) CHECK(tok.id_to_token(static_cast<int64_t>(i + 4)) == pieces[i].piece);
    CHECK(tok.id_to_token(static_cast<int64_t>(n + 4)) == "<mask>");
    const bertrt::Encoding e = tok.encode(a, &b);
    CHECK(e.ids.front() == 5);  // <s>
    CHECK(e.ids.back() == 6);   // </s>
    CHECK(std::count(e.ids.begin(), e.ids.end(), 6) == 3);
  }
}

TEST_CASE("sentencepiece: add_dummy_prefix and remove_extra_whitespaces") {
  ModelSpec s;
  s.pieces = {{"<unk>", 0, UNKNOWN}, {"</s>", 0, CONTROL}};
  for (const PieceSpec& p : random_pieces(50)) s.pieces.push_back(p);
  const std::string w1 = random_word(6), w2 = random_word(6);
  const std::string text = w1 + "   " + w2;
  auto first_tokens = [&](bool prefix, bool collapse) {
    s.add_dummy_prefix = prefix;
    s.remove_extra_whitespaces = collapse;
    return tokenizer_of(model_bytes(s), spm::Family::t5, 0).encode(text, nullptr, 0, BERTRT_TRUNCATION_LONGEST_FIRST,
                                                                    false);
  };
  const std::string meta = "\xE2\x96\x81";
  auto metas = [&](const bertrt::Encoding& e) {
    return std::count_if(e.tokens.begin(), e.tokens.end(), [&](const std::string& t) { return t.rfind(meta, 0) == 0; });
  };
  // The run of spaces is one separator; each word starts with "▁".
  const bertrt::Encoding plain = first_tokens(true, true);
  CHECK(plain.tokens.front().rfind(meta, 0) == 0);
  CHECK(metas(plain) == 2);
  const bertrt::Encoding no_prefix = first_tokens(false, true);
  CHECK(metas(no_prefix) == 0);
  // Without remove_extra_whitespaces every space is a "▁" of its own.
  CHECK(metas(first_tokens(true, false)) == 4);
}

TEST_CASE("sentencepiece: folder configuration chooses the family") {
  const fs::path dir = bertrt::testing::temp_dir("spm-folder");
  auto write = [&](const char* name, const json& j) { std::ofstream(dir / name) << j.dump(); };
  CHECK(spm::options_for_folder(dir).family == spm::Family::t5);
  write("config.json", {{"model_type", "camembert"}});
  CHECK(spm::options_for_folder(dir).family == spm::Family::camembert);
  write("tokenizer_config.json", {{"tokenizer_class", "XLMRobertaTokenizerFast"}});
  CHECK(spm::options_for_folder(dir).family == spm::Family::xlm_roberta);
  write("tokenizer_config.json", {{"tokenizer_class", "T5Tokenizer"}, {"extra_ids", 7}});
  CHECK(spm::options_for_folder(dir).family == spm::Family::t5);
  CHECK(spm::options_for_folder(dir).extra_ids == 7);
  write("tokenizer_config.json", {{"tokenizer_class", "T5Tokenizer"}, {"extra_ids", -1}});
  CHECK(status_of([&] { spm::options_for_folder(dir); }) == BERTRT_ERROR_FORMAT);
  write("tokenizer_config.json", {{"tokenizer_class", "AlbertTokenizer"}});
  CHECK(status_of([&] { spm::options_for_folder(dir); }) == BERTRT_ERROR_UNSUPPORTED);
  std::ofstream(dir / "tokenizer_config.json") << "{not json";
  CHECK(status_of([&] { spm::options_for_folder(dir); }) == BERTRT_ERROR_FORMAT);
  CHECK(status_of([] { spm::family_from_name("albert"); }) == BERTRT_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("sentencepiece: the C API returns the document and reports errors") {
  const std::string path = (t5_dir() / "spiece.model").string();
  char* text = nullptr;
  size_t len = 0;
  REQUIRE(bertrt_sentencepiece_to_tokenizer_json(path.c_str(), "t5", &text, &len) == BERTRT_OK);
  REQUIRE(text != nullptr);
  CHECK(std::strlen(text) == len);
  CHECK(std::string(text, len) == spm::tokenizer_json(read_bytes(t5_dir() / "spiece.model"), {}));
  std::free(text);
  // The folder: its tokenizer_config.json says T5Tokenizer.
  REQUIRE(bertrt_sentencepiece_to_tokenizer_json(t5_dir().string().c_str(), nullptr, &text, nullptr) == BERTRT_OK);
  std::free(text);
  CHECK(bertrt_sentencepiece_to_tokenizer_json(nullptr, nullptr, &text, &len) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_sentencepiece_to_tokenizer_json(path.c_str(), "gpt2", &text, &len) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(text == nullptr);
  const fs::path dir = bertrt::testing::temp_dir("spm-capi");
  CHECK(bertrt_sentencepiece_to_tokenizer_json((dir / "missing.model").string().c_str(), nullptr, &text, &len) ==
        BERTRT_ERROR_IO);
  CHECK(bertrt_sentencepiece_to_tokenizer_json(dir.string().c_str(), nullptr, &text, &len) == BERTRT_ERROR_IO);
  std::ofstream(dir / "spiece.model", std::ios::binary) << read_bytes(t5_dir() / "spiece.model").substr(0, 5000);
  CHECK(bertrt_sentencepiece_to_tokenizer_json(dir.string().c_str(), nullptr, &text, &len) == BERTRT_ERROR_FORMAT);
  CHECK(std::string(bertrt_last_error()).find("SentencePiece") != std::string::npos);
  // The runtime's own loader names the converter for a .model.
  CHECK(status_of([&] { (void)bertrt::Tokenizer::from_file(path); }) == BERTRT_ERROR_UNSUPPORTED);
}
