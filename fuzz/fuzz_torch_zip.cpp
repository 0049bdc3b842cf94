// libFuzzer target: the torch zip reader (zip parsing, restricted unpickler, storage views) on an
// in-memory archive. Any bertrt::Error is an expected rejection; anything else is a finding.
#include <cstdint>

#include "common/error.h"
#include "convert/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    bertrt::convert::torch_pickle::read_torch_zip_memory(data, size, "fuzz.bin");
  } catch (const bertrt::Error&) {
  }
  return 0;
}
