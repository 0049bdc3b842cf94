#include "format/model_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "common/error.h"

namespace bertrt::format {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(BERTRT_ERROR_FORMAT, "model file: " + message); }

// Bounds-checked little-endian reader over [begin, end).
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const char* section) : p_(data), end_(data + size), section_(section) {}
  void need(size_t n) const {
    if (static_cast<size_t>(end_ - p_) < n) fail(std::string(section_) + " is truncated");
  }
  uint64_t u(size_t bytes) {
    need(bytes);
    uint64_t v = 0;
    for (size_t i = bytes; i-- > 0;) v = (v << 8) | p_[i];
    p_ += bytes;
    return v;
  }
  std::string str(size_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* pos() const { return p_; }
  void skip(size_t n) {
    need(n);
    p_ += n;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const char* section_;
};

void put(std::vector<uint8_t>& out, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_at(std::vector<uint8_t>& out, size_t at, uint64_t v) {
  for (size_t i = 0; i < 8; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_str(std::vector<uint8_t>& out, const std::string& s) { out.insert(out.end(), s.begin(), s.end()); }
size_t align_up(size_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

// One metadata value (type byte, length, bytes) at m, for key; m moves past it.
MetaValue read_meta_value(Cursor& m, const std::string& key) {
  MetaValue v;
  v.type = static_cast<MetaType>(m.u(1));
  const uint64_t len = m.u(8);
  m.need(len);
  Cursor val(m.pos(), len, "metadata value");
  switch (v.type) {
    case MetaType::int64:
      if (len != 8) fail("metadata '" + key + "': int64 of length " + std::to_string(len));
      v.i = static_cast<int64_t>(val.u(8));
      break;
    case MetaType::float64: {
      if (len != 8) fail("metadata '" + key + "': float64 of length " + std::to_string(len));
      const uint64_t bits = val.u(8);
      std::memcpy(&v.f, &bits, 8);
      break;
    }
    case MetaType::string: v.s = val.str(len); break;
    case MetaType::string_list: {
      const uint64_t n = val.u(4);
      if (n > len / 4) fail("metadata '" + key + "': list count exceeds its bytes");
      v.list.reserve(n);
      for (uint64_t k = 0; k < n; ++k) v.list.push_back(val.str(val.u(4)));
      break;
    }
    default: fail("metadata '" + key + "': unknown value type " + std::to_string(static_cast<int>(v.type)));
  }
  m.skip(len);
  return v;
}

// Checks that a tensor's byte length matches its dtype, layout and shape (numel elements).
void check_tensor_bytes(const TensorInfo& ti, uint64_t numel) {
  uint64_t expect = 0;
  if (ti.layout == TensorLayout::panel) {
    const bool wide = ti.dtype == TensorDType::f32 || ti.dtype == TensorDType::f16 || ti.dtype == TensorDType::bf16;
    if (!wide || ti.shape.size() != 2)
      fail("tensor '" + ti.name + "': the panel layout needs a 2-D f32, f16 or bf16 tensor");
    if (ti.layout_param != kPanelWidth)
      throw Error(BERTRT_ERROR_UNSUPPORTED, "model file: tensor '" + ti.name + "' has panel width " +
                                                std::to_string(ti.layout_param) + " (supported: 16)");
    if (ti.shape[0] > (uint64_t{1} << 32) || ti.shape[1] > (uint64_t{1} << 32) ||
        panel_bytes(ti.shape[0], ti.shape[1], kPanelWidth, dtype_size(ti.dtype)) != ti.nbytes)
      fail("tensor '" + ti.name + "': byte length " + std::to_string(ti.nbytes) + " does not match its packed shape");
  } else if (ti.layout == TensorLayout::panel_i8) {
    if (ti.dtype != TensorDType::i8 || ti.shape.size() != 2)
      fail("tensor '" + ti.name + "': the panel_i8 layout needs a 2-D i8 tensor");
    if (ti.layout_param != kPanelWidth)
      throw Error(BERTRT_ERROR_UNSUPPORTED, "model file: tensor '" + ti.name + "' has panel width " +
                                                std::to_string(ti.layout_param) + " (supported: 16)");
    if (ti.shape[0] > (uint64_t{1} << 32) || ti.shape[1] > (uint64_t{1} << 32) ||
        panel_i8_bytes(ti.shape[0], ti.shape[1], kPanelWidth) != ti.nbytes)
      fail("tensor '" + ti.name + "': byte length " + std::to_string(ti.nbytes) + " does not match its packed shape");
  } else if (ti.layout == TensorLayout::panel_bf16x2) {
    if (ti.dtype != TensorDType::bf16 || ti.shape.size() != 2)
      fail("tensor '" + ti.name + "': the panel_bf16x2 layout needs a 2-D bf16 tensor");
    if (ti.layout_param != kPanelWidth)
      throw Error(BERTRT_ERROR_UNSUPPORTED, "model file: tensor '" + ti.name + "' has panel width " +
                                                std::to_string(ti.layout_param) + " (supported: 16)");
    if (ti.shape[0] > (uint64_t{1} << 32) || ti.shape[1] > (uint64_t{1} << 32) ||
        panel_bf16x2_bytes(ti.shape[0], ti.shape[1], kPanelWidth) != ti.nbytes)
      fail("tensor '" + ti.name + "': byte length " + std::to_string(ti.nbytes) + " does not match its packed shape");
  } else if (mul_overflows(numel, dtype_size(ti.dtype), &expect) || expect != ti.nbytes) {
    fail("tensor '" + ti.name + "': byte length " + std::to_string(ti.nbytes) + " does not match its shape");
  }
}

// Tensor table entry i at t (t moves past it), bounds-checked against the file [data, data + size).
TensorInfo read_tensor_entry(Cursor& t, uint64_t i, const uint8_t* data, size_t size) {
  TensorInfo ti;
  const size_t name_len = t.u(2);
  if (name_len == 0 || name_len > kMaxNameLength) fail("tensor " + std::to_string(i) + ": bad name length");
  ti.name = t.str(name_len);
  const uint64_t dt = t.u(1);
  if (dt > static_cast<uint64_t>(TensorDType::i32)) fail("tensor '" + ti.name + "': unknown dtype " + std::to_string(dt));
  ti.dtype = static_cast<TensorDType>(dt);
  const uint64_t layout = t.u(1);
  if (layout > static_cast<uint64_t>(TensorLayout::panel_bf16x2))
    throw Error(BERTRT_ERROR_UNSUPPORTED, "model file: tensor '" + ti.name + "' has unknown layout " + std::to_string(layout));
  ti.layout = static_cast<TensorLayout>(layout);
  const uint64_t ndim = t.u(1);
  if (ndim == 0 || ndim > kMaxDims) fail("tensor '" + ti.name + "': bad rank " + std::to_string(ndim));
  ti.layout_param = t.u(8);
  uint64_t numel = 1;
  for (uint64_t d = 0; d < ndim; ++d) {
    const uint64_t dim = t.u(8);
    if (mul_overflows(numel, dim, &numel)) fail("tensor '" + ti.name + "': shape overflows");
    ti.shape.push_back(dim);
  }
  ti.offset = t.u(8);
  ti.nbytes = t.u(8);
  ti.checksum = t.u(8);
  check_tensor_bytes(ti, numel);
  if (ti.offset % kAlignment != 0) fail("tensor '" + ti.name + "': offset not aligned to 64 bytes");
  if (ti.offset < kHeaderSize || ti.offset > size || ti.nbytes > size - ti.offset)
    fail("tensor '" + ti.name + "': data [" + std::to_string(ti.offset) + ", +" + std::to_string(ti.nbytes) +
         ") lies outside the file");
  ti.data = data + ti.offset;
  return ti;
}

}  // namespace

const char* dtype_name(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::f32: return "f32";
    case TensorDType::f16: return "f16";
    case TensorDType::bf16: return "bf16";
    case TensorDType::i8: return "i8";
    case TensorDType::i32: return "i32";
  }
  return "unknown";
}

size_t dtype_size(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::f32: return 4;
    case TensorDType::f16: return 2;
    case TensorDType::bf16: return 2;
    case TensorDType::i8: return 1;
    case TensorDType::i32: return 4;
  }
  return 0;
}

uint64_t TensorInfo::numel() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

ModelFile ModelFile::parse(const uint8_t* data, size_t size, Verify verify) {
  if (size < kHeaderSize) fail("file is " + std::to_string(size) + " bytes, shorter than the 64-byte header");
  if (std::memcmp(data, kMagic, sizeof kMagic) != 0) fail("wrong magic (not a bertrt model file)");
  Cursor h(data + 8, kHeaderSize - 8, "header");
  ModelFile mf;
  mf.version_ = static_cast<uint32_t>(h.u(4));
  const uint32_t flags = static_cast<uint32_t>(h.u(4));
  const uint64_t file_size = h.u(8);
  const uint64_t meta_offset = h.u(8), meta_size = h.u(8);
  const uint64_t table_offset = h.u(8), table_size = h.u(8);
  mf.checksum_ = h.u(8);
  if (mf.version_ != kFormatVersion)
    throw Error(BERTRT_ERROR_UNSUPPORTED, "model file: format version " + std::to_string(mf.version_) +
                                              " is not supported (this library reads version " +
                                              std::to_string(kFormatVersion) + ")" +
                                              (mf.version_ < kFormatVersion ? "; convert the checkpoint again" : ""));
  if (flags != 0) throw Error(BERTRT_ERROR_UNSUPPORTED, "model file: unknown header flags " + std::to_string(flags));
  if (file_size != size)
    fail("header says " + std::to_string(file_size) + " bytes but the file has " + std::to_string(size) +
         " (truncated or padded)");
  auto check_range = [&](uint64_t off, uint64_t len, const char* what) {
    if (off < kHeaderSize || off > size || len > size - off) fail(std::string(what) + " lies outside the file");
  };
  check_range(meta_offset, meta_size, "metadata section");
  check_range(table_offset, table_size, "tensor table");
  if (verify != Verify::none &&
      structure_checksum(data, meta_offset, meta_size, table_offset, table_size) != mf.checksum_)
    throw Error(BERTRT_ERROR_CHECKSUM,
                "model file: header checksum mismatch (header, metadata or tensor table is corrupted)");

  Cursor m(data + meta_offset, meta_size, "metadata section");
  const uint64_t meta_count = m.u(4);
  for (uint64_t i = 0; i < meta_count; ++i) {
    const size_t key_len = m.u(2);
    std::string key = m.str(key_len);
    mf.metadata_[key] = read_meta_value(m, key);
  }

  Cursor t(data + table_offset, table_size, "tensor table");
  const uint64_t count = t.u(4);
  if (count > table_size / 16) fail("tensor count exceeds the table size");
  mf.tensors_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    TensorInfo ti = read_tensor_entry(t, i, data, size);
    if (mf.index_.count(ti.name)) fail("tensor '" + ti.name + "' appears twice");
    mf.index_[ti.name] = mf.tensors_.size();
    mf.tensors_.push_back(std::move(ti));
  }
  if (verify == Verify::all) mf.verify_tensors();
  return mf;
}

void ModelFile::verify_tensors() const {
  for (const auto& t : tensors_)
    if (checksum_of(t.data, t.nbytes) != t.checksum)
      throw Error(BERTRT_ERROR_CHECKSUM, "model file: tensor '" + t.name + "' fails its checksum (data is corrupted)");
}

const TensorInfo* ModelFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<int64_t> ModelFile::meta_int(std::string_view key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return std::nullopt;
  if (it->second.type != MetaType::int64) fail("metadata '" + std::string(key) + "' is not an integer");
  return it->second.i;
}
std::optional<double> ModelFile::meta_float(std::string_view key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return std::nullopt;
  if (it->second.type != MetaType::float64) fail("metadata '" + std::string(key) + "' is not a float");
  return it->second.f;
}
std::optional<std::string> ModelFile::meta_string(std::string_view key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return std::nullopt;
  if (it->second.type != MetaType::string) fail("metadata '" + std::string(key) + "' is not a string");
  return it->second.s;
}
const std::vector<std::string>* ModelFile::meta_list(std::string_view key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return nullptr;
  if (it->second.type != MetaType::string_list) fail("metadata '" + std::string(key) + "' is not a list");
  return &it->second.list;
}

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(BERTRT_ERROR_IO, "cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(BERTRT_ERROR_IO, "'" + path + "' is not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) {
    ::close(fd);
    throw Error(BERTRT_ERROR_FORMAT, "model file: '" + path + "' is empty");
  }
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) throw Error(BERTRT_ERROR_IO, "cannot map '" + path + "': " + std::strerror(errno));
  data_ = static_cast<const uint8_t*>(p);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void ModelFileWriter::set_int(const std::string& key, int64_t value) {
  MetaValue v;
  v.type = MetaType::int64;
  v.i = value;
  metadata_[key] = v;
}
void ModelFileWriter::set_float(const std::string& key, double value) {
  MetaValue v;
  v.type = MetaType::float64;
  v.f = value;
  metadata_[key] = v;
}
void ModelFileWriter::set_string(const std::string& key, const std::string& value) {
  MetaValue v;
  v.type = MetaType::string;
  v.s = value;
  metadata_[key] = v;
}
void ModelFileWriter::set_list(const std::string& key, const std::vector<std::string>& value) {
  MetaValue v;
  v.type = MetaType::string_list;
  v.list = value;
  metadata_[key] = v;
}
void ModelFileWriter::add_tensor(const std::string& name, TensorDType dtype, const std::vector<uint64_t>& shape,
                                 std::vector<uint8_t> bytes) {
  uint64_t numel = 1;
  for (uint64_t d : shape) numel *= d;
  if (numel * dtype_size(dtype) != bytes.size())
    throw Error(BERTRT_ERROR_INTERNAL, "tensor '" + name + "': byte length does not match its shape");
  tensors_.push_back({name, dtype, shape, std::move(bytes), TensorLayout::row_major, 0});
}

