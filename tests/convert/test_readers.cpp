// Checkpoint readers: every fixture reads, the three formats agree byte for byte, and malformed or
// hostile files fail with clear errors.
#include <doctest/doctest.h>
#include <zip.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "common/error.h"
#include "convert/checkpoint.h"
#include "convert/pickle.h"

namespace fs = std::filesystem;
using namespace bertrt::convert;

namespace {

const std::string kModels = std::string(BERTRT_TEST_DATA_DIR) + "/fixtures/models/";

std::map<std::string, SourceTensor> by_name(std::vector<SourceTensor> v) {
  std::map<std::string, SourceTensor> m;
  for (auto& t : v) {
    std::string name = t.name;
    REQUIRE_MESSAGE(m.count(name) == 0, "duplicate tensor " << name);
    m.emplace(name, std::move(t));
  }
  return m;
}

// The converter's later normalisation, reproduced for comparing: no `bert.` prefix, LayerNorm
// gamma/beta as weight/bias.
std::string normalise(std::string n) {
  if (n.rfind("bert.", 0) == 0) n = n.substr(5);
  auto ends = [&](const std::string& s) { return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0; };
  if (ends("LayerNorm.gamma")) n = n.substr(0, n.size() - 5) + "weight";
  else if (ends("LayerNorm.beta")) n = n.substr(0, n.size() - 4) + "bias";
  return n;
}

std::map<std::string, SourceTensor> normalised(std::vector<SourceTensor> v) {
  for (auto& t : v) t.name = normalise(t.name);
  return by_name(std::move(v));
}

void check_same(const SourceTensor& a, const SourceTensor& b) {
  INFO("tensor " << a.name << " vs " << b.name);
  CHECK(a.dtype == b.dtype);
  CHECK(a.shape == b.shape);
  CHECK(a.data.size() == b.data.size());
  CHECK(a.data == b.data);
}

// Calls fn and returns the status and message of the bertrt::Error it must throw.
template <typename Fn>
std::pair<bertrt_status, std::string> error_of(Fn&& fn) {
  try {
    fn();
  } catch (const bertrt::Error& e) {
    return {e.status(), e.what()};
  }
  FAIL("no bertrt::Error thrown");
  return {BERTRT_OK, ""};
}

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("bertrt_readers_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::vector<uint8_t> read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_file(const std::string& p, const std::vector<uint8_t>& data) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}
void write_file(const std::string& p, const std::string& data) {
  write_file(p, std::vector<uint8_t>(data.begin(), data.end()));
}

// A safetensors file from a header and a data block.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

// Writes protocol-2 pickles by hand.
struct Pickle {
  std::string b;
  Pickle& op(char c) { b += c; return *this; }
  Pickle& proto() { b += "\x80\x02"; return *this; }
  Pickle& global(const std::string& module, const std::string& name) { b += 'c' + module + '\n' + name + '\n'; return *this; }
  Pickle& str(const std::string& s) {
    b += 'X';
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) b += static_cast<char>((n >> (8 * i)) & 0xff);
    b += s;
    return *this;
  }
  Pickle& integer(uint32_t v) {
    b += 'J';
    for (int i = 0; i < 4; ++i) b += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  Pickle& put(uint8_t i) { b += 'q'; b += static_cast<char>(i); return *this; }
  Pickle& get(uint8_t i) { b += 'h'; b += static_cast<char>(i); return *this; }
  Pickle& tuple_of(const std::vector<uint32_t>& v) {
    op('(');
    for (uint32_t x : v) integer(x);
    return op('t');
  }
  // torch._utils._rebuild_tensor_v2(storage(key, numel), offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& storage_type, const std::string& key, uint32_t numel, uint32_t offset,
                 const std::vector<uint32_t>& size, const std::vector<uint32_t>& stride) {
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(').str("storage").global("torch", storage_type).str(key).str("cpu").integer(numel).op('t').op('Q');
    integer(offset);
    tuple_of(size);
    tuple_of(stride);
    op('\x89');
    global("collections", "OrderedDict").op(')').op('R');
    op('t');
    return op('R');
  }
  std::vector<uint8_t> bytes() const { return std::vector<uint8_t>(b.begin(), b.end()); }
};

// Starts a state dict: OrderedDict() then MARK; finish with end_dict().
Pickle dict_start() {
  Pickle p;
  p.proto().global("collections", "OrderedDict").op(')').op('R').op('(');
  return p;
}
Pickle& end_dict(Pickle& p) { return p.op('u').op('.'); }

// Writes a zip archive with the given entries (stored, uncompressed, as torch writes them).
void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  REQUIRE(za != nullptr);
  std::vector<std::string> keep;
  keep.reserve(entries.size());
  for (const auto& [name, data] : entries) {
    keep.push_back(data);
    zip_source_t* src = zip_source_buffer(za, keep.back().data(), keep.back().size(), 0);
    REQUIRE(src != nullptr);
    const zip_int64_t idx = zip_file_add(za, name.c_str(), src, ZIP_FL_OVERWRITE);
    REQUIRE(idx >= 0);
    zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0);
  }
  REQUIRE(zip_close(za) == 0);
}

