// Byte-level BPE (RoBERTa) and tokenizer.json loading: every case of
// tokenizer-cases/bpe/roberta-base.jsonl from tokenizer.json, from vocab.json + merges.txt and from
// the folder; the WordPiece cases from a tokenizer.json built here from each vocab.txt; errors for
// bad files and texts; round trips of random texts; linear time on 1 MB inputs; tokenizers stored
// in a model file (written here, embeddings only); SentencePiece Unigram: every case of
// tokenizer-cases/unigram/t5-small.jsonl from t5-small's tokenizer.json.
#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "format/model_file.h"
#include "model/names.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace {

using bertrt::core::Encoding;
using bertrt::core::Tokenizer;
using bertrt_test::data_path;
using bertrt_test::thread_cpu_seconds;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const Tokenizer& roberta_json() {
  static const Tokenizer t = Tokenizer::from_json(slurp(data_path("vocab/roberta-base/tokenizer.json")));
  return t;
}

bertrt_truncation strategy(const std::string& s) {
  if (s == "only_first") return BERTRT_TRUNCATION_ONLY_FIRST;
  if (s == "only_second") return BERTRT_TRUNCATION_ONLY_SECOND;
  REQUIRE(s == "longest_first");
  return BERTRT_TRUNCATION_LONGEST_FIRST;
}

// Runs every case of a file through tok; each field is checked. Returns the number of cases.
int check_cases(const Tokenizer& tok, const std::string& file, bool with_offsets) {
  std::ifstream in(file);
  REQUIRE(in.good());
  std::string line;
  int n = 0, line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    const nlohmann::json c = nlohmann::json::parse(line);
    ++n;
    const std::string text = c.at("text").get<std::string>();
    const bool has_pair = c.contains("text_pair");
    const std::string pair = has_pair ? c.at("text_pair").get<std::string>() : std::string();
    const std::string_view pv(pair);
    const Encoding e = tok.encode(text, has_pair ? &pv : nullptr, c.value("max_length", std::size_t{0}),
                                  strategy(c.value("truncation", std::string("longest_first"))));
    INFO(file << ":" << line_no << " text=" << text);
    CHECK(e.ids == c.at("ids").get<std::vector<int64_t>>());
    std::vector<std::string> tokens;
    for (auto sv : tok.tokens(e)) tokens.emplace_back(sv);
    CHECK(tokens == c.at("tokens").get<std::vector<std::string>>());
    CHECK(e.token_type_ids == c.at("token_type_ids").get<std::vector<int64_t>>());
    CHECK(e.attention_mask == std::vector<int64_t>(e.ids.size(), 1));
    if (with_offsets) {
      std::vector<int64_t> want;
      for (const auto& o : c.at("offsets")) {
        want.push_back(o.at(0).get<int64_t>());
        want.push_back(o.at(1).get<int64_t>());
      }
      CHECK(e.offsets == want);
    }
    if (c.contains("sequence_ids")) {
      std::vector<int64_t> want;
      for (const auto& s : c.at("sequence_ids")) want.push_back(s.is_null() ? -1 : s.get<int64_t>());
      CHECK(e.sequence_ids == want);
    }
  }
  return n;
}

// A BERT tokenizer.json for a vocab.txt, as Hugging Face's BertTokenizerFast saves one.
std::string bert_tokenizer_json(const std::string& vocab_txt, bool lower) {
  const auto vocab = Tokenizer::split_vocab(slurp(vocab_txt));
  nlohmann::json v = nlohmann::json::object();
  for (std::size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
  nlohmann::json added = nlohmann::json::array();
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    added.push_back({{"id", v.at(t)}, {"content", t}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  nlohmann::json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer",
       {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
        {"strip_accents", lower ? nlohmann::json(nullptr) : nlohmann::json(false)}, {"lowercase", lower}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                    {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}},
        {"pair", {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}},
                  {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 1}}}}}},
        {"special_tokens",
         {{"[CLS]", {{"id", "[CLS]"}, {"ids", {v.at("[CLS]")}}, {"tokens", {"[CLS]"}}}},
          {"[SEP]", {{"id", "[SEP]"}, {"ids", {v.at("[SEP]")}}, {"tokens", {"[SEP]"}}}}}}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
      {"model",
       {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100}, {"vocab", v}}}};
  return j.dump();
}