void ModelFileWriter::add_packed_tensor(const std::string& name, const std::vector<uint64_t>& shape, uint64_t panel,
                                        std::vector<uint8_t> bytes, TensorDType dtype) {
  if (shape.size() != 2 || panel == 0 || panel_bytes(shape[0], shape[1], panel, dtype_size(dtype)) != bytes.size())
    throw Error(BERTRT_ERROR_INTERNAL, "tensor '" + name + "': packed byte length does not match its shape");
  tensors_.push_back({name, dtype, shape, std::move(bytes), TensorLayout::panel, panel});
}

void ModelFileWriter::add_packed_i8_tensor(const std::string& name, const std::vector<uint64_t>& shape, uint64_t panel,
                                           std::vector<uint8_t> bytes) {
  if (shape.size() != 2 || panel == 0 || panel_i8_bytes(shape[0], shape[1], panel) != bytes.size())
    throw Error(BERTRT_ERROR_INTERNAL, "tensor '" + name + "': packed byte length does not match its shape");
  tensors_.push_back({name, TensorDType::i8, shape, std::move(bytes), TensorLayout::panel_i8, panel});
}

void ModelFileWriter::add_packed_bf16x2_tensor(const std::string& name, const std::vector<uint64_t>& shape,
                                               uint64_t panel, std::vector<uint8_t> bytes) {
  if (shape.size() != 2 || panel == 0 || panel_bf16x2_bytes(shape[0], shape[1], panel) != bytes.size())
    throw Error(BERTRT_ERROR_INTERNAL, "tensor '" + name + "': packed byte length does not match its shape");
  tensors_.push_back({name, TensorDType::bf16, shape, std::move(bytes), TensorLayout::panel_bf16x2, panel});
}

