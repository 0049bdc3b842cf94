// libFuzzer target: the tokenizer on arbitrary bytes (invalid UTF-8 must be an error, never a
// crash), with a pair and truncation derived from the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "tokenizer/tokenizer.h"

namespace {
const bertrt::core::Tokenizer& tokenizer() {
  static const bertrt::core::Tokenizer t = [] {
    std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "b", "##b", "hello",
                                      "##llo", "he", "中", "é", "##é", ",", "."};
    return bertrt::core::Tokenizer(vocab);
  }();
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = all.size() / 2;
  const std::string_view text = all.substr(0, split), pair = all.substr(split);
  const size_t max_length = data[0] & 0x3f;
  const auto strategy = static_cast<bertrt_truncation>((data[0] >> 6) % 3);
  try {
    (void)tokenizer().encode(text, (data[0] & 1) ? &pair : nullptr, max_length, strategy);
  } catch (const bertrt::Error&) {
  }
  return 0;
}
