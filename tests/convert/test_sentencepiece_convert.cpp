// A SentencePiece model through the converter and the command-line tool: a folder whose only
// tokenizer is spiece.model converts with the tokenizer.json made from it stored, and
// bertrt tokenize MODEL, bertrt tokenize --tokenizer spiece.model and --tokenizer FOLDER give every
// t5-small case's ids, tokens, type ids and offsets; the family follows the folder's files.
#include <doctest/doctest.h>

#include <cstdio>

#include "common/fixtures.h"
#include "convert/convert.h"
#include "spm_test_util.h"

using namespace spm_test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs the tool; returns its exit status, stdout in *out (stderr is left out).
int run(const std::string& args, std::string* out) {
  const std::string cmd = quote(BERTRT_CLI) + " " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string text;
  char buf[4096];
  for (size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, got);
  if (out) *out = text;
  return ::pclose(p);
}

// A copy of the XLM-R fixture's config and weights with t5-small's spiece.model beside them
// (with_tokenizer_config: and its tokenizer_config.json, which names T5Tokenizer).
fs::path spm_folder(const std::string& tag, bool with_tokenizer_config) {
  const fs::path dir = bertrt::testing::temp_dir(tag);
  const fs::path model = data_dir() / "fixtures-families" / "models" / "xlmr-tiny";
  for (const char* name : {"config.json", "model.safetensors"}) fs::copy_file(model / name, dir / name);
  fs::copy_file(t5_dir() / "spiece.model", dir / "spiece.model");
  if (with_tokenizer_config) fs::copy_file(t5_dir() / "tokenizer_config.json", dir / "tokenizer_config.json");
  return dir;
}

// The cases without truncation (the tool's --input has no per-line max_length), as a .jsonl file.
std::vector<Case> untruncated_cases(const fs::path& file) {
  std::vector<Case> out;
  std::ofstream f(file);
  for (Case& c : t5_cases()) {
    if (c.max_length != 0) continue;
    json line = {{"text", c.text}};
    if (c.has_pair) line["text_pair"] = c.pair;
    f << line.dump() << "\n";
    out.push_back(std::move(c));
  }
  return out;
}

void check_tool_output(const std::vector<Case>& cases, const std::string& output, const char* where) {
  std::istringstream lines(output);
  size_t i = 0;
  for (std::string line; std::getline(lines, line); ++i) {
    REQUIRE(i < cases.size());
    const json got = json::parse(line);
    check_case(cases[i], got.at("ids").get<std::vector<int64_t>>(), got.at("tokens").get<std::vector<std::string>>(),
               got.at("token_type_ids").get<std::vector<int64_t>>(), flat_offsets(got.at("offsets")), where);
  }
  CHECK(i == cases.size());
}

}  // namespace

TEST_CASE("sentencepiece convert: a folder with only spiece.model stores its tokenizer") {
  const fs::path dir = spm_folder("spm-convert", true);
  const fs::path out = bertrt::testing::temp_dir("spm-convert-out") / "model.bertrt";
  std::vector<std::string> notes;
  bertrt::convert::ConvertOptions o;
  o.note = [&](const std::string& n) { notes.push_back(n); };
  bertrt::convert::convert_directory(dir.string(), out.string(), o);
  bool noted = false;
  for (const std::string& n : notes) noted |= n.find("spiece.model") != std::string::npos;
  CHECK(noted);

  const bertrt::Model model(out.string());
  const bertrt::Tokenizer tok(model);
  for (const Case& c : t5_cases()) check_case(c, tok, "converted model");

  const fs::path input = dir / "cases.jsonl";
  const std::vector<Case> cases = untruncated_cases(input);
  REQUIRE(cases.size() >= 50);
  std::string output;
  REQUIRE(run("tokenize " + quote(out.string()) + " --input " + quote(input.string()), &output) == 0);
  check_tool_output(cases, output, "bertrt tokenize MODEL");
}

TEST_CASE("sentencepiece convert: bertrt tokenize --tokenizer reads a .model and a folder holding one") {
  const fs::path dir = spm_folder("spm-cli", false);
  const fs::path input = dir / "cases.jsonl";
  const std::vector<Case> cases = untruncated_cases(input);
  std::string output;
  // A bare .model (no tokenizer_config.json; config.json says xlm-roberta): told t5.
  const std::string model = quote((dir / "spiece.model").string());
  REQUIRE(run("tokenize --tokenizer " + model + " --sentencepiece-family t5 --input " + quote(input.string()),
              &output) == 0);
  check_tool_output(cases, output, "--tokenizer spiece.model --sentencepiece-family t5");
  // Left to the folder, config.json's xlm-roberta gives fairseq ids: <s> (0) first.
  REQUIRE(run("tokenize --tokenizer " + model + " hello", &output) == 0);
  CHECK(json::parse(output).at("ids").front() == 0);
  CHECK(json::parse(output).at("ids").back() == 2);
  // The t5-small folder itself: tokenizer.json is preferred; a folder with only the .model and
  // tokenizer_config.json (T5Tokenizer) reads the .model.
  fs::copy_file(t5_dir() / "tokenizer_config.json", dir / "tokenizer_config.json");
  REQUIRE(run("tokenize --tokenizer " + quote(dir.string()) + " --input " + quote(input.string()), &output) == 0);
  check_tool_output(cases, output, "--tokenizer FOLDER");
  CHECK(run("tokenize --tokenizer " + model + " --sentencepiece-family gpt2 hello", &output) != 0);
  CHECK(run("tokenize --tokenizer " + quote((t5_dir() / "tokenizer.json").string()) +
                " --sentencepiece-family t5 hello",
            &output) != 0);
}

TEST_CASE("sentencepiece convert: the family comes from config.json when tokenizer_config.json is absent") {
  const fs::path dir = spm_folder("spm-convert-xlmr", false);
  const fs::path out = bertrt::testing::temp_dir("spm-convert-xlmr-out") / "model.bertrt";
  bertrt::convert::convert_directory(dir.string(), out.string(), {});
  const bertrt::Model model(out.string());
  const bertrt::Tokenizer tok(model);
  CHECK(tok.vocab_size() == 32000 + 2);
  CHECK(tok.id_to_token(0) == "<s>");
  CHECK(tok.id_to_token(32001) == "<mask>");
  const bertrt::Encoding e = tok.encode("Hello, my dog is cute");
  // t5-small's ids shifted by one, between <s> and </s>.
  const std::vector<int64_t> t5_ids = {8774, 6, 82, 1782, 19, 5295};
  REQUIRE(e.ids.size() == t5_ids.size() + 2);
  CHECK(e.ids.front() == 0);
  CHECK(e.ids.back() == 2);
  for (size_t i = 0; i < t5_ids.size(); ++i) CHECK(e.ids[i + 1] == t5_ids[i] + 1);
}
