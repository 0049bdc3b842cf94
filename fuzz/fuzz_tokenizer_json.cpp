// libFuzzer target: bertrt_tokenizer_from_json on arbitrary bytes (a tokenizer.json document). A
// bertrt::Error status is an expected rejection; a document that loads is exercised
// (tokenizer_exercise.h).
#include <cstddef>
#include <cstdint>

#include "bertrt/bertrt.h"
#include "tokenizer_exercise.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bertrt_tokenizer* tok = nullptr;
  if (bertrt_tokenizer_from_json(reinterpret_cast<const char*>(data), size, &tok) != BERTRT_OK) return 0;
  fuzz_support::exercise(tok);
  bertrt_tokenizer_free(tok);
  return 0;
}