std::string floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}
std::vector<float> as_floats(const SourceTensor& t) {
  std::vector<float> v(t.data.size() / 4);
  std::memcpy(v.data(), t.data.data(), v.size() * 4);
  return v;
}

}  // namespace

TEST_CASE("every fixture checkpoint reads") {
  struct Expect {
    const char* model;
    size_t safetensors, bin, h5;  // 0: file absent
  };
  // h5: the `bert` group only (the pre-training heads are skipped).
  const Expect expects[] = {
      {"tiny", 39, 39, 39}, {"small", 55, 0, 0}, {"small-f16", 55, 55, 0}, {"small-bf16", 55, 0, 0},
      {"tiny-prefixed", 47, 49, 39},
  };
  for (const auto& e : expects) {
    INFO("model " << e.model);
    const std::string dir = kModels + e.model + "/";
    auto st = read_safetensors(dir + "model.safetensors");
    CHECK(st.size() == e.safetensors);
    for (const auto& t : st) {
      size_t numel = 1;
      for (auto d : t.shape) numel *= static_cast<size_t>(d);
      CHECK(t.data.size() == numel * source_dtype_size(t.dtype));
    }
    CHECK(fs::exists(dir + "pytorch_model.bin") == (e.bin != 0));
    if (e.bin) CHECK(read_torch_zip(dir + "pytorch_model.bin").size() == e.bin);
    CHECK(fs::exists(dir + "tf_model.h5") == (e.h5 != 0));
#ifdef BERTRT_HAVE_HDF5
    if (e.h5) CHECK(read_tf_h5(dir + "tf_model.h5").size() == e.h5);
#endif
  }
}

TEST_CASE("safetensors dtypes and metadata") {
  auto f16 = by_name(read_safetensors(kModels + "small-f16/model.safetensors"));
  CHECK(f16.at("embeddings.word_embeddings.weight").dtype == SourceDType::f16);
  CHECK(f16.at("embeddings.word_embeddings.weight").shape == std::vector<int64_t>{512, 64});
  auto bf16 = by_name(read_safetensors(kModels + "small-bf16/model.safetensors"));
  CHECK(bf16.at("encoder.layer.2.output.dense.weight").dtype == SourceDType::bf16);
  CHECK(bf16.at("encoder.layer.2.output.dense.weight").shape == std::vector<int64_t>{64, 256});
  auto pre = by_name(read_safetensors(kModels + "tiny-prefixed/model.safetensors"));
  CHECK(pre.count("__metadata__") == 0);
  CHECK(pre.at("bert.embeddings.position_ids").dtype == SourceDType::i64);
  CHECK(pre.at("bert.embeddings.position_ids").shape == std::vector<int64_t>{1, 64});
  CHECK(std::string(source_dtype_name(SourceDType::bf16)) == "BF16");
}

