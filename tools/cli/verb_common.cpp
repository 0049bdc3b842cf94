// Shared command-line plumbing of the task-head commands (see verb_common.h).
#include "cli/verb_common.h"

#include "cli/text_lines.h"

#include <fstream>
#include <iostream>

namespace bertrt::cli {

std::vector<std::string> read_texts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(BERTRT_ERROR_IO, "cannot read '" + path + "'");
  const bool jsonl = is_jsonl(path);
  std::vector<std::string> texts;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    strip_cr(line);
    if (!jsonl) {
      texts.push_back(std::move(line));
      continue;
    }
    if (is_blank(line)) continue;
    texts.push_back(parse_text_object(line, path + ":" + std::to_string(number))["text"].get<std::string>());
  }
  return texts;
}

std::vector<std::string> gather_texts(const Args& args, const char* command) {
  std::vector<std::string> texts(args.positional().begin() + 1, args.positional().end());
  if (auto file = args.value("--input")) {
    std::vector<std::string> more = read_texts(*file);
    texts.insert(texts.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  if (texts.empty())
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string(command) + " needs TEXT arguments or --input FILE");
  return texts;
}

VerbModel::VerbModel(const Args& args, const std::string& path) : model(path), session(model) {
  const long threads = args.integer("--threads", 0);
  const long max_len = args.integer("--max-length", 0);
  const long batch = args.integer("--batch-size", 32);
  if (threads < 0 || max_len < 0 || batch <= 0)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--threads and --max-length must not be negative, --batch-size positive");
  session.set_threads(static_cast<int>(threads));
  max_length = max_len > 0 ? static_cast<size_t>(max_len) : static_cast<size_t>(model.config().max_sequence_length);
  batch_size = static_cast<size_t>(batch);
}

const Tokenizer& VerbModel::tok() const {
  if (!tokenizer) throw Error(BERTRT_ERROR_INTERNAL, "no tokenizer");
  return *tokenizer;
}

Encoding VerbModel::encode(const std::string& text, const std::string* pair, bertrt_truncation truncation) {
  if (!tokenizer) tokenizer = std::make_unique<Tokenizer>(model);  // BERTRT_ERROR_FORMAT: the model holds none
  Encoding full = tokenizer->encode(text, pair, 0, truncation);
  if (full.ids.size() <= max_length) return full;
  ++truncated;
  return tokenizer->encode(text, pair, max_length, truncation);
}

void report_truncated(const VerbModel& m, const char* command) {
  if (m.truncated)
    std::fprintf(stderr, "bertrt %s: %zu texts truncated to %zu tokens\n", command, m.truncated, m.max_length);
}

void print_json_line(const nlohmann::ordered_json& j) {
  std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

}  // namespace bertrt::cli
