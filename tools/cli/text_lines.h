// Lines of the commands' text input files: plain text (one text a line) or JSON lines (.jsonl: one
// object a line with a string field "text", blank lines skipped). embed, tokenize and the task-head
// commands read their --input files through these.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "bertrt/bertrt.h"
#include "bertrt/error.hpp"

namespace bertrt::cli {

inline bool is_jsonl(const std::string& path) {
  return path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
}

// Drops the '\r' of a CRLF line end.
inline void strip_cr(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

inline bool is_blank(const std::string& line) { return line.find_first_not_of(" \t") == std::string::npos; }

// One JSON-lines object with its string "text" checked; where ("FILE:LINE") names the line in errors.
inline nlohmann::json parse_text_object(const std::string& line, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, where + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, where + ": needs a string field \"text\"");
  return j;
}

}  // namespace bertrt::cli
