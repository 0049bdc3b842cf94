// tf_model.h5 reader (Keras 2 save_weights layout as Hugging Face TF BERT models write it).
// BERT's weights are taken from the `bert` layer group only; the pre-training heads (nsp___cls,
// mlm___cls) are skipped. Names are mapped to PyTorch's and kernels transposed to [out, in].
#include "common/error.h"
#include "convert/checkpoint.h"

#ifdef BERTRT_HAVE_HDF5

#include <hdf5.h>

#include <cstring>
#include <limits>

namespace bertrt::convert {
namespace {

constexpr int kMaxRank = 32;

[[noreturn]] void fail(bertrt_status status, const std::string& path, const std::string& what) {
  throw Error(status, path + ": " + what);
}

// Owns one HDF5 identifier.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);
  Hid(hid_t id, Closer close) : id_(id), close_(close) {}
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  Closer close_;
};

// Silences HDF5's error printing while a reader runs; errors become bertrt::Error instead.
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

bool has_attr(hid_t loc, const std::string& name) { return H5Aexists(loc, name.c_str()) > 0; }

// A 1-D attribute of fixed- or variable-length strings.
std::vector<std::string> read_string_attr_one(hid_t loc, const std::string& name, const std::string& path) {
  Hid attr(H5Aopen(loc, name.c_str(), H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) fail(BERTRT_ERROR_FORMAT, path, "cannot open attribute " + name);
  Hid type(H5Aget_type(attr.get()), H5Tclose);
  Hid space(H5Aget_space(attr.get()), H5Sclose);
  if (!type.ok() || !space.ok() || H5Tget_class(type.get()) != H5T_STRING)
    fail(BERTRT_ERROR_FORMAT, path, "attribute " + name + " is not a string array");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 1) fail(BERTRT_ERROR_FORMAT, path, "attribute " + name + " is not one-dimensional");
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0 || count > (1 << 24)) fail(BERTRT_ERROR_FORMAT, path, "attribute " + name + " has a bad size");
  std::vector<std::string> out;
  const size_t n = static_cast<size_t>(count);
  if (H5Tis_variable_str(type.get()) > 0) {
    Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    std::vector<char*> ptrs(n, nullptr);
    if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0) fail(BERTRT_ERROR_FORMAT, path, "cannot read attribute " + name);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    const size_t width = H5Tget_size(type.get());
    if (width == 0 || width > (1 << 20)) fail(BERTRT_ERROR_FORMAT, path, "attribute " + name + " has a bad string width");
    std::vector<char> buf(n * width);
    if (n > 0 && H5Aread(attr.get(), type.get(), buf.data()) < 0)
      fail(BERTRT_ERROR_FORMAT, path, "cannot read attribute " + name);
    for (size_t k = 0; k < n; ++k) {
      const char* s = buf.data() + k * width;
      out.emplace_back(s, strnlen(s, width));
    }
  }
  return out;
}