std::vector<uint8_t> ModelFileWriter::serialize() const {
  std::vector<uint8_t> meta;
  put(meta, metadata_.size(), 4);
  for (const auto& [key, v] : metadata_) {  // std::map: sorted keys, so output is deterministic
    put(meta, key.size(), 2);
    put_str(meta, key);
    put(meta, static_cast<uint64_t>(v.type), 1);
    switch (v.type) {
      case MetaType::int64: put(meta, 8, 8); put(meta, static_cast<uint64_t>(v.i), 8); break;
      case MetaType::float64: {
        uint64_t bits;
        std::memcpy(&bits, &v.f, 8);
        put(meta, 8, 8);
        put(meta, bits, 8);
        break;
      }
      case MetaType::string: put(meta, v.s.size(), 8); put_str(meta, v.s); break;
      case MetaType::string_list: {
        uint64_t len = 4;
        for (const auto& s : v.list) len += 4 + s.size();
        put(meta, len, 8);
        put(meta, v.list.size(), 4);
        for (const auto& s : v.list) {
          put(meta, s.size(), 4);
          put_str(meta, s);
        }
        break;
      }
    }
  }
  // Table size is known before offsets: every entry has a fixed part plus name and dims.
  size_t table_size = 4;
  for (const auto& t : tensors_) table_size += 2 + t.name.size() + 3 + 8 + 8 * t.shape.size() + 24;
  const size_t meta_offset = kHeaderSize;
  const size_t table_offset = meta_offset + meta.size();
  size_t data_offset = align_up(table_offset + table_size);
  std::vector<uint8_t> table;
  put(table, tensors_.size(), 4);
  std::vector<size_t> offsets;
  size_t cursor = data_offset;
  for (const auto& t : tensors_) {
    put(table, t.name.size(), 2);
    put_str(table, t.name);
    put(table, static_cast<uint64_t>(t.dtype), 1);
    put(table, static_cast<uint64_t>(t.layout), 1);
    put(table, t.shape.size(), 1);
    put(table, t.layout_param, 8);
    for (uint64_t d : t.shape) put(table, d, 8);
    put(table, cursor, 8);
    put(table, t.bytes.size(), 8);
    put(table, checksum_of(t.bytes.data(), t.bytes.size()), 8);
    offsets.push_back(cursor);
    cursor = align_up(cursor + t.bytes.size());
  }
  const size_t file_size = tensors_.empty() ? table_offset + table.size() : offsets.back() + tensors_.back().bytes.size();
  std::vector<uint8_t> out(file_size, 0);
  std::memcpy(out.data(), kMagic, 8);
  std::vector<uint8_t> header;
  put(header, kFormatVersion, 4);
  put(header, 0, 4);
  put(header, file_size, 8);
  put(header, meta_offset, 8);
  put(header, meta.size(), 8);
  put(header, table_offset, 8);
  put(header, table.size(), 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  std::memcpy(out.data() + meta_offset, meta.data(), meta.size());
  std::memcpy(out.data() + table_offset, table.data(), table.size());
  for (size_t i = 0; i < tensors_.size(); ++i)
    std::memcpy(out.data() + offsets[i], tensors_[i].bytes.data(), tensors_[i].bytes.size());
  put_at(out, 56, structure_checksum(out.data(), meta_offset, meta.size(), table_offset, table.size()));
  return out;
}

void ModelFileWriter::write(const std::string& path) const {
  const std::vector<uint8_t> bytes = serialize();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(BERTRT_ERROR_IO, "cannot write '" + tmp + "'");
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw Error(BERTRT_ERROR_IO, "write to '" + tmp + "' failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(BERTRT_ERROR_IO, "cannot rename '" + tmp + "' to '" + path + "'");
}

}  // namespace bertrt::format
