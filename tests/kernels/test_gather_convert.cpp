// gather_f32/f16/bf16 and f16/bf16 -> f32 converts on every ISA vs the scalar reference: exact.
// The one allowed difference: an f16 signalling NaN may come back quiet (hardware converters set
// the quiet bit); sign and the remaining payload must match.
#include "tests/kernels/kernel_test_util.h"

namespace bertrt::kernels::test {
namespace {

// Exact comparison of widened f16 values, allowing sNaN -> qNaN.
std::string compare_f16_widened(const float* got, const float* want, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t g = bits_of(got[i]), w = bits_of(want[i]);
    if (g == w) continue;
    if (std::isnan(want[i]) && (g | 0x00400000u) == (w | 0x00400000u)) continue;
    std::ostringstream os;
    os << "element " << i << ": got bits 0x" << std::hex << g << ", want 0x" << w;
    return os.str();
  }
  return "";
}

constexpr size_t kVocab = 37;

TEST_CASE("kernels: gather f32/f16/bf16 match scalar exactly") {
  for (const KernelTable* t : tables_under_test()) {
    for (size_t hidden : kSizes) {
      const size_t n = 5;
      std::vector<float> table32(kVocab * hidden);
      fill_normal(table32.data(), table32.size(), 0.0f, 1.0f);
      std::vector<uint16_t> table16(kVocab * hidden), tablebf(kVocab * hidden);
      for (auto& v : table16) v = random_f16();
      for (auto& v : tablebf) v = random_bf16();
      std::vector<int64_t> ids(n);
      std::uniform_int_distribution<int64_t> pick(0, kVocab - 1);
      for (auto& id : ids) id = pick(rng());
      ids[n - 1] = kVocab - 1;  // last row of the table: reads must stop at its end
      for (int dtype = 0; dtype < 3; ++dtype) {
        INFO("isa=" << isa_str(t->isa) << " dtype=" << dtype << " n=" << n << " hidden=" << hidden);
        Guarded<float> got(n * hidden);
        std::vector<float> want(n * hidden);
        got.poison();
        if (dtype == 0) {
          t->gather_f32(table32.data(), ids.data(), n, hidden, got.data());
          scalar::gather_f32(table32.data(), ids.data(), n, hidden, want.data());
        } else if (dtype == 1) {
          t->gather_f16(table16.data(), ids.data(), n, hidden, got.data());
          scalar::gather_f16(table16.data(), ids.data(), n, hidden, want.data());
        } else {
          t->gather_bf16(tablebf.data(), ids.data(), n, hidden, got.data());
          scalar::gather_bf16(tablebf.data(), ids.data(), n, hidden, want.data());
        }
        CHECK_MATCH(compare_exact(got.data(), want.data(), n * hidden));
        CHECK_MESSAGE(got.guards_intact(), "write outside the output");
      }
    }
  }
}

TEST_CASE("kernels: gather with n = 0 writes nothing") {
  for (const KernelTable* t : tables_under_test()) {
    Guarded<float> got(0);
    const float table[4] = {1, 2, 3, 4};
    t->gather_f32(table, nullptr, 0, 4, got.data());
    CHECK(got.guards_intact());
  }
}

TEST_CASE("kernels: f16_to_f32 on all 65536 values and at odd offsets/lengths") {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> want(all.size());
  scalar::f16_to_f32(all.data(), all.size(), want.data());
  // Spot-check the reference on the special values the brief names.
  CHECK(bits_of(want[0x0000]) == 0x00000000u);              // +0
  CHECK(bits_of(want[0x8000]) == 0x80000000u);              // -0
  CHECK(want[0x0001] == std::ldexp(1.0f, -24));             // smallest subnormal
  CHECK(want[0x03ff] == std::ldexp(1023.0f, -24));          // largest subnormal
  CHECK(std::isinf(want[0x7c00]));
  CHECK(std::isinf(want[0xfc00]));
  CHECK(std::isnan(want[0x7e00]));
  CHECK(std::isnan(want[0x7c01]));  // signalling NaN
  for (const KernelTable* t : tables_under_test()) {
    INFO("isa=" << isa_str(t->isa));
    Guarded<float> got(all.size());
    got.poison();
    t->f16_to_f32(all.data(), all.size(), got.data());
    CHECK_MATCH(compare_f16_widened(got.data(), want.data(), all.size()));
    CHECK(got.guards_intact());
    // Special values at every offset/length combination of a short window.
    const uint16_t specials[] = {0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0x7c00,
                                 0xfc00, 0x7e00, 0xfe00, 0x7c01, 0x3c00, 0xbc00, 0x3555, 0x0200,
                                 0x8200, 0x7fff, 0x1234, 0xc000};
    constexpr size_t kCount = sizeof specials / sizeof specials[0];
    for (size_t off = 0; off < 4; ++off) {
      for (size_t len = 0; len + off <= kCount; ++len) {
        INFO("offset=" << off << " length=" << len);
        Guarded<float> out(len);
        std::vector<float> ref(len);
        out.poison();
        t->f16_to_f32(specials + off, len, out.data());
        scalar::f16_to_f32(specials + off, len, ref.data());
        CHECK_MATCH(compare_f16_widened(out.data(), ref.data(), len));
        CHECK(out.guards_intact());
      }
    }
  }
}

TEST_CASE("kernels: bf16_to_f32 on all 65536 values and at odd offsets/lengths") {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> want(all.size());
  scalar::bf16_to_f32(all.data(), all.size(), want.data());
  CHECK(bits_of(want[0x8000]) == 0x80000000u);  // -0
  CHECK(std::isinf(want[0x7f80]));
  CHECK(std::isnan(want[0x7fc0]));
  CHECK(want[0x0001] == float_of(0x00010000u));  // subnormal
  for (const KernelTable* t : tables_under_test()) {
    INFO("isa=" << isa_str(t->isa));
    for (size_t off = 0; off < 3; ++off) {
      const size_t len = all.size() - off - 5;
      INFO("offset=" << off << " length=" << len);
      Guarded<float> got(len);
      got.poison();
      t->bf16_to_f32(all.data() + off, len, got.data());
      CHECK_MATCH(compare_exact(got.data(), want.data() + off, len));  // NaN payloads kept
      CHECK(got.guards_intact());
    }
    for (size_t len : kSizes) {
      Guarded<float> got(len);
      got.poison();
      t->bf16_to_f32(all.data() + 0x7f7f, len, got.data());  // large values, inf, NaNs
      CHECK_MATCH(compare_exact(got.data(), want.data() + 0x7f7f, len));
      CHECK(got.guards_intact());
    }
  }
}

}  // namespace
}  // namespace bertrt::kernels::test