// Keras splits long attributes into name0, name1, ... when they exceed the HDF5 header limit.
std::vector<std::string> read_string_attr(hid_t loc, const std::string& name, const std::string& path) {
  if (has_attr(loc, name)) return read_string_attr_one(loc, name, path);
  std::vector<std::string> out;
  for (int chunk = 0; has_attr(loc, name + std::to_string(chunk)); ++chunk) {
    auto part = read_string_attr_one(loc, name + std::to_string(chunk), path);
    out.insert(out.end(), part.begin(), part.end());
  }
  if (out.empty()) fail(BERTRT_ERROR_FORMAT, path, "attribute " + name + " is missing (not a Keras weights file?)");
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return parts;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// "<model>/bert/encoder/layer_._0/attention/self/query/kernel:0" ->
// "bert.encoder.layer.0.attention.self.query.weight"; *transpose set for kernels.
std::string map_name(const std::string& weight_name, bool* transpose, const std::string& path) {
  const auto parts = split(weight_name, '/');
  if (parts.size() < 4 || parts[1] != "bert")
    fail(BERTRT_ERROR_FORMAT, path, "unexpected weight name " + weight_name + " in the bert layer");
  std::string leaf = parts.back();
  if (leaf.size() < 3 || leaf.compare(leaf.size() - 2, 2, ":0") != 0)
    fail(BERTRT_ERROR_FORMAT, path, "unexpected weight name " + weight_name);
  leaf.resize(leaf.size() - 2);
  *transpose = false;
  std::string mapped;
  if (leaf == "kernel") {
    mapped = "weight";
    *transpose = true;
  } else if (leaf == "bias" || leaf == "beta") {
    mapped = "bias";
  } else if (leaf == "gamma" || leaf == "weight" || leaf == "embeddings") {
    mapped = "weight";
  } else {
    fail(BERTRT_ERROR_FORMAT, path, "unrecognised weight " + weight_name);
  }
  std::string out = "bert";
  for (size_t k = 2; k + 1 < parts.size(); ++k) {
    const std::string& p = parts[k];
    if (p.empty()) fail(BERTRT_ERROR_FORMAT, path, "unexpected weight name " + weight_name);
    if (p.rfind("layer_._", 0) == 0) {
      const std::string num = p.substr(8);
      if (!all_digits(num)) fail(BERTRT_ERROR_FORMAT, path, "unexpected layer name in " + weight_name);
      out += ".layer." + num;
    } else {
      out += "." + p;
    }
  }
  return out + "." + mapped;
}

SourceTensor read_dataset(hid_t group, const std::string& weight_name, const std::string& path) {
  Hid ds(H5Dopen2(group, weight_name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) fail(BERTRT_ERROR_FORMAT, path, "dataset bert/" + weight_name + " is missing");
  Hid ftype(H5Dget_type(ds.get()), H5Tclose);
  Hid space(H5Dget_space(ds.get()), H5Sclose);
  if (!ftype.ok() || !space.ok()) fail(BERTRT_ERROR_FORMAT, path, "cannot inspect dataset " + weight_name);
  SourceTensor t;
  const H5T_class_t cls = H5Tget_class(ftype.get());
  const size_t size = H5Tget_size(ftype.get());
  if (cls == H5T_FLOAT && size == 4) t.dtype = SourceDType::f32;
  else if (cls == H5T_FLOAT && size == 2) t.dtype = SourceDType::f16;
  else if (cls == H5T_FLOAT && size == 8) t.dtype = SourceDType::f64;
  else if (cls == H5T_INTEGER && size == 8 && H5Tget_sign(ftype.get()) == H5T_SGN_2) t.dtype = SourceDType::i64;
  else if (cls == H5T_INTEGER && size == 4 && H5Tget_sign(ftype.get()) == H5T_SGN_2) t.dtype = SourceDType::i32;
  else fail(BERTRT_ERROR_UNSUPPORTED, path, "dataset " + weight_name + " has an unsupported element type");

  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > kMaxRank) fail(BERTRT_ERROR_FORMAT, path, "dataset " + weight_name + " has a bad rank");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  uint64_t numel = 1;
  for (hsize_t d : dims) {
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        (d != 0 && numel > std::numeric_limits<uint64_t>::max() / d))
      fail(BERTRT_ERROR_FORMAT, path, "dataset " + weight_name + " is too large");
    numel *= d;
    t.shape.push_back(static_cast<int64_t>(d));
  }
  const uint64_t elsize = source_dtype_size(t.dtype);
  if (numel > std::numeric_limits<uint64_t>::max() / elsize) fail(BERTRT_ERROR_FORMAT, path, "dataset " + weight_name + " is too large");
  const uint64_t nbytes = numel * elsize;
  // Bounded by the bytes the file really stores (compression allowed), so a forged extent cannot
  // force a huge allocation.
  const uint64_t stored = H5Dget_storage_size(ds.get());
  if (nbytes > 0 && (stored == 0 || nbytes / 1100 > stored))
    fail(BERTRT_ERROR_FORMAT, path, "dataset " + weight_name + " stores fewer bytes than its shape needs");

  std::vector<uint8_t> raw(static_cast<size_t>(nbytes));
  if (nbytes > 0) {
    Hid mtype(H5Tcopy(ftype.get()), H5Tclose);
    if (!mtype.ok() || H5Tset_order(mtype.get(), H5T_ORDER_LE) < 0 ||
        H5Dread(ds.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0)
      fail(BERTRT_ERROR_FORMAT, path, "cannot read dataset " + weight_name);
  }
  t.data = std::move(raw);
  return t;
}

void transpose_2d(SourceTensor& t, const std::string& path) {
  if (t.shape.size() != 2) fail(BERTRT_ERROR_FORMAT, path, t.name + ": a kernel must be two-dimensional");
  const size_t rows = static_cast<size_t>(t.shape[0]), cols = static_cast<size_t>(t.shape[1]);
  const size_t es = source_dtype_size(t.dtype);
  std::vector<uint8_t> out(t.data.size());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) std::memcpy(&out[(c * rows + r) * es], &t.data[(r * cols + c) * es], es);
  t.data = std::move(out);
  t.shape = {static_cast<int64_t>(cols), static_cast<int64_t>(rows)};
}

}  // namespace

std::vector<SourceTensor> read_tf_h5(const std::string& path) {
  QuietHdf5 quiet;
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 < 0) fail(BERTRT_ERROR_IO, path, "cannot open");
  if (is_h5 == 0) fail(BERTRT_ERROR_FORMAT, path, "not an HDF5 file");
  Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) fail(BERTRT_ERROR_FORMAT, path, "cannot open as HDF5");
  Hid root(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose);
  if (!root.ok()) fail(BERTRT_ERROR_FORMAT, path, "cannot open the root group");

  const auto layers = read_string_attr(root.get(), "layer_names", path);
  bool has_bert = false;
  for (const auto& l : layers) has_bert = has_bert || l == "bert";
  if (!has_bert) fail(BERTRT_ERROR_FORMAT, path, "no 'bert' layer in layer_names (not a Hugging Face TF BERT checkpoint)");
  Hid bert(H5Gopen2(root.get(), "bert", H5P_DEFAULT), H5Gclose);
  if (!bert.ok()) fail(BERTRT_ERROR_FORMAT, path, "layer group 'bert' is missing");
  const auto weights = read_string_attr(bert.get(), "weight_names", path);

  std::vector<SourceTensor> out;
  out.reserve(weights.size());
  for (const auto& w : weights) {
    bool transpose = false;
    const std::string name = map_name(w, &transpose, path);
    SourceTensor t = read_dataset(bert.get(), w, path);
    t.name = name;
    if (transpose) transpose_2d(t, path);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace bertrt::convert

#else  // !BERTRT_HAVE_HDF5

namespace bertrt::convert {

std::vector<SourceTensor> read_tf_h5(const std::string& path) {
  throw Error(BERTRT_ERROR_UNSUPPORTED, path + ": tf_model.h5 support is not available (built without HDF5)");
}

}  // namespace bertrt::convert

#endif
