// Every conformance case of tests/data/tokenizer-cases must match exactly (ids, tokens, types).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer_test_util.h"

namespace {

using bertrt_test::tokenizer_for;

bertrt_truncation strategy(const std::string& s) {
  if (s == "only_first") return BERTRT_TRUNCATION_ONLY_FIRST;
  if (s == "only_second") return BERTRT_TRUNCATION_ONLY_SECOND;
  REQUIRE(s == "longest_first");
  return BERTRT_TRUNCATION_LONGEST_FIRST;
}

struct Outcome {
  int cases = 0;
  int matched = 0;
  int matched_other = 0;  // divergent cases whose ids equal one of the other implementations' answers
};

// Runs every case of one file; strict: each mismatch is a failed check.
Outcome run_file(const std::filesystem::path& path, bool strict) {
  Outcome out;
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json c = nlohmann::json::parse(line);
    ++out.cases;
    const bertrt::core::Tokenizer& tok = tokenizer_for(c.at("vocab").get<std::string>());
    std::string text = c.at("text").get<std::string>();
    std::string pair;
    bool has_pair = c.contains("text_pair");
    if (has_pair) pair = c.at("text_pair").get<std::string>();
    std::size_t max_length = c.value("max_length", 0);
    bertrt_truncation trunc = strategy(c.value("truncation", std::string("longest_first")));
    std::string_view pv(pair);
    bertrt::core::Encoding e = tok.encode(text, has_pair ? &pv : nullptr, max_length, trunc);

    auto want_ids = c.at("ids").get<std::vector<int64_t>>();
    auto want_tokens = c.at("tokens").get<std::vector<std::string>>();
    auto want_types = c.at("token_type_ids").get<std::vector<int64_t>>();
    std::vector<std::string> got_tokens;
    for (auto sv : tok.tokens(e)) got_tokens.emplace_back(sv);
    bool ok = e.ids == want_ids && got_tokens == want_tokens && e.token_type_ids == want_types;
    if (ok) ++out.matched;
    if (c.contains("divergent")) {
      for (const auto& [impl, ids] : c.at("divergent").items()) {
        if (e.ids == ids.get<std::vector<int64_t>>()) {
          ++out.matched_other;
          break;
        }
      }
    }
    if (strict) {
      INFO(path.filename().string() << ":" << line_no << " text=" << text);
      CHECK(e.ids == want_ids);
      CHECK(got_tokens == want_tokens);
      CHECK(e.token_type_ids == want_types);
      // Structural invariants of every encoding.
      REQUIRE(e.offsets.size() == 2 * e.ids.size());
      CHECK(e.attention_mask == std::vector<int64_t>(e.ids.size(), 1));
      if (max_length != 0) CHECK(e.ids.size() <= max_length);
      for (std::size_t i = 0; i < e.ids.size(); ++i) {
        int64_t seq = e.sequence_ids[i];
        if (seq < 0) {
          CHECK(e.offsets[2 * i] == 0);
          CHECK(e.offsets[2 * i + 1] == 0);
          continue;
        }
        std::size_t len = seq == 0 ? text.size() : pair.size();
        CHECK(e.offsets[2 * i] <= e.offsets[2 * i + 1]);
        CHECK(static_cast<std::size_t>(e.offsets[2 * i + 1]) <= len);
      }
    }
  }
  return out;
}

std::vector<std::filesystem::path> case_files(const std::string& folder) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("tokenizer conformance: all cases match the Rust tokenizers 0.23 answers") {
  auto files = case_files(bertrt_test::data_path("tokenizer-cases"));
  REQUIRE(files.size() == 5);
  int total = 0, matched = 0;
  for (const auto& f : files) {
    Outcome o = run_file(f, true);
    CHECK(o.cases == 74);
    total += o.cases;
    matched += o.matched;
  }
  MESSAGE("tokenizer conformance: " << matched << " of " << total << " cases match");
  CHECK(total == 370);
  CHECK(matched == total);
}

TEST_CASE("tokenizer conformance: divergent cases (information only)") {
  int total = 0, matched = 0, other = 0;
  for (const auto& f : case_files(bertrt_test::data_path("tokenizer-cases/divergent"))) {
    Outcome o = run_file(f, false);
    total += o.cases;
    matched += o.matched;
    other += o.matched_other;
  }
  MESSAGE("divergent cases: " << matched << " of " << total << " match the Rust 0.23 ids, " << other
                              << " match another implementation's answer listed in the case");
}
