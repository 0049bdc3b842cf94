// libFuzzer target: read_safetensors on arbitrary bytes (through a temporary file, the reader's
// only entry point). Any bertrt::Error is an expected rejection; anything else is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "convert/checkpoint.h"

namespace {

std::string temp_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/fuzz_safetensors_" + std::to_string(::getpid()) + ".safetensors";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = temp_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  if (size > 0) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    auto tensors = bertrt::convert::read_safetensors(path);
    size_t total = 0;
    for (const auto& t : tensors) total += t.data.size();
    if (total > size) __builtin_trap();  // every byte returned must come from the input
  } catch (const bertrt::Error&) {
  }
  return 0;
}
