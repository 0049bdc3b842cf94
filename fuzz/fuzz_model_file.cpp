// libFuzzer target: the model-file loader (header, metadata, tensor table, config validation).
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // No checksums, so that the structural checks see the mutations.
    auto model = bertrt::core::Model::from_memory(data, size, bertrt::format::Verify::none);
    (void)model->config().hidden_size;
  } catch (const bertrt::Error&) {
  }
  return 0;
}