TEST_CASE("tiny: pytorch_model.bin and tf_model.h5 hold the safetensors bytes") {
  auto st = by_name(read_safetensors(kModels + "tiny/model.safetensors"));
  auto bin = by_name(read_torch_zip(kModels + "tiny/pytorch_model.bin"));
  REQUIRE(bin.size() == st.size());
  for (const auto& kv : st) {
    const std::string& name = kv.first;
    const SourceTensor& t = kv.second;
    REQUIRE_MESSAGE(bin.count(name), name);
    check_same(t, bin.at(name));
  }
#ifdef BERTRT_HAVE_HDF5
  auto h5 = read_tf_h5(kModels + "tiny/tf_model.h5");
  for (const auto& t : h5) CHECK_MESSAGE(t.name.rfind("bert.", 0) == 0, t.name);
  auto h5n = normalised(std::move(h5));
  REQUIRE(h5n.size() == st.size());
  for (const auto& kv : st) {
    const std::string& name = kv.first;
    const SourceTensor& t = kv.second;
    REQUIRE_MESSAGE(h5n.count(name), name);
    check_same(t, h5n.at(name));
  }
  CHECK(h5n.at("encoder.layer.0.intermediate.dense.weight").shape == std::vector<int64_t>{64, 32});
#endif
}

TEST_CASE("tiny-prefixed: legacy names, heads and tied storages") {
  auto st = normalised(read_safetensors(kModels + "tiny-prefixed/model.safetensors"));
  auto raw_bin = by_name(read_torch_zip(kModels + "tiny-prefixed/pytorch_model.bin"));
  CHECK(raw_bin.count("bert.embeddings.LayerNorm.gamma") == 1);
  CHECK(raw_bin.count("bert.encoder.layer.1.attention.output.LayerNorm.beta") == 1);
  CHECK(raw_bin.count("cls.predictions.transform.LayerNorm.gamma") == 1);
  auto bin = normalised(read_torch_zip(kModels + "tiny-prefixed/pytorch_model.bin"));
  for (const auto& kv : st) {
    const std::string& name = kv.first;
    const SourceTensor& t = kv.second;
    REQUIRE_MESSAGE(bin.count(name), name);
    check_same(t, bin.at(name));
  }
  // Tied weights share a storage in the .bin; both names read the same bytes.
  REQUIRE(bin.count("cls.predictions.decoder.weight"));
  CHECK(bin.at("cls.predictions.decoder.weight").data == st.at("embeddings.word_embeddings.weight").data);
  CHECK(bin.at("cls.predictions.decoder.weight").shape == st.at("embeddings.word_embeddings.weight").shape);
  CHECK(bin.at("cls.predictions.decoder.bias").data == st.at("cls.predictions.bias").data);
#ifdef BERTRT_HAVE_HDF5
  auto h5 = normalised(read_tf_h5(kModels + "tiny-prefixed/tf_model.h5"));
  size_t compared = 0;
  for (const auto& kv : st) {
    const std::string& name = kv.first;
    const SourceTensor& t = kv.second;
    if (name.rfind("cls.", 0) == 0 || name == "embeddings.position_ids") continue;
    REQUIRE_MESSAGE(h5.count(name), name);
    check_same(t, h5.at(name));
    ++compared;
  }
  CHECK(compared == 39);
  CHECK(h5.size() == 39);
#endif
}

TEST_CASE("small-f16: pytorch_model.bin equals the safetensors") {
  auto st = by_name(read_safetensors(kModels + "small-f16/model.safetensors"));
  auto bin = by_name(read_torch_zip(kModels + "small-f16/pytorch_model.bin"));
  REQUIRE(bin.size() == st.size());
  for (const auto& kv : st) {
    const std::string& name = kv.first;
    const SourceTensor& t = kv.second;
    REQUIRE_MESSAGE(bin.count(name), name);
    CHECK(bin.at(name).dtype == SourceDType::f16);
    check_same(t, bin.at(name));
  }
}