bertrt_status status_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const bertrt::Error& e) {
    return e.status();
  }
  return BERTRT_OK;
}

// Random text of n code points drawn from ASCII letters, digits, punctuation, whitespace, accented
// Latin, CJK, emoji and combining marks.
std::string random_text(std::mt19937& rng, std::size_t n) {
  static const char32_t pool[] = {'a', 'Z', 'q', '0', '7', ' ', ' ', ' ', '\n', '\t', '\'', 's', 't', '.', ',',
                                  '!', '#', '<', '>', 0xE9, 0xC5, 0x4E2D, 0x6587, 0x1F600, 0x301, 0xA0, 0x3000,
                                  0x0661, 0x2028, 0x0};
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(pool) / sizeof(pool[0]) - 1);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    const char32_t c = pool[pick(rng)];
    char buf[4];
    s.append(buf, static_cast<std::size_t>(bertrt::core::wordpiece::utf8_encode(static_cast<int32_t>(c), buf)));
  }
  return s;
}

double seconds_to_encode(const Tokenizer& tok, const std::string& text) {
  const double t0 = thread_cpu_seconds();
  const Encoding e = tok.encode(text);
  const double t1 = thread_cpu_seconds();
  CHECK(e.ids.size() > 2);
  return t1 - t0;
}

}  // namespace

TEST_CASE("byte-level BPE: every roberta-base case from tokenizer.json (ids, tokens, types, offsets)") {
  CHECK(roberta_json().kind() == bertrt::core::TokenizerKind::bpe);
  CHECK(check_cases(roberta_json(), data_path("tokenizer-cases/bpe/roberta-base.jsonl"), true) == 129);
}

TEST_CASE("byte-level BPE: the same from vocab.json + merges.txt and from the folder") {
  const Tokenizer files = Tokenizer::from_bpe_files(slurp(data_path("vocab/roberta-base/vocab.json")),
                                                    slurp(data_path("vocab/roberta-base/merges.txt")));
  CHECK(check_cases(files, data_path("tokenizer-cases/bpe/roberta-base.jsonl"), true) == 129);
  const Tokenizer vocab_json = Tokenizer::from_file(data_path("vocab/roberta-base/vocab.json"));
  CHECK(vocab_json.vocab_size() == 50265);
  const Tokenizer folder = Tokenizer::from_file(data_path("vocab/roberta-base"));
  CHECK(folder.kind() == bertrt::core::TokenizerKind::bpe);
  CHECK(folder.cls_id() == 0);
  CHECK(folder.sep_id() == 2);
  CHECK(folder.pad_id() == 1);
  CHECK(folder.unk_id() == 3);
}

TEST_CASE("tokenizer.json WordPiece: every BERT case, from a tokenizer.json built from each vocab.txt") {
  const struct {
    const char* file;
    const char* vocab;
    bool lower;
  } modes[] = {{"bert-base-uncased.jsonl", "bert-base-uncased", true},
               {"bert-base-cased-cased.jsonl", "bert-base-cased", false},
               {"bert-base-chinese.jsonl", "bert-base-chinese", true},
               {"bert-base-chinese-cased.jsonl", "bert-base-chinese", false},
               {"bert-base-multilingual-cased-cased.jsonl", "bert-base-multilingual-cased", false}};
  for (const auto& mode : modes) {
    const Tokenizer tok =
        Tokenizer::from_json(bert_tokenizer_json(data_path(std::string("vocab/") + mode.vocab + "/vocab.txt"), mode.lower));
    CHECK(tok.kind() == bertrt::core::TokenizerKind::wordpiece);
    CHECK(check_cases(tok, data_path(std::string("tokenizer-cases/") + mode.file), false) == 74);
  }
}

