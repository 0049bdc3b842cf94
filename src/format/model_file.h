// The bertrt model file: one little-endian file holding config, tokenizer data, pooling defaults
// and a table of 64-byte-aligned tensors, opened with mmap and used in place.
// docs/format.md is the specification; this header mirrors it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bertrt::format {

inline constexpr char kMagic[8] = {'B', 'E', 'R', 'T', 'R', 'T', 'M', 'F'};
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr size_t kHeaderSize = 64;
inline constexpr size_t kAlignment = 64;
inline constexpr size_t kMaxDims = 8;
inline constexpr size_t kMaxNameLength = 1024;

enum class TensorDType : uint8_t { f32 = 0, f16 = 1, bf16 = 2, i8 = 3, i32 = 4 };
const char* dtype_name(TensorDType dtype);
size_t dtype_size(TensorDType dtype);

// Layout 0 is plain row-major. Layout 1 (panel) is a 2-D f32, f16 or bf16 matrix [K, N] pre-packed
// for the GEMM micro-kernels: ceil(N / P) panels of K rows x P elements, columns past N zero, with
// P = layout_param (16; kernels/gemm_packed.h); the shape stays the logical [K, N]. Other
// values are reserved; readers reject layouts they do not know.
// Layout 2 (panel_i8) is a 2-D i8 matrix [K, N] in the int8 GEMM's layout (kernels/gemm_i8.h):
// ceil(N / P) panels of ceil(K / 4) blocks of P x 4 bytes, P = layout_param (16), rows past K and
// columns past N zero; its per-column scales and column sums are tensors of their own
// (docs/format.md, "int8 matrices").
// Layout 3 (panel_bf16x2) is a 2-D bf16 matrix [K, N] in the bf16x2 GEMM's layout
// (kernels/gemm_bf16.h): ceil(N / P) panels of ceil(K / 2) blocks of P 32-bit lanes, lane c of
// block g holding the pair (W[2g, c], W[2g + 1, c]) (even k in the low half), P = layout_param
// (16), rows past K and columns past N zero (docs/format.md, "bf16x2 matrices").
enum class TensorLayout : uint8_t { row_major = 0, panel = 1, panel_i8 = 2, panel_bf16x2 = 3 };
inline constexpr uint64_t kPanelWidth = 16;
// Bytes of a [k, n] matrix of elem_bytes-wide elements in the panel layout of width p.
inline uint64_t panel_bytes(uint64_t k, uint64_t n, uint64_t p, uint64_t elem_bytes = 4) {
  return (n + p - 1) / p * p * k * elem_bytes;
}
// Bytes of a [k, n] i8 matrix in the panel_i8 layout of width p (k rounded up to a multiple of 4).
inline uint64_t panel_i8_bytes(uint64_t k, uint64_t n, uint64_t p) { return (n + p - 1) / p * p * ((k + 3) / 4 * 4); }
// Bytes of a [k, n] bf16 matrix in the panel_bf16x2 layout of width p (k rounded up to even).
inline uint64_t panel_bf16x2_bytes(uint64_t k, uint64_t n, uint64_t p) { return (n + p - 1) / p * p * ((k + 1) / 2 * 2) * 2; }

enum class MetaType : uint8_t { int64 = 1, float64 = 2, string = 3, string_list = 4 };

struct TensorInfo {
  std::string name;
  TensorDType dtype = TensorDType::f32;
  TensorLayout layout = TensorLayout::row_major;
  uint64_t layout_param = 0;
  std::vector<uint64_t> shape;
  uint64_t offset = 0;  // from the start of the file, multiple of kAlignment
  uint64_t nbytes = 0;
  uint64_t checksum = 0;  // of the nbytes at offset
  const uint8_t* data = nullptr;  // set by the reader: points into the mapping
  uint64_t numel() const;
};

struct MetaValue {
  MetaType type = MetaType::int64;
  int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::vector<std::string> list;
};

// The 64-bit checksum of the format (docs/format.md, "Checksum"): 4 interleaved FNV-1a-style
// lanes over 8-byte little-endian words. Streaming so the writer can hash as it writes.
class Checksum {
 public:
  Checksum();
  void update(const void* data, size_t size);
  uint64_t finish() const;

