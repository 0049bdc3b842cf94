// Restricted unpickler for torch.save state dicts, and the torch zip reader's internals.
//
// Only the opcodes torch.save emits for a state dict are understood, and only a fixed allowlist of
// globals may be named (collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
// _rebuild_parameter, torch.<Type>Storage). Nothing is ever executed: allowed "calls" are
// interpreted by the unpickler itself, and anything else is a format error that names the global.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "convert/checkpoint.h"

namespace bertrt::convert::torch_pickle {

// A storage named by a persistent id ('storage', torch.<Type>Storage, key, location, numel).
struct StorageRef {
  SourceDType dtype = SourceDType::f32;
  std::string key;     // the zip entry <folder>/data/<key> holds its bytes
  uint64_t numel = 0;  // elements of dtype
};

// One state-dict entry: a strided view into a storage (offsets and strides in elements).
struct TensorRecord {
  std::string name;
  size_t storage = 0;  // index into StateDict::storages
  uint64_t offset = 0;
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
};

struct StateDict {
  std::vector<StorageRef> storages;   // distinct storage keys, in first-use order
  std::vector<TensorRecord> tensors;  // in dictionary order; a repeated key keeps its last value
};

// Interprets a data.pkl; `label` prefixes error messages. Throws bertrt::Error (FORMAT, or
// UNSUPPORTED for well-formed but unsupported content).
StateDict load_state_dict(const uint8_t* data, size_t size, const std::string& label);

// Copies every tensor of `dict` out of its storage into a contiguous SourceTensor. `storage_bytes`
// returns the bytes of a storage (at least numel * element size; checked). Shared storages and
// strided views are handled; a view reaching outside its storage is a format error.
std::vector<SourceTensor> materialize(
    const StateDict& dict, const std::function<const std::vector<uint8_t>&(size_t storage_index)>& storage_bytes,
    const std::string& label);

// read_torch_zip on an in-memory archive (`label` names it in messages).
std::vector<SourceTensor> read_torch_zip_memory(const uint8_t* data, size_t size, const std::string& label);

}  // namespace bertrt::convert::torch_pickle