TEST_CASE("tokenizer.json: bad JSON, unknown model types, bad vocabularies and texts are clear errors") {
  CHECK(status_of([] { Tokenizer::from_json("{\"model\": "); }) == BERTRT_ERROR_FORMAT);
  CHECK(status_of([] { Tokenizer::from_json("[1, 2]"); }) == BERTRT_ERROR_FORMAT);
  CHECK(status_of([] { Tokenizer::from_json(R"({"model": {"type": "WordLevel", "vocab": {"a": 0}}})"); }) ==
        BERTRT_ERROR_UNSUPPORTED);
  CHECK(status_of([] { Tokenizer::from_json(R"({"model": {"type": 7}})"); }) == BERTRT_ERROR_FORMAT);
  const char* bad_merge = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]},
                              "pre_tokenizer": {"type": "ByteLevel"}})";
  CHECK(status_of([&] { Tokenizer::from_json(bad_merge); }) == BERTRT_ERROR_FORMAT);
  const char* gap = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []},
                        "pre_tokenizer": {"type": "ByteLevel"}})";
  CHECK(status_of([&] { Tokenizer::from_json(gap); }) == BERTRT_ERROR_FORMAT);
  const char* no_byte_level = R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                                  "pre_tokenizer": {"type": "Whitespace"}})";
  CHECK(status_of([&] { Tokenizer::from_json(no_byte_level); }) == BERTRT_ERROR_UNSUPPORTED);
  CHECK(status_of([] { Tokenizer::from_bpe_files("{\"a\": 0}", "#version: 0.2\na b c\n"); }) == BERTRT_ERROR_FORMAT);
  CHECK(status_of([] { Tokenizer::from_file("/nonexistent/tokenizer.json"); }) == BERTRT_ERROR_IO);
  CHECK(status_of([] { roberta_json().encode(std::string("ok \xC3\x28 bad")); }) == BERTRT_ERROR_INVALID_UTF8);
  const std::string_view pair("\xFF");
  CHECK(status_of([&] { roberta_json().encode("fine", &pair); }) == BERTRT_ERROR_INVALID_UTF8);
  CHECK(status_of([] { roberta_json().encode("a b c", nullptr, 1); }) == BERTRT_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("byte-level BPE: random texts come back byte for byte, offsets cover whole characters") {
  std::mt19937 rng(std::random_device{}());
  const Tokenizer& tok = roberta_json();
  std::vector<uint8_t> char_to_byte(0x200, 0);
  for (int b = 0; b < 256; ++b) char_to_byte[static_cast<std::size_t>(bertrt::core::bpe::byte_to_char(static_cast<unsigned char>(b)))] = static_cast<uint8_t>(b);
  for (int round = 0; round < 200; ++round) {
    const std::string text = random_text(rng, 1 + rng() % 300);
    const Encoding e = tok.encode(text, nullptr, 0, BERTRT_TRUNCATION_LONGEST_FIRST, false);
    std::string back;
    for (auto token : tok.tokens(e)) {
      std::size_t i = 0;
      while (i < token.size()) {
        int32_t cp;
        i += bertrt::core::wordpiece::utf8_decode(reinterpret_cast<const unsigned char*>(token.data()), i, cp);
        REQUIRE(cp < 0x200);
        back.push_back(static_cast<char>(char_to_byte[static_cast<std::size_t>(cp)]));
      }
    }
    INFO("text=" << text);
    CHECK(back == text);
    for (std::size_t k = 0; k < e.size(); ++k) {
      const auto s = static_cast<std::size_t>(e.offsets[2 * k]), t = static_cast<std::size_t>(e.offsets[2 * k + 1]);
      CHECK(s <= t);
      CHECK(t <= text.size());
      CHECK((s == text.size() || (static_cast<unsigned char>(text[s]) & 0xC0) != 0x80));
      CHECK((t == text.size() || (static_cast<unsigned char>(text[t]) & 0xC0) != 0x80));
    }
  }
}

TEST_CASE("byte-level BPE: linear time on 1 MB inputs (mixed text, one long word, one whitespace run)") {
  if (bertrt_test::timing_tests_skipped()) {
    MESSAGE("skipped: BERTRT_TEST_SKIP_TIMING=1");
    return;
  }
  std::mt19937 rng(std::random_device{}());
  const Tokenizer& tok = roberta_json();
  const std::string mixed = random_text(rng, 1 << 18);
  std::string word;
  while (word.size() < (1u << 20)) word += "antidisestablishmentarianism";
  const std::string inputs[] = {mixed + mixed + mixed + mixed, word, std::string(1 << 20, ' ') + "x"};
  // Each timing starts with an empty word cache: the cache is per thread and per tokenizer, so a
  // call through another tokenizer in between empties it.
  const Tokenizer other = Tokenizer::from_file(data_path("vocab/roberta-base/vocab.json"));
  auto cold = [&](const std::string& text) {
    other.encode("x");
    return seconds_to_encode(tok, text);
  };
  for (const std::string& big : inputs) {
    const std::string quarter = big.substr(0, big.size() / 4);
    cold(quarter);  // warm up
    double t_small = 1e9, t_big = 1e9;
    for (int r = 0; r < 3; ++r) {
      t_small = std::min(t_small, cold(quarter));
      t_big = std::min(t_big, cold(big));
    }
    MESSAGE("BPE " << big.size() << " bytes: " << t_big << " s, a quarter: " << t_small << " s");
    // 4x the input: about 4x the time (n log n within one long word); quadratic would be 16x.
    CHECK(t_big < 10 * t_small + 0.05);
  }
}

TEST_CASE("C API: bertrt_tokenizer_from_file, encode, encode_plain and bertrt_encoding_token") {
  auto tok = bertrt::Tokenizer::from_file(data_path("vocab/roberta-base/tokenizer.json"));
  const std::string text = "a <mask> b";
  const auto e = tok.encode(text);
  CHECK(e.ids == std::vector<int64_t>{0, 102, 50264, 741, 2});
  CHECK(e.tokens == std::vector<std::string>{"<s>", "a", " <mask>", "Ġb", "</s>"});
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 1, 2, 8, 9, 10, 0, 0});
  const std::string pair = "c";
  const auto plain = tok.encode(text, &pair, 0, BERTRT_TRUNCATION_LONGEST_FIRST, false);
  CHECK(plain.ids == std::vector<int64_t>{102, 50264, 741, 438});
  CHECK(plain.token_type_ids == std::vector<int64_t>{0, 0, 0, 1});
  bertrt_tokenizer* t = nullptr;
  CHECK(bertrt_tokenizer_from_file("/nonexistent", &t) == BERTRT_ERROR_IO);
  CHECK(t == nullptr);
  CHECK(bertrt_tokenizer_from_json("{", 1, &t) == BERTRT_ERROR_FORMAT);
  CHECK(bertrt_encoding_token(nullptr, 0) == nullptr);
}