 private:
  void block(const uint8_t* p);
  uint64_t lanes_[4];
  uint8_t pending_[32];
  size_t pending_size_ = 0;
  uint64_t total_ = 0;
};

// Checksum of one byte range (a tensor's data).
uint64_t checksum_of(const uint8_t* data, size_t size);

// The header checksum (bytes 56..63): the 64-byte header with that field read as zero, then the
// metadata section, then the tensor table. The caller has bounds-checked both sections.
uint64_t structure_checksum(const uint8_t* data, uint64_t meta_offset, uint64_t meta_size, uint64_t table_offset,
                            uint64_t table_size);

// What parse() verifies besides the bounds of every section and tensor (always checked).
enum class Verify {
  none,       // no checksums: lets a fuzzer reach the structural checks behind the header checksum
  structure,  // the header checksum over header, metadata and tensor table (the default at open)
  all,        // that, and every tensor's data checksum (reads the whole file once)
};

// A parsed, validated view over a model file image (the bytes must outlive it).
class ModelFile {
 public:
  // Validates header, metadata and tensor table against size; throws bertrt::Error
  // (BERTRT_ERROR_FORMAT, _CHECKSUM or _UNSUPPORTED) naming the problem.
  static ModelFile parse(const uint8_t* data, size_t size, Verify verify);

  // Recomputes every tensor's data checksum; throws BERTRT_ERROR_CHECKSUM naming the first
  // tensor that does not match.
  void verify_tensors() const;

  uint32_t version() const { return version_; }
  uint64_t checksum() const { return checksum_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;
  const std::map<std::string, MetaValue, std::less<>>& metadata() const { return metadata_; }

  std::optional<int64_t> meta_int(std::string_view key) const;
  std::optional<double> meta_float(std::string_view key) const;
  std::optional<std::string> meta_string(std::string_view key) const;
  const std::vector<std::string>* meta_list(std::string_view key) const;

 private:
  uint32_t version_ = 0;
  uint64_t checksum_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, MetaValue, std::less<>> metadata_;
  std::map<std::string, size_t, std::less<>> index_;
};

// A read-only memory mapping of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Builds a model file. Tensors are written in the order added, each aligned to kAlignment.
class ModelFileWriter {
 public:
  void set_int(const std::string& key, int64_t value);
  void set_float(const std::string& key, double value);
  void set_string(const std::string& key, const std::string& value);
  void set_list(const std::string& key, const std::vector<std::string>& value);
  void add_tensor(const std::string& name, TensorDType dtype, const std::vector<uint64_t>& shape,
                  std::vector<uint8_t> bytes);
  // A [K, N] matrix (f32, f16 or bf16) already packed into the panel layout of width panel (bytes as
  // panel_bytes).
  void add_packed_tensor(const std::string& name, const std::vector<uint64_t>& shape, uint64_t panel,
                         std::vector<uint8_t> bytes, TensorDType dtype = TensorDType::f32);
  // A [K, N] i8 matrix already packed into the panel_i8 layout of width panel (bytes as panel_i8_bytes).
  void add_packed_i8_tensor(const std::string& name, const std::vector<uint64_t>& shape, uint64_t panel,
                            std::vector<uint8_t> bytes);
  // A [K, N] bf16 matrix already packed into the panel_bf16x2 layout of width panel (bytes as
  // panel_bf16x2_bytes).
  void add_packed_bf16x2_tensor(const std::string& name, const std::vector<uint64_t>& shape, uint64_t panel,
                                std::vector<uint8_t> bytes);
  // Serialises to bytes (header, metadata, table, data) with every checksum filled in.
  std::vector<uint8_t> serialize() const;
  void write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    TensorDType dtype;
    std::vector<uint64_t> shape;
    std::vector<uint8_t> bytes;
    TensorLayout layout = TensorLayout::row_major;
    uint64_t layout_param = 0;
  };
  std::map<std::string, MetaValue> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace bertrt::format
