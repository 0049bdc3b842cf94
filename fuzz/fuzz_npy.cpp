// libFuzzer target: the .npy reader.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "common/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const bertrt::npy::Array a = bertrt::npy::parse(data, size, "fuzz.npy");
    try {
      (void)bertrt::npy::as_int64(a, "ids");
    } catch (const bertrt::Error&) {
    }
    try {
      (void)bertrt::npy::as_float32(a, "vectors");
    } catch (const bertrt::Error&) {
    }
  } catch (const bertrt::Error&) {
  }
  return 0;
}