TEST_CASE("byte-level BPE: add_prefix_space puts a space before each piece, offsets keep the first one") {
  nlohmann::json j = nlohmann::json::parse(slurp(data_path("vocab/roberta-base/tokenizer.json")));
  j["pre_tokenizer"]["add_prefix_space"] = true;
  j["post_processor"]["add_prefix_space"] = true;
  const Tokenizer tok = Tokenizer::from_json(j.dump());
  Encoding e = tok.encode("Hello world");
  CHECK(e.ids == std::vector<int64_t>{0, 20920, 232, 2});
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 5, 6, 11, 0, 0});
  // The added space stands for the first character, here two bytes long.
  e = tok.encode("\xC3\xA9");
  CHECK(e.ids == std::vector<int64_t>{0, 7935, 2});
  CHECK(e.offsets == std::vector<int64_t>{0, 0, 0, 2, 0, 0});
  // Without the prefix space the same text is another token.
  CHECK(roberta_json().encode("\xC3\xA9").ids == std::vector<int64_t>{0, 1140, 2});
}

TEST_CASE("added tokens: leftmost-longest, lstrip/rstrip take whitespace, single_word needs word edges") {
  bertrt::core::AddedTokens added;
  using bertrt::core::AddedToken;
  // content, id, lstrip, rstrip, single_word, normalized, special
  std::vector<AddedToken> list = {AddedToken{std::string("<x>"), 7, false, true, false, false, true},
                                  AddedToken{std::string("<xy>"), 8, true, false, false, false, true},
                                  AddedToken{std::string("w"), 9, false, false, true, true, false}};
  added.build(list);
  std::vector<bertrt::core::AddedSplit> out, tmp;
  const std::string text = "a <x>  b\t<xy>c w aw\xC3\xA9w";
  added.split_all(text, out, tmp);
  std::vector<std::string> pieces;
  std::vector<int> ids;
  for (const auto& s : out) {
    pieces.push_back(text.substr(s.begin, s.end - s.begin));
    ids.push_back(s.token);
  }
  CHECK(pieces == std::vector<std::string>{"a ", "<x>  ", "b", "\t<xy>", "c ", "w", " aw\xC3\xA9w"});
  CHECK(ids == std::vector<int>{-1, 0, -1, 1, -1, 2, -1});
}

