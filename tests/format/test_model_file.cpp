// The model file: round trip, and every kind of damage gives its own clear error.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "bertrt/bertrt.h"
#include "common/error.h"
#include "common/fixtures.h"
#include "format/model_file.h"

using namespace bertrt;
using bertrt::testing::converted_model;
using bertrt::testing::temp_dir;

namespace {

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string write_all(const std::vector<uint8_t>& bytes, const std::string& name) {
  const std::string path = (temp_dir("format") / name).string();
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Opens through the C API and returns the status and message.
std::pair<bertrt_status, std::string> open_status(const std::vector<uint8_t>& bytes, bool verify_weights = false) {
  const std::string path = write_all(bytes, "m.bertrt");
  bertrt_model* m = nullptr;
  bertrt_open_options o{verify_weights ? 1 : 0};
  const bertrt_status s = bertrt_model_open(path.c_str(), &o, &m);
  std::string message = bertrt_last_error();
  if (m) bertrt_model_free(m);
  return {s, message};
}

void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_u64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[at + static_cast<size_t>(i)];
  return v;
}

// Rewrites the header checksum so that a deliberate edit is judged by the structural checks
// (left alone when the edit put a section outside the file: the bounds checks come first).
void reseal(std::vector<uint8_t>& b) {
  const uint64_t mo = get_u64(b, 24), ms = get_u64(b, 32), to = get_u64(b, 40), ts = get_u64(b, 48);
  if (mo > b.size() || ms > b.size() - mo || to > b.size() || ts > b.size() - to) return;
  put_u64(b, 56, format::structure_checksum(b.data(), mo, ms, to, ts));
}

}  // namespace

TEST_CASE("writer and reader round trip metadata and tensors, aligned to 64 bytes") {
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  format::ModelFileWriter w;
  w.set_int("an.int", -1234567890123);
  w.set_float("a.float", 1e-12);
  w.set_string("a.string", "héllo\u2028world");
  w.set_list("a.list", {"[PAD]", "", "##s", "\xe4\xb8\xad"});
  std::vector<float> values(3 * 5);
  for (float& v : values) v = dist(rng);
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  w.add_tensor("t.f32", format::TensorDType::f32, {3, 5}, bytes);
  w.add_tensor("t.f16", format::TensorDType::f16, {7}, std::vector<uint8_t>(14, 0x3c));
  const std::vector<uint8_t> image = w.serialize();
  const auto f = format::ModelFile::parse(image.data(), image.size(), format::Verify::all);
  CHECK(f.meta_int("an.int").value() == -1234567890123);
  CHECK(f.meta_float("a.float").value() == 1e-12);
  CHECK(f.meta_string("a.string").value() == "héllo\u2028world");
  REQUIRE(f.meta_list("a.list"));
  CHECK(*f.meta_list("a.list") == std::vector<std::string>{"[PAD]", "", "##s", "\xe4\xb8\xad"});
  const auto* t = f.find("t.f32");
  REQUIRE(t);
  CHECK(t->offset % 64 == 0);
  CHECK(t->shape == std::vector<uint64_t>{3, 5});
  CHECK(std::memcmp(t->data, values.data(), bytes.size()) == 0);
  CHECK(f.find("t.f16")->offset % 64 == 0);
  CHECK(f.find("missing") == nullptr);
  // Serialisation is deterministic.
  CHECK(w.serialize() == image);
}

