// torch.save zip reader (pytorch_model.bin): <folder>/data.pkl is interpreted by the restricted
// unpickler; storages are the entries <folder>/data/<key>.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>

#include <zip.h>

#include "common/error.h"
#include "convert/checkpoint.h"
#include "convert/pickle.h"

namespace bertrt::convert {
namespace torch_pickle {
namespace {

[[noreturn]] void fail(bertrt_status status, const std::string& label, const std::string& what) {
  throw Error(status, label + ": " + what);
}

bool mul_ok(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;


// Reads up to `limit` bytes of an entry (all of it when limit is max), growing the buffer only as
// data actually arrives, so a lying size field cannot force a huge allocation.
std::vector<uint8_t> read_entry(zip_t* za, zip_uint64_t index, const std::string& name, uint64_t limit,
                                const std::string& label) {
  std::unique_ptr<zip_file_t, ZipFileCloser> f(zip_fopen_index(za, index, 0));
  if (!f) fail(BERTRT_ERROR_FORMAT, label, "cannot open zip entry " + name + ": " + zip_strerror(za));
  std::vector<uint8_t> out;
  constexpr size_t kChunk = 1 << 20;
  while (out.size() < limit) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, limit - out.size()));
    const size_t old = out.size();
    out.resize(old + want);
    const zip_int64_t got = zip_fread(f.get(), out.data() + old, want);
    if (got < 0) fail(BERTRT_ERROR_FORMAT, label, "cannot read zip entry " + name + ": " + zip_file_strerror(f.get()));
    out.resize(old + static_cast<size_t>(got));
    if (got == 0) break;
  }
  return out;
}

std::vector<SourceTensor> read_archive(zip_t* za, const std::string& label) {
  const zip_int64_t n = zip_get_num_entries(za, 0);
  if (n < 0) fail(BERTRT_ERROR_FORMAT, label, "cannot list the zip entries");
  std::string folder;
  zip_uint64_t pkl_index = 0;
  bool found = false;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(n); ++i) {
    const char* name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
    if (!name) continue;
    const std::string s = name;
    constexpr const char* kSuffix = "/data.pkl";
    const size_t slen = std::strlen(kSuffix);
    if (s.size() <= slen || s.compare(s.size() - slen, slen, kSuffix) != 0) continue;
    const std::string f = s.substr(0, s.size() - slen);
    if (f.find('/') != std::string::npos) continue;
    if (found) fail(BERTRT_ERROR_FORMAT, label, "the archive holds two pickles: " + folder + "/data.pkl and " + s);
    folder = f;
    pkl_index = i;
    found = true;
  }
  if (!found) fail(BERTRT_ERROR_FORMAT, label, "no <folder>/data.pkl entry: not a torch.save archive");

  const zip_int64_t bo = zip_name_locate(za, (folder + "/byteorder").c_str(), ZIP_FL_ENC_RAW);
  if (bo >= 0) {
    std::vector<uint8_t> b = read_entry(za, static_cast<zip_uint64_t>(bo), folder + "/byteorder", 16, label);
    const std::string order(b.begin(), b.end());
    if (order != "little") fail(BERTRT_ERROR_UNSUPPORTED, label, "byte order '" + order + "' is unsupported");
  }

  constexpr uint64_t kMaxPickle = 1ull << 30;
  std::vector<uint8_t> pkl = read_entry(za, pkl_index, folder + "/data.pkl", kMaxPickle, label);
  StateDict dict = load_state_dict(pkl.data(), pkl.size(), label + " (" + folder + "/data.pkl)");

  std::map<size_t, std::vector<uint8_t>> cache;
  auto storage_bytes = [&](size_t si) -> const std::vector<uint8_t>& {
    auto it = cache.find(si);
    if (it != cache.end()) return it->second;
    const StorageRef& s = dict.storages[si];
    const std::string entry = folder + "/data/" + s.key;
    const zip_int64_t idx = zip_name_locate(za, entry.c_str(), ZIP_FL_ENC_RAW);
    if (idx < 0) fail(BERTRT_ERROR_FORMAT, label, "storage entry " + entry + " is missing");
    uint64_t nbytes = 0;
    if (!mul_ok(s.numel, source_dtype_size(s.dtype), &nbytes))
      fail(BERTRT_ERROR_FORMAT, label, "storage " + s.key + " size overflows");
    std::vector<uint8_t> data = read_entry(za, static_cast<zip_uint64_t>(idx), entry, nbytes, label);
    if (data.size() < nbytes)
      fail(BERTRT_ERROR_FORMAT, label,
           "storage entry " + entry + " holds " + std::to_string(data.size()) + " bytes, " + std::to_string(nbytes) +
               " expected (truncated?)");
    return cache.emplace(si, std::move(data)).first->second;
  };
  return materialize(dict, storage_bytes, label);
}

std::vector<SourceTensor> open_and_read(zip_source_t* src, const std::string& label) {
  zip_error_t err;
  zip_error_init(&err);
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY, &err);
  if (!za) {
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    zip_source_free(src);
    fail(BERTRT_ERROR_FORMAT, label, "not a readable zip archive: " + msg);
  }
  zip_error_fini(&err);
  ZipPtr guard(za);
  return read_archive(za, label);
}

