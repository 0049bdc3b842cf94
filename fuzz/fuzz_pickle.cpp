// libFuzzer target: the restricted unpickler and the view materialisation on arbitrary data.pkl
// bytes, with zero-filled storages standing in for the archive's data entries.
#include <cstdint>
#include <map>
#include <vector>

#include "common/error.h"
#include "convert/pickle.h"

using namespace bertrt::convert;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    torch_pickle::StateDict dict = torch_pickle::load_state_dict(data, size, "fuzz.pkl");
    std::map<size_t, std::vector<uint8_t>> storages;
    auto bytes = [&](size_t index) -> const std::vector<uint8_t>& {
      auto it = storages.find(index);
      if (it != storages.end()) return it->second;
      const auto& s = dict.storages.at(index);
      // The archive would have to hold this many bytes; keep fake storages small.
      if (s.numel > (1u << 20)) throw bertrt::Error(BERTRT_ERROR_FORMAT, "storage too large for the fuzz harness");
      return storages.emplace(index, std::vector<uint8_t>(s.numel * source_dtype_size(s.dtype))).first->second;
    };
    torch_pickle::materialize(dict, bytes, "fuzz.pkl");
  } catch (const bertrt::Error&) {
  }
  return 0;
}