namespace {

// A model file with no layers (embeddings only, random values) and the given metadata strings.
std::string write_model(const std::string& name, const std::vector<std::pair<std::string, std::string>>& meta) {
  namespace names = bertrt::names;
  const uint64_t V = 50265, H = 4, P = 16, TV = 1;
  bertrt::format::ModelFileWriter w;
  w.set_int(names::kMetaVocabSize, static_cast<int64_t>(V));
  w.set_int(names::kMetaHiddenSize, static_cast<int64_t>(H));
  w.set_int(names::kMetaNumLayers, 0);
  w.set_int(names::kMetaNumHeads, 1);
  w.set_int(names::kMetaIntermediateSize, 8);
  w.set_int(names::kMetaMaxPositions, static_cast<int64_t>(P));
  w.set_int(names::kMetaTypeVocabSize, static_cast<int64_t>(TV));
  for (const auto& [k, v] : meta) w.set_string(k, v);
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  auto floats = [&](uint64_t n) {
    std::vector<uint8_t> bytes(n * 4);
    for (uint64_t i = 0; i < n; ++i) {
      const float x = d(rng);
      std::memcpy(bytes.data() + 4 * i, &x, 4);
    }
    return bytes;
  };
  using bertrt::format::TensorDType;
  w.add_tensor(names::kWordEmbeddings, TensorDType::f32, {V, H}, floats(V * H));
  w.add_tensor(names::kPositionEmbeddings, TensorDType::f32, {P, H}, floats(P * H));
  w.add_tensor(names::kTokenTypeEmbeddings, TensorDType::f32, {TV, H}, floats(TV * H));
  w.add_tensor(names::kEmbeddingsLnGamma, TensorDType::f32, {H}, floats(H));
  w.add_tensor(names::kEmbeddingsLnBeta, TensorDType::f32, {H}, floats(H));
  const auto path = std::filesystem::temp_directory_path() / ("bertrt-bpe-" + std::to_string(rng()) + "-" + name);
  w.write(path.string());
  return path.string();
}

std::vector<int64_t> ids_from_model(const std::string& path, const std::string& text) {
  bertrt::Model model(path);
  bertrt::Tokenizer tok(model);
  return tok.encode(text).ids;
}

}  // namespace

TEST_CASE("bertrt_tokenizer_from_model: the stored tokenizer.json, else vocab.json + merges, else a clear error") {
  const std::vector<int64_t> want = {0, 31414, 6, 127, 2335, 16, 11962, 2};
  const std::string json = write_model("json.bertrt", {{"tokenizer.json", slurp(data_path("vocab/roberta-base/tokenizer.json"))}});
  CHECK(ids_from_model(json, "Hello, my dog is cute") == want);
  const std::string files = write_model("files.bertrt", {{"tokenizer.vocab_json", slurp(data_path("vocab/roberta-base/vocab.json"))},
                                                         {"tokenizer.merges", slurp(data_path("vocab/roberta-base/merges.txt"))}});
  CHECK(ids_from_model(files, "Hello, my dog is cute") == want);
  const std::string none = write_model("none.bertrt", {});
  bertrt_model* m = nullptr;
  REQUIRE(bertrt_model_open(none.c_str(), nullptr, &m) == BERTRT_OK);
  bertrt_tokenizer* t = nullptr;
  CHECK(bertrt_tokenizer_from_model(m, &t) == BERTRT_ERROR_FORMAT);
  CHECK(t == nullptr);
  CHECK(std::string(bertrt_last_error()).find("no tokenizer") != std::string::npos);
  bertrt_model_free(m);
  const std::string bad = write_model("bad.bertrt", {{"tokenizer.json", "{\"model\": {\"type\": \"WordLevel\"}}"}});
  REQUIRE(bertrt_model_open(bad.c_str(), nullptr, &m) == BERTRT_OK);
  CHECK(bertrt_tokenizer_from_model(m, &t) == BERTRT_ERROR_UNSUPPORTED);
  bertrt_model_free(m);
  for (const auto& p : {json, files, none, bad}) std::filesystem::remove(p);
}

