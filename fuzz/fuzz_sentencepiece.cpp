// libFuzzer target: a SentencePiece .model (arbitrary bytes) through the converter's reader
// (convert::spm::tokenizer_json; the family and T5's extra_ids follow the input's size), the resulting
// tokenizer.json through bertrt_tokenizer_from_json, and the tokenizer exercised
// (tokenizer_exercise.h). A bertrt::Error is an expected rejection, and the document the reader
// makes must always load.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bertrt/bertrt.h"
#include "common/error.h"
#include "convert/sentencepiece.h"
#include "tokenizer_exercise.h"

namespace spm = bertrt::convert::spm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  spm::Options options;
  options.family = size % 3 == 1 ? spm::Family::xlm_roberta : size % 3 == 2 ? spm::Family::camembert : spm::Family::t5;
  options.extra_ids = static_cast<int>(size % 7) * 3;
  std::string json;
  try {
    json = spm::tokenizer_json(bytes, options);
  } catch (const bertrt::Error&) {
    return 0;
  }
  bertrt_tokenizer* tok = nullptr;
  const bertrt_status status = bertrt_tokenizer_from_json(json.data(), json.size(), &tok);
  // The reader checked what the loader checks, except the charsmap, which only the loader reads.
  fuzz_support::require(status == BERTRT_OK || status == BERTRT_ERROR_FORMAT);
  if (status != BERTRT_OK) return 0;
  fuzz_support::exercise(tok);
  bertrt_tokenizer_free(tok);
  return 0;
}