TEST_CASE("damaged model files are rejected with their own status and message") {
  const std::vector<uint8_t> good = read_all(converted_model("tiny"));
  REQUIRE(open_status(good).first == BERTRT_OK);

  SUBCASE("a damaged byte in the metadata or the tensor table fails the header checksum") {
    const size_t table_offset = get_u64(good, 40), table_size = get_u64(good, 48);
    for (size_t at : {size_t{70}, table_offset + 5, table_offset + table_size - 3}) {
      auto b = good;
      b[at] ^= 0x10;
      const auto [s, msg] = open_status(b);
      INFO("byte " << at << ": " << msg);
      CHECK(s == BERTRT_ERROR_CHECKSUM);
      CHECK(msg.find("header checksum") != std::string::npos);
    }
  }
  SUBCASE("a damaged weight fails its tensor's checksum when weights are verified") {
    const auto f = format::ModelFile::parse(good.data(), good.size(), format::Verify::all);
    std::mt19937 rng(std::random_device{}());
    const auto& t = f.tensors()[std::uniform_int_distribution<size_t>(0, f.tensors().size() - 1)(rng)];
    auto b = good;
    b[t.offset + std::uniform_int_distribution<size_t>(0, t.nbytes - 1)(rng)] ^= 0x04;
    const auto [s, msg] = open_status(b, true);
    INFO(msg);
    CHECK(s == BERTRT_ERROR_CHECKSUM);
    CHECK(msg.find("'" + t.name + "'") != std::string::npos);
    // Without verify_weights the file opens: a changed weight is still a well-formed file.
    CHECK(open_status(b).first == BERTRT_OK);
  }
  SUBCASE("truncated") {
    for (size_t keep : {size_t{0}, size_t{10}, size_t{63}, size_t{64}, good.size() / 2, good.size() - 1}) {
      auto b = std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(keep));
      const auto [s, msg] = open_status(b);
      INFO("kept " << keep << " bytes: " << msg);
      CHECK(s == BERTRT_ERROR_FORMAT);
    }
  }
  SUBCASE("wrong magic") {
    auto b = good;
    b[0] = 'X';
    const auto [s, msg] = open_status(b);
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(msg.find("magic") != std::string::npos);
  }
  SUBCASE("unsupported version") {
    auto b = good;
    b[8] = 99;
    reseal(b);
    CHECK(open_status(b).first == BERTRT_ERROR_UNSUPPORTED);
    b[8] = 1;  // the first version had one whole-file checksum and no per-tensor checksums
    reseal(b);
    const auto [s, msg] = open_status(b);
    CHECK(s == BERTRT_ERROR_UNSUPPORTED);
    CHECK(msg.find("convert the checkpoint again") != std::string::npos);
  }
  SUBCASE("tensor offset out of bounds") {
    const auto f = format::ModelFile::parse(good.data(), good.size(), format::Verify::all);
    // Find the offset field of the first tensor in the table and point it past the end.
    const auto& t = f.tensors().front();
    auto b = good;
    bool patched = false;
    for (size_t i = 64; i + 16 <= b.size() && !patched; i += 1) {
      uint64_t off = 0, len = 0;
      std::memcpy(&off, &b[i], 8);
      std::memcpy(&len, &b[i + 8], 8);
      if (off == t.offset && len == t.nbytes) {
        put_u64(b, i, (b.size() + 64) / 64 * 64);
        patched = true;
      }
    }
    REQUIRE(patched);
    reseal(b);
    const auto [s, msg] = open_status(b);
    CHECK(s == BERTRT_ERROR_FORMAT);
    CHECK(msg.find("outside the file") != std::string::npos);
  }
  SUBCASE("section lengths past the end") {
    auto b = good;
    put_u64(b, 32, b.size());  // metadata size
    reseal(b);
    CHECK(open_status(b).first == BERTRT_ERROR_FORMAT);
  }
  SUBCASE("random byte flips never crash") {
    std::mt19937 rng(std::random_device{}());
    for (int trial = 0; trial < 300; ++trial) {
      auto b = good;
      const size_t at = std::uniform_int_distribution<size_t>(0, std::min<size_t>(b.size() - 1, 4096))(rng);
      b[at] = static_cast<uint8_t>(rng());
      reseal(b);
      try {
        format::ModelFile::parse(b.data(), b.size(), format::Verify::all);
      } catch (const bertrt::Error& e) {
        CHECK(e.status() != BERTRT_OK);
      }
    }
  }
}

TEST_CASE("missing files give an I/O error") {
  bertrt_model* m = nullptr;
  CHECK(bertrt_model_open("/nonexistent/model.bertrt", nullptr, &m) == BERTRT_ERROR_IO);
  CHECK(m == nullptr);
  CHECK(std::string(bertrt_last_error()).find("/nonexistent/model.bertrt") != std::string::npos);
  CHECK(bertrt_model_open(nullptr, nullptr, &m) == BERTRT_ERROR_INVALID_ARGUMENT);
}
