// Shared helpers of the tokenizer tests.
#pragma once

#include <time.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace bertrt_test {

// CPU time of the calling thread: linear-time checks compare these, so that other processes on a
// busy machine do not change the ratios.
inline double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The linear-time tests encode megabytes several times to compare CPU times; under a sanitizer or an
// emulator (CI sets BERTRT_TEST_SKIP_TIMING=1 there) that costs minutes and measures the tool, not the
// algorithm. The native release run always includes them.
inline bool timing_tests_skipped() {
  const char* v = std::getenv("BERTRT_TEST_SKIP_TIMING");
  return v != nullptr && v[0] == '1';
}

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