TEST_CASE("safetensors: malformed files fail cleanly") {
  TempDir tmp;
  const std::string p = tmp.file("bad.safetensors");
  auto status_of = [&](const std::string& bytes) {
    write_file(p, bytes);
    return error_of([&] { read_safetensors(p); });
  };

  SUBCASE("missing file or a directory") {
    auto [s, m] = error_of([&] { read_safetensors(tmp.file("absent.safetensors")); });
    CHECK(s == BERTRT_ERROR_IO);
    CHECK(error_of([&] { read_safetensors(tmp.path.string()); }).first == BERTRT_ERROR_IO);
  }
  SUBCASE("truncated fixture, every prefix length class") {
    const auto full = read_file(kModels + "tiny/model.safetensors");
    for (size_t cut : {size_t{0}, size_t{3}, size_t{8}, size_t{9}, size_t{100}, size_t{2000}, full.size() / 2, full.size() - 1}) {
      INFO("cut at " << cut);
      auto [s, m] = status_of(std::string(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)));
      CHECK(s == BERTRT_ERROR_FORMAT);
    }
  }
  SUBCASE("header length beyond the file") {
    auto [s, m] = status_of(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(m.find("header length") != std::string::npos);
  }
  SUBCASE("corrupt JSON") {
    auto [s, m] = status_of(safetensors_bytes("{\"a\": {\"dtype\": \"F32\", ", ""));
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(m.find("JSON") != std::string::npos);
  }
  SUBCASE("deeply nested JSON") {
    auto [s, m] = status_of(safetensors_bytes(std::string(100000, '[') + std::string(100000, ']'), ""));
    CHECK(s == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("header not an object") {
    CHECK(status_of(safetensors_bytes("[1, 2]", "")).first == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("offsets past the data") {
    auto [s, m] = status_of(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(4, '\0')));
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(m.find("'a'") != std::string::npos);
  }
  SUBCASE("begin after end") {
    CHECK(status_of(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", std::string(8, '\0'))).first ==
          BERTRT_ERROR_FORMAT);
  }
  SUBCASE("size does not match the shape") {
    CHECK(status_of(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'))).first ==
          BERTRT_ERROR_FORMAT);
  }
  SUBCASE("shape product overflows") {
    CHECK(status_of(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904, 8],"data_offsets":[0,0]}})", "")).first ==
          BERTRT_ERROR_FORMAT);
    CHECK(status_of(safetensors_bytes(R"({"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})", "")).first ==
          BERTRT_ERROR_FORMAT);
  }
  SUBCASE("negative or fractional dimension") {
    CHECK(status_of(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", "")).first == BERTRT_ERROR_FORMAT);
    CHECK(status_of(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}})", "")).first == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("missing fields") {
    CHECK(status_of(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1]}})", "")).first == BERTRT_ERROR_FORMAT);
    CHECK(status_of(safetensors_bytes(R"({"a":3})", "")).first == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("overlapping tensors") {
    auto [s, m] = status_of(safetensors_bytes(
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
        std::string(8, '\0')));
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(m.find("overlap") != std::string::npos);
  }
  SUBCASE("unknown dtype") {
    auto [s, m] = status_of(safetensors_bytes(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", std::string(1, '\0')));
    CHECK(s == BERTRT_ERROR_UNSUPPORTED);
    CHECK(m.find("F8_E4M3") != std::string::npos);
  }
  SUBCASE("valid hand-made file") {
    write_file(p, safetensors_bytes(R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                                    std::string("\x01\x02\x03\x04", 4) + floats({1.5f, -2.f})));
    auto m = by_name(read_safetensors(p));
    REQUIRE(m.size() == 2);
    CHECK(as_floats(m.at("b")) == std::vector<float>{1.5f, -2.f});
    CHECK(m.at("a").data == std::vector<uint8_t>{1, 2, 3, 4});
  }
}

TEST_CASE("pickle: globals outside the allowlist are refused by name") {
  SUBCASE("GLOBAL os.system") {
    Pickle p;
    p.proto().global("os", "system").str("echo owned").op('\x85').op('R').op('.');
    auto bytes = p.bytes();
    auto [s, m] = error_of([&] { torch_pickle::load_state_dict(bytes.data(), bytes.size(), "evil.pkl"); });
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(m.find("pickle global os.system is not allowed") != std::string::npos);
  }
  SUBCASE("STACK_GLOBAL builtins.eval") {
    Pickle p;
    p.b = "\x80\x04";
    p.str("builtins").str("eval").op('\x93').str("1").op('\x85').op('R').op('.');
    auto bytes = p.bytes();
    auto [s, m] = error_of([&] { torch_pickle::load_state_dict(bytes.data(), bytes.size(), "evil.pkl"); });
    CHECK(m.find("builtins.eval is not allowed") != std::string::npos);
  }
  SUBCASE("inside a torch zip") {
    TempDir tmp;
    Pickle p = dict_start();
    p.str("w").global("os", "system").str("touch /tmp/x").op('\x85').op('R');
    end_dict(p);
    const std::string path = tmp.file("evil.bin");
    write_zip(path, {{"evil/data.pkl", p.b}, {"evil/version", "3\n"}});
    auto [s, m] = error_of([&] { read_torch_zip(path); });
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(m.find("pickle global os.system is not allowed") != std::string::npos);
    CHECK(m.find("evil.bin") != std::string::npos);
  }
  SUBCASE("allowed global called in a way torch never does") {
    Pickle p;
    p.proto().global("torch", "FloatStorage").op(')').op('R').op('.');
    auto bytes = p.bytes();
    auto [s, m] = error_of([&] { torch_pickle::load_state_dict(bytes.data(), bytes.size(), "x"); });
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(m.find("torch.FloatStorage") != std::string::npos);
  }
}

TEST_CASE("pickle: malformed streams are format errors") {
  auto status = [](const std::string& b) {
    return error_of([&] { torch_pickle::load_state_dict(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "t"); });
  };
  CHECK(status("").first == BERTRT_ERROR_FORMAT);
  CHECK(status("\x80\x02").first == BERTRT_ERROR_FORMAT);                 // no STOP
  CHECK(status("\x80\x02.").first == BERTRT_ERROR_FORMAT);                // stack underflow
  CHECK(status("\x80\x02h\x05.").second.find("memo") != std::string::npos);  // memo miss
  CHECK(status("\x80\x02X\xff\xff\xff\x7f").first == BERTRT_ERROR_FORMAT);    // string past the end
  CHECK(status("\x80\x02(t(u.").first == BERTRT_ERROR_FORMAT);            // SETITEMS on a tuple
  CHECK(status("\x80\x02}(K\x01u.").first == BERTRT_ERROR_FORMAT);        // odd SETITEMS
  CHECK(status(std::string("\x80\x02}(X\x01\x00\x00\x00" "aK\x01u.", 14)).second.find("not a tensor") != std::string::npos);
  CHECK(status("\x80\x02K\x01.").second.find("not a state dict") != std::string::npos);
  CHECK(status("\x80\x02(}.").first == BERTRT_ERROR_FORMAT);              // STOP with open MARK
  CHECK(status("\x80\x02}0(.").first == BERTRT_ERROR_FORMAT);             // underflow below a mark
  CHECK(status("\x80\x02\xff").first == BERTRT_ERROR_UNSUPPORTED);        // unknown opcode
  CHECK(status("\x80\x02" "cos\nsystem").first == BERTRT_ERROR_FORMAT);    // unterminated GLOBAL
  // Persistent ids that are not torch storages.
  CHECK(status("\x80\x02K\x01Q.").first == BERTRT_ERROR_FORMAT);
  // Empty dict is a valid (empty) state dict.
  const std::string empty = "\x80\x02}.";
  CHECK(torch_pickle::load_state_dict(reinterpret_cast<const uint8_t*>(empty.data()), empty.size(), "t").tensors.empty());
}

TEST_CASE("torch zip: offsets, strides and shared storages") {
  TempDir tmp;
  // Storage "0": 12 floats 0..11; storage "1": 2 doubles.
  std::vector<float> s0(12);
  for (int i = 0; i < 12; ++i) s0[static_cast<size_t>(i)] = static_cast<float>(i);
  const double s1[2] = {0.25, -8.0};
  Pickle p = dict_start();
  p.str("plain").tensor("FloatStorage", "0", 12, 0, {3, 4}, {4, 1});
  p.str("offset").tensor("FloatStorage", "0", 12, 5, {2, 3}, {3, 1});         // elements 5..10
  p.str("transposed").tensor("FloatStorage", "0", 12, 1, {2, 3}, {1, 4});     // [[1,5,9],[2,6,10]]
  p.str("column").tensor("FloatStorage", "0", 12, 2, {3, 1}, {4, 1});         // 2, 6, 10
  p.str("empty").tensor("FloatStorage", "0", 12, 0, {0, 4}, {4, 1});
  p.str("scalar").tensor("FloatStorage", "0", 12, 7, {}, {});
  p.str("doubles").tensor("DoubleStorage", "1", 2, 0, {2}, {1});
  // A parameter wrapper around a tensor.
  p.str("param").global("torch._utils", "_rebuild_parameter").op('(');
  p.tensor("FloatStorage", "0", 12, 0, {2}, {1}).op('\x88').global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  end_dict(p);
  const std::string path = tmp.file("views.bin");
  write_zip(path, {{"archive/data.pkl", p.b},
                   {"archive/data/0", floats(s0)},
                   {"archive/data/1", std::string(reinterpret_cast<const char*>(s1), sizeof s1)},
                   {"archive/version", "3\n"},
                   {"archive/byteorder", "little"}});
  auto m = by_name(read_torch_zip(path));
  REQUIRE(m.size() == 8);
  CHECK(as_floats(m.at("plain")) == s0);
  CHECK(as_floats(m.at("offset")) == std::vector<float>{5, 6, 7, 8, 9, 10});
  CHECK(as_floats(m.at("transposed")) == std::vector<float>{1, 5, 9, 2, 6, 10});
  CHECK(m.at("transposed").shape == std::vector<int64_t>{2, 3});
  CHECK(as_floats(m.at("column")) == std::vector<float>{2, 6, 10});
  CHECK(m.at("empty").data.empty());
  CHECK(m.at("empty").shape == std::vector<int64_t>{0, 4});
  CHECK(as_floats(m.at("scalar")) == std::vector<float>{7});
  CHECK(m.at("scalar").shape.empty());
  CHECK(m.at("doubles").dtype == SourceDType::f64);
  CHECK(m.at("doubles").data.size() == 16);
  CHECK(as_floats(m.at("param")) == std::vector<float>{0, 1});
}

TEST_CASE("torch zip: malformed archives fail cleanly") {
  TempDir tmp;
  const std::string path = tmp.file("bad.bin");
  auto simple = [](uint32_t numel, uint32_t offset, std::vector<uint32_t> size, std::vector<uint32_t> stride) {
    Pickle p = dict_start();
    p.str("w").tensor("FloatStorage", "0", numel, offset, size, stride);
    end_dict(p);
    return p.b;
  };
  auto zip_error = [&](const std::vector<std::pair<std::string, std::string>>& entries) {
    write_zip(path, entries);
    return error_of([&] { read_torch_zip(path); });
  };

  SUBCASE("missing file or a directory") {
    CHECK(error_of([&] { read_torch_zip(tmp.file("absent.bin")); }).first == BERTRT_ERROR_IO);
    CHECK(error_of([&] { read_torch_zip(tmp.path.string()); }).first == BERTRT_ERROR_IO);
  }
  SUBCASE("legacy torch.save format") {
    write_file(path, std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15));
    auto [s, m] = error_of([&] { read_torch_zip(path); });
    CHECK(s == BERTRT_ERROR_UNSUPPORTED);
    CHECK(m.find("legacy torch.save format is unsupported; re-save with a current torch") != std::string::npos);
  }
  SUBCASE("not a zip") {
    write_file(path, std::string("hello"));
    CHECK(error_of([&] { read_torch_zip(path); }).first == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("truncated fixture") {
    const auto full = read_file(kModels + "tiny/pytorch_model.bin");
    for (size_t cut : {size_t{2}, size_t{30}, size_t{5000}, full.size() / 2, full.size() - 10}) {
      INFO("cut at " << cut);
      write_file(path, std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)));
      CHECK(error_of([&] { read_torch_zip(path); }).first == BERTRT_ERROR_FORMAT);
    }
  }
  SUBCASE("no data.pkl") { CHECK(zip_error({{"a/version", "3"}}).first == BERTRT_ERROR_FORMAT); }
  SUBCASE("two data.pkl") {
    CHECK(zip_error({{"a/data.pkl", "\x80\x02}."}, {"b/data.pkl", "\x80\x02}."}}).second.find("two pickles") != std::string::npos);
  }
  SUBCASE("storage entry missing") {
    CHECK(zip_error({{"a/data.pkl", simple(4, 0, {4}, {1})}}).second.find("a/data/0 is missing") != std::string::npos);
  }
  SUBCASE("storage entry too short") {
    CHECK(zip_error({{"a/data.pkl", simple(4, 0, {4}, {1})}, {"a/data/0", floats({1, 2, 3})}}).first == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("view outside its storage") {
    auto [s, m] = zip_error({{"a/data.pkl", simple(4, 2, {3}, {1})}, {"a/data/0", floats({1, 2, 3, 4})}});
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(m.find("outside its storage") != std::string::npos);
    CHECK(zip_error({{"a/data.pkl", simple(4, 0, {2, 2}, {3, 1})}, {"a/data/0", floats({1, 2, 3, 4})}}).first == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("expanded view larger than its storage") {
    CHECK(zip_error({{"a/data.pkl", simple(1, 0, {1000000000}, {0})}, {"a/data/0", floats({1})}}).first ==
          BERTRT_ERROR_UNSUPPORTED);
  }
  SUBCASE("huge storage claimed") {
    auto [s, m] = zip_error({{"a/data.pkl", simple(0xffffffffu, 0, {4}, {1})}, {"a/data/0", floats({1, 2, 3, 4})}});
    CHECK(s == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("storage named twice with different sizes") {
    Pickle p = dict_start();
    p.str("a").tensor("FloatStorage", "0", 4, 0, {4}, {1});
    p.str("b").tensor("FloatStorage", "0", 8, 0, {4}, {1});
    end_dict(p);
    CHECK(zip_error({{"a/data.pkl", p.b}, {"a/data/0", floats({1, 2, 3, 4})}}).first == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("big-endian archive") {
    CHECK(zip_error({{"a/data.pkl", "\x80\x02}."}, {"a/byteorder", "big"}}).first == BERTRT_ERROR_UNSUPPORTED);
  }
}

TEST_CASE("tf_model.h5: bad files") {
  TempDir tmp;
#ifdef BERTRT_HAVE_HDF5
  CHECK(error_of([&] { read_tf_h5(tmp.file("absent.h5")); }).first == BERTRT_ERROR_IO);
  write_file(tmp.file("x.h5"), std::string("not hdf5 at all"));
  CHECK(error_of([&] { read_tf_h5(tmp.file("x.h5")); }).first == BERTRT_ERROR_FORMAT);
  // A truncated copy of a real file.
  const auto full = read_file(kModels + "tiny/tf_model.h5");
  write_file(tmp.file("cut.h5"), std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2)));
  CHECK(error_of([&] { read_tf_h5(tmp.file("cut.h5")); }).first == BERTRT_ERROR_FORMAT);
#else
  auto [s, m] = error_of([&] { read_tf_h5(kModels + "tiny/tf_model.h5"); });
  CHECK(s == BERTRT_ERROR_UNSUPPORTED);
  CHECK(m.find("built without HDF5") != std::string::npos);
#endif
}
