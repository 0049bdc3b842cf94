// bertrt tokenize: text -> ids, tokens, types, mask and byte offsets as JSON lines.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>

#include "bertrt/bertrt.hpp"
#include "bertrt/convert.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/text_lines.h"

namespace bertrt::cli {
namespace {

struct Input {
  std::string text;
  std::optional<std::string> pair;
};

std::vector<Input> read_inputs(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(BERTRT_ERROR_IO, "cannot read '" + path + "'");
  const bool jsonl = path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
  std::vector<Input> inputs;
  std::string line;
  size_t number = 0;
  while (std::getline(f, line)) {
    ++number;
    strip_cr(line);
    if (!jsonl) {
      inputs.push_back({line, std::nullopt});
      continue;
    }
    if (is_blank(line)) continue;
    const nlohmann::json j = parse_text_object(line, path + ":" + std::to_string(number));
    Input in{j["text"].get<std::string>(), std::nullopt};
    if (j.contains("text_pair") && j["text_pair"].is_string()) in.pair = j["text_pair"].get<std::string>();
    inputs.push_back(std::move(in));
  }
  return inputs;
}

// --tokenizer PATH: a SentencePiece .model, or a folder whose only tokenizer is one, goes through
// the converter's reader (family from --sentencepiece-family, else the folder's
// tokenizer_config.json / config.json, else T5); anything else through Tokenizer::from_file.
Tokenizer open_tokenizer(const std::string& path, const std::optional<std::string>& family) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::error_code ec;
  bool sentencepiece = p.extension() == ".model" && !fs::is_directory(p, ec);
  if (fs::is_directory(p, ec)) {
    const bool other = fs::exists(p / "tokenizer.json", ec) ||
                       (fs::exists(p / "vocab.json", ec) && fs::exists(p / "merges.txt", ec)) ||
                       fs::exists(p / "vocab.txt", ec);
    sentencepiece = !other && (fs::exists(p / "spiece.model", ec) || fs::exists(p / "sentencepiece.bpe.model", ec));
  }
  if (!sentencepiece) {
    if (family) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--sentencepiece-family needs a SentencePiece .model");
    return Tokenizer::from_file(path);
  }
  char* json = nullptr;
  size_t len = 0;
  const bertrt_status status =
      bertrt_sentencepiece_to_tokenizer_json(path.c_str(), family ? family->c_str() : nullptr, &json, &len);
  if (status != BERTRT_OK) throw Error(status, bertrt_last_error());
  const std::unique_ptr<char, decltype(&std::free)> owned(json, &std::free);
  return Tokenizer::from_json(std::string_view(json, len));
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  const Args args(argc, argv, 2,
                  {"--vocab", "--tokenizer", "--sentencepiece-family", "--pair", "--max-length", "--truncation", "--input"},
                  {"--help", "--cased", "--verify-weights", "--no-special-tokens"});
  if (args.flag("--help")) {
    std::puts(
        "usage: bertrt tokenize (MODEL | --tokenizer PATH | --vocab vocab.txt [--cased]) [--pair TEXT]\n"
        "         [--max-length N] [--truncation longest_first|only_first|only_second]\n"
        "         [--no-special-tokens] [--input FILE] TEXT...\n"
        "Prints one JSON object per input: ids, tokens, token_type_ids, attention_mask and offsets\n"
        "([start, end) in bytes of the UTF-8 input; [0, 0] for special tokens). --input FILE.jsonl reads\n"
        "objects with \"text\" and optional \"text_pair\"; any other file one text per line.\n"
        "--tokenizer: a tokenizer.json (WordPiece, byte-level BPE or Unigram), a vocab.json with merges.txt\n"
        "beside it, a vocab.txt, a SentencePiece Unigram .model (spiece.model, sentencepiece.bpe.model), or a\n"
        "folder holding one of them.\n"
        "--sentencepiece-family t5|xlm-roberta|camembert: the special tokens and ids a .model gets (default:\n"
        "what tokenizer_config.json or config.json beside it names, else t5: 'A </s>', <extra_id_N>).\n"
        "--no-special-tokens: the texts' tokens alone, without [CLS]/[SEP] or <s>/</s>.\n"
        "--cased: no lowercasing and no accent stripping (with --vocab; default uncased).");
    return 0;
  }
  std::vector<std::string> texts = args.positional();
  std::unique_ptr<Tokenizer> tokenizer;
  if (auto path = args.value("--tokenizer")) {
    tokenizer = std::make_unique<Tokenizer>(open_tokenizer(*path, args.value("--sentencepiece-family")));
  } else if (auto vocab = args.value("--vocab")) {
    bertrt_tokenizer_options options{};
    options.do_lower_case = args.flag("--cased") ? 0 : 1;
    options.strip_accents = args.flag("--cased") ? 0 : -1;
    options.tokenize_chinese_chars = 1;
    tokenizer = std::make_unique<Tokenizer>(*vocab, options);
  } else {
    if (texts.empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "tokenize needs MODEL, --tokenizer or --vocab");
    const Model model(texts.front(), args.flag("--verify-weights"));
    texts.erase(texts.begin());
    tokenizer = std::make_unique<Tokenizer>(model);  // keeps its own copy of the vocabulary
  }
  const size_t max_length = static_cast<size_t>(args.integer("--max-length", 0));
  const std::string strategy = args.value("--truncation").value_or("longest_first");
  bertrt_truncation truncation;
  if (strategy == "longest_first") truncation = BERTRT_TRUNCATION_LONGEST_FIRST;
  else if (strategy == "only_first") truncation = BERTRT_TRUNCATION_ONLY_FIRST;
  else if (strategy == "only_second") truncation = BERTRT_TRUNCATION_ONLY_SECOND;
  else throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--truncation must be longest_first, only_first or only_second");

  std::vector<Input> inputs;
  if (auto file = args.value("--input")) inputs = read_inputs(*file);
  for (const auto& t : texts) inputs.push_back({t, args.value("--pair")});
  if (inputs.empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "nothing to tokenize (give TEXT or --input FILE)");

  const bool special = !args.flag("--no-special-tokens");
  for (const Input& in : inputs) {
    const Encoding e = tokenizer->encode(in.text, in.pair ? &*in.pair : nullptr, max_length, truncation, special);
    nlohmann::ordered_json out;
    out["ids"] = e.ids;
    out["tokens"] = e.tokens;
    out["token_type_ids"] = e.token_type_ids;
    out["attention_mask"] = e.attention_mask;
    nlohmann::ordered_json offsets = nlohmann::ordered_json::array();
    for (size_t i = 0; i < e.ids.size(); ++i) offsets.push_back({e.offsets[2 * i], e.offsets[2 * i + 1]});
    out["offsets"] = offsets;
    std::cout << out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  }
  return 0;
}

}  // namespace bertrt::cli
