// The .npy reader and writer.
#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "common/error.h"
#include "common/fixtures.h"
#include "common/npy.h"

using namespace bertrt;

TEST_CASE("npy round trip for float32 and int64 at several ranks") {
  std::mt19937 rng(std::random_device{}());
  for (const std::vector<size_t>& shape : {std::vector<size_t>{5}, {2, 3}, {2, 3, 4}, {1, 1, 1, 1}}) {
    size_t n = 1;
    for (size_t d : shape) n *= d;
    std::vector<float> f(n);
    std::vector<int64_t> i(n);
    for (size_t k = 0; k < n; ++k) {
      f[k] = std::uniform_real_distribution<float>(-5, 5)(rng);
      i[k] = static_cast<int64_t>(rng()) - (1ll << 31);
    }
    const auto dir = testing::temp_dir("npy");
    npy::write_float32((dir / "f.npy").string(), f.data(), shape);
    npy::write_int64((dir / "i.npy").string(), i.data(), shape);
    const npy::Array fa = npy::read((dir / "f.npy").string());
    const npy::Array ia = npy::read((dir / "i.npy").string());
    CHECK(fa.shape == shape);
    CHECK(ia.shape == shape);
    CHECK(npy::as_float32(fa, "f") == f);
    CHECK(npy::as_int64(ia, "i") == i);
  }
}

TEST_CASE("npy reads the fixtures written by numpy") {
  const auto a = npy::read((testing::fixtures_dir() / "cases/tiny/padded_batch_types/input_ids.npy").string());
  CHECK(a.dtype == "<i8");
  CHECK(a.shape == std::vector<size_t>{3, 9});
  const auto ids = npy::as_int64(a, "ids");
  CHECK(ids[0] == 101);
}

TEST_CASE("malformed npy data gives clear errors") {
  const std::vector<float> data = {1, 2, 3, 4, 5, 6};
  const auto good = npy::serialize("<f4", data.data(), 24, {2, 3});
  auto parse = [](const std::vector<uint8_t>& b) { return npy::parse(b.data(), b.size(), "x.npy"); };
  CHECK(parse(good).shape == std::vector<size_t>{2, 3});
  SUBCASE("bad magic") {
    auto b = good;
    b[1] = 'X';
    CHECK_THROWS_WITH_AS(parse(b), doctest::Contains("magic"), bertrt::Error);
  }
  SUBCASE("truncated data") {
    auto b = std::vector<uint8_t>(good.begin(), good.end() - 1);
    CHECK_THROWS_WITH_AS(parse(b), doctest::Contains("truncated"), bertrt::Error);
  }
  SUBCASE("truncated header") {
    auto b = std::vector<uint8_t>(good.begin(), good.begin() + 20);
    CHECK_THROWS_AS(parse(b), bertrt::Error);
  }
  SUBCASE("fortran order, big endian, unknown dtype") {
    for (const char* descr : {"'>f4'", "'<c8'", "'<U3'"}) {
      std::string h(good.begin() + 10, good.begin() + 10 + (good[8] | (good[9] << 8)));
      h.replace(h.find("'<f4'"), 5, descr);
      std::vector<uint8_t> b(good.begin(), good.begin() + 10);
      b.insert(b.end(), h.begin(), h.end());
      b.insert(b.end(), good.end() - 24, good.end());
      CHECK_THROWS_AS(parse(b), bertrt::Error);
    }
    std::string h(good.begin() + 10, good.begin() + 10 + (good[8] | (good[9] << 8)));
    h.replace(h.find("False"), 5, "True ");
    std::vector<uint8_t> b(good.begin(), good.begin() + 10);
    b.insert(b.end(), h.begin(), h.end());
    b.insert(b.end(), good.end() - 24, good.end());
    CHECK_THROWS_WITH_AS(parse(b), doctest::Contains("Fortran"), bertrt::Error);
  }
  SUBCASE("wrong element type for ids") {
    CHECK_THROWS_AS(npy::as_int64(parse(good), "input_ids"), bertrt::Error);
  }
}

TEST_CASE("zero-element arrays read as empty (regression: found by fuzz_npy)") {
  for (const char* dtype : {"<i8", "<i4", "<f4", "<f8"}) {
    const auto bytes = npy::serialize(dtype, nullptr, 0, {0, 3});
    const auto a = npy::parse(bytes.data(), bytes.size(), "empty.npy");
    CHECK(a.numel() == 0);
    if (dtype[1] == 'i') CHECK(npy::as_int64(a, "ids").empty());
    else CHECK(npy::as_float32(a, "vectors").empty());
  }
}
