// What the task-head commands (classify, rerank, tag, fill-mask, embed --sparse) share on the
// command line: reading texts, the model with its session and tokenizer, encoding, JSON output.
#pragma once

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "cli/args.h"

namespace bertrt::cli {

// Texts of FILE: a .jsonl file's objects' "text" strings, any other file's lines.
std::vector<std::string> read_texts(const std::string& path);

// Positional texts after MODEL, plus --input FILE when the command takes it; at least one.
std::vector<std::string> gather_texts(const Args& args, const char* command);

// A model opened for a head verb, with a session (--threads) and its tokenizer.
struct VerbModel {
  Model model;
  Session session;
  std::unique_ptr<Tokenizer> tokenizer;
  size_t max_length = 0;  // --max-length, else the model's max_sequence_length
  size_t batch_size = 32; // --batch-size
  VerbModel(const Args& args, const std::string& path);
  // Encodes (text, pair) cut to max_length; counts the texts that were cut.
  Encoding encode(const std::string& text, const std::string* pair = nullptr,
                  bertrt_truncation truncation = BERTRT_TRUNCATION_LONGEST_FIRST);
  const Tokenizer& tok() const;
  size_t truncated = 0;
};

// Reports texts cut to max_length on stderr (nothing when none was).
void report_truncated(const VerbModel& m, const char* command);

// A float as a JSON number of float precision (9 significant digits, not the double's 17).
inline double json_float(float x) {
  if (!std::isfinite(x)) return static_cast<double>(x);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(x));
  return std::strtod(buf, nullptr);
}

// One JSON object a line on stdout.
void print_json_line(const nlohmann::ordered_json& j);

// The value options every head verb takes.
inline const std::set<std::string> kVerbValueOptions = {"--input", "--threads", "--max-length", "--batch-size"};

}  // namespace bertrt::cli