void check_magic(const uint8_t* head, size_t n, const std::string& label) {
  if (n >= 2 && head[0] == 'P' && head[1] == 'K') return;
  if (n >= 1 && head[0] == 0x80)
    fail(BERTRT_ERROR_UNSUPPORTED, label, "legacy torch.save format is unsupported; re-save with a current torch");
  fail(BERTRT_ERROR_FORMAT, label, "not a torch.save zip archive");
}

}  // namespace

std::vector<SourceTensor> materialize(const StateDict& dict,
                                      const std::function<const std::vector<uint8_t>&(size_t)>& storage_bytes,
                                      const std::string& label) {
  std::vector<SourceTensor> out;
  out.reserve(dict.tensors.size());
  for (const TensorRecord& r : dict.tensors) {
    if (r.storage >= dict.storages.size()) fail(BERTRT_ERROR_FORMAT, label, "tensor " + r.name + " names an unknown storage");
    if (r.size.size() != r.stride.size()) fail(BERTRT_ERROR_FORMAT, label, "tensor " + r.name + ": size and stride differ in length");
    const StorageRef& s = dict.storages[r.storage];
    const size_t elsize = source_dtype_size(s.dtype);
    SourceTensor t;
    t.name = r.name;
    t.dtype = s.dtype;
    t.shape = r.size;

    uint64_t numel = 1;
    uint64_t last = r.offset;  // highest element index touched
    bool ok = true;
    for (size_t d = 0; d < r.size.size(); ++d) {
      if (r.size[d] < 0 || r.stride[d] < 0) ok = false;
      const uint64_t sz = static_cast<uint64_t>(r.size[d]);
      ok = ok && mul_ok(numel, sz, &numel);
    }
    if (!ok) fail(BERTRT_ERROR_FORMAT, label, "tensor " + r.name + " has an invalid shape");
    if (numel == 0) {
      out.push_back(std::move(t));
      continue;
    }
    for (size_t d = 0; d < r.size.size(); ++d) {
      uint64_t reach = 0;
      ok = ok && mul_ok(static_cast<uint64_t>(r.size[d] - 1), static_cast<uint64_t>(r.stride[d]), &reach);
      if (ok && last > std::numeric_limits<uint64_t>::max() - reach) ok = false;
      if (ok) last += reach;
    }
    if (!ok || last >= s.numel)
      fail(BERTRT_ERROR_FORMAT, label,
           "tensor " + r.name + " reaches outside its storage " + s.key + " of " + std::to_string(s.numel) + " elements");
    // A view with more elements than its storage repeats elements (stride 0); a checkpoint has no use
    // for it, and refusing it bounds the output by the input.
    if (numel > s.numel)
      fail(BERTRT_ERROR_UNSUPPORTED, label, "tensor " + r.name + " has more elements than its storage (overlapping view)");

    const std::vector<uint8_t>& src = storage_bytes(r.storage);
    if (src.size() / elsize < s.numel) fail(BERTRT_ERROR_FORMAT, label, "storage " + s.key + " is shorter than declared");
    t.data.resize(static_cast<size_t>(numel) * elsize);

    // Contiguous when every dimension of size > 1 has the row-major stride.
    bool contiguous = true;
    int64_t expect = 1;
    for (size_t d = r.size.size(); d-- > 0;) {
      if (r.size[d] != 1 && r.stride[d] != expect) contiguous = false;
      expect *= r.size[d];
    }
    if (contiguous) {
      std::memcpy(t.data.data(), src.data() + r.offset * elsize, t.data.size());
    } else {
      const size_t rank = r.size.size();
      std::vector<int64_t> idx(rank, 0);
      uint64_t pos = r.offset;
      for (uint64_t e = 0; e < numel; ++e) {
        std::memcpy(t.data.data() + e * elsize, src.data() + pos * elsize, elsize);
        for (size_t d = rank; d-- > 0;) {
          if (++idx[d] < r.size[d]) {
            pos += static_cast<uint64_t>(r.stride[d]);
            break;
          }
          pos -= static_cast<uint64_t>(r.stride[d]) * static_cast<uint64_t>(r.size[d] - 1);
          idx[d] = 0;
        }
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<SourceTensor> read_torch_zip_memory(const uint8_t* data, size_t size, const std::string& label) {
  check_magic(data, size, label);
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(data, size, 0, &err);
  if (!src) {
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    fail(BERTRT_ERROR_INTERNAL, label, "cannot create a zip source: " + msg);
  }
  zip_error_fini(&err);
  return open_and_read(src, label);
}

}  // namespace torch_pickle

std::vector<SourceTensor> read_torch_zip(const std::string& path) {
  using namespace torch_pickle;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(BERTRT_ERROR_IO, path, "cannot open");
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail(BERTRT_ERROR_IO, path, "is a directory");
    uint8_t head[2] = {0, 0};
    in.read(reinterpret_cast<char*>(head), 2);
    check_magic(head, static_cast<size_t>(in.gcount()), path);
  }
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_file_create(path.c_str(), 0, -1, &err);
  if (!src) {
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    fail(BERTRT_ERROR_IO, path, "cannot open: " + msg);
  }
  zip_error_fini(&err);
  return open_and_read(src, path);
}

}  // namespace bertrt::convert