TEST_CASE("SentencePiece Unigram: every t5-small case from tokenizer.json (ids, tokens, types, offsets)") {
  const Tokenizer tok = Tokenizer::from_file(data_path("vocab/t5-small"));
  CHECK(tok.kind() == bertrt::core::TokenizerKind::unigram);
  CHECK(check_cases(tok, data_path("tokenizer-cases/unigram/t5-small.jsonl"), true) == 119);
  CHECK(tok.unk_id() == 2);
  CHECK(tok.pad_id() == 0);
  CHECK(tok.sep_id() == 1);
  CHECK(status_of([&] { tok.encode(std::string("\xE2\x96")); }) == BERTRT_ERROR_INVALID_UTF8);
  // A Unigram model without unk_id, or with byte_fallback, is refused by name.
  CHECK(status_of([] {
          Tokenizer::from_json(R"({"model": {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": null}})");
        }) == BERTRT_ERROR_UNSUPPORTED);
  CHECK(status_of([] {
          Tokenizer::from_json(R"({"model": {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 0, "byte_fallback": true}})");
        }) == BERTRT_ERROR_UNSUPPORTED);
  CHECK(status_of([] {
          Tokenizer::from_json(R"({"model": {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 5}})");
        }) == BERTRT_ERROR_FORMAT);
}

TEST_CASE("SentencePiece Unigram: random texts, offsets inside the text and on character boundaries") {
  std::mt19937 rng(std::random_device{}());
  const Tokenizer tok = Tokenizer::from_file(data_path("vocab/t5-small/tokenizer.json"));
  for (int round = 0; round < 200; ++round) {
    const std::string text = random_text(rng, 1 + rng() % 200);
    const Encoding e = tok.encode(text, nullptr, 0, BERTRT_TRUNCATION_LONGEST_FIRST, false);
    INFO("text=" << text);
    for (std::size_t k = 0; k < e.size(); ++k) {
      const auto s = static_cast<std::size_t>(e.offsets[2 * k]), t = static_cast<std::size_t>(e.offsets[2 * k + 1]);
      CHECK(s <= t);
      CHECK(t <= text.size());
      CHECK((s == text.size() || (static_cast<unsigned char>(text[s]) & 0xC0) != 0x80));
      CHECK((t == text.size() || (static_cast<unsigned char>(text[t]) & 0xC0) != 0x80));
      CHECK(e.ids[k] >= 0);
      CHECK(static_cast<std::size_t>(e.ids[k]) < tok.vocab_size());
    }
  }
  const std::string big = random_text(rng, 1 << 18);
  std::size_t quarter = big.size() / 4;  // on a character boundary
  while (quarter < big.size() && (static_cast<unsigned char>(big[quarter]) & 0xC0) == 0x80) ++quarter;
  const double t_small = seconds_to_encode(tok, big.substr(0, quarter));
  const double t_big = seconds_to_encode(tok, big);
  MESSAGE("Unigram " << big.size() << " bytes: " << t_big << " s, a quarter: " << t_small << " s");
  CHECK(t_big < 8 * t_small + 0.05);
}

TEST_CASE("tokenizer.json: an id that is not an integer is a FORMAT error, not a conversion") {
  const std::string doc = slurp(data_path("vocab/roberta-base/tokenizer.json"));
  const size_t at = doc.find("\"id\": 0,");
  REQUIRE(at != std::string::npos);
  for (const char* bad : {"\"id\": 2.7e84,", "\"id\": 0.5,", "\"id\": \"0\",", "\"id\": 18446744073709551615,"}) {
    std::string broken = doc;
    broken.replace(at, std::strlen("\"id\": 0,"), bad);
    bertrt_tokenizer* t = nullptr;
    CHECK_MESSAGE(bertrt_tokenizer_from_json(broken.data(), broken.size(), &t) == BERTRT_ERROR_FORMAT, bad);
    CHECK(t == nullptr);
  }
}
