// Shared helpers of the tokenizer tests.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace bertrt_test {

inline std::string data_path(const std::string& rel) { return std::string(BERTRT_TEST_DATA_DIR) + "/" + rel; }

// A tokenizer for a case-file vocabulary name ("bert-base-uncased", "bert-base-cased@cased", ...),
// built once per name.
inline const bertrt::core::Tokenizer& tokenizer_for(const std::string& name) {
  static std::map<std::string, std::unique_ptr<bertrt::core::Tokenizer>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return *it->second;
  std::string folder = name;
  bertrt::core::TokenizerConfig config;
  auto at = name.find('@');
  if (at != std::string::npos) {
    folder = name.substr(0, at);
    if (name.substr(at + 1) == "cased") {
      config.do_lower_case = false;
      config.strip_accents = 0;
    }
  }
  auto tok = std::make_unique<bertrt::core::Tokenizer>(
      bertrt::core::Tokenizer::from_vocab_file(data_path("vocab/" + folder + "/vocab.txt"), config));
  return *cache.emplace(name, std::move(tok)).first->second;
}

}  // namespace bertrt_test
