// The bf16x2 GEMM (gemm_packed_bf16x2) and the f32 -> bf16 row conversion (convert_rows_bf16)
// on every table and variant this CPU has, against the scalar twin: bit for bit where
// kernels/gemm_bf16.h says so (AVX-512F and AVX2 widening, plain NEON), within a stated bound
// for the bf16 dot-product instructions (NEON bfdot; AVX-512 vdpbf16ps where the CPU has it).
// Odd shapes, row strides, bias or none, NaN-prefilled outputs (every element written, nothing
// outside [m, n) touched), sub-ranges equal to the whole call; the twin itself against the sums
// in double; the conversion at ties, subnormals, infinities and NaN. Fresh random inputs each
// run; the seed is printed with every failure and BERTRT_TEST_SEED=<seed> replays it.
#include <cstdlib>

#include "kernels/gemm_bf16.h"
#include "tests/kernels/kernel_test_util.h"

namespace bertrt::kernels::test {
namespace {

using GemmBf16 = decltype(KernelTable::gemm_packed_bf16x2);
using ConvertBf16 = decltype(KernelTable::convert_rows_bf16);

struct Variant {
  std::string name;
  GemmBf16 fn;
  bool exact;  // bit-identical to the scalar twin
};

std::vector<Variant> find_variants() {
  std::vector<Variant> out;
  auto add = [&](std::string name, GemmBf16 fn, bool exact) {
    for (const Variant& v : out)
      if (v.fn == fn) return;
    out.push_back({std::move(name), fn, exact});
  };
  bool dot_instruction = false;
#if defined(BERTRT_KERNELS_X86)
  dot_instruction = cpu_has(CpuExt::avx512_bf16);
#elif defined(BERTRT_KERNELS_NEON)
  dot_instruction = cpu_has(CpuExt::neon_bf16);
#endif
  for (const KernelTable* t : tables_under_test()) {
    const bool exact = t->isa == Isa::scalar || t->isa == Isa::avx2 || !dot_instruction;
    add(std::string("gemm_packed_bf16x2__") + isa_name(t->isa) + (exact ? "" : "_bf16"), t->gemm_packed_bf16x2,
        exact);
  }
#if defined(BERTRT_KERNELS_X86)
  if (cpu_supports(Isa::avx512)) {
    add("gemm_packed_bf16x2__avx512 (widening)", avx512::gemm_packed_bf16x2, true);
    add("gemm_packed_bf16x2__avx512 (widening, per-pair k loop)", avx512::gemm_packed_bf16x2_pairs, true);
  }
  if (cpu_has(CpuExt::avx512_bf16)) add("gemm_packed_bf16x2__avx512_bf16", avx512::gemm_packed_bf16x2_bf16, false);
  else MESSAGE("skipping gemm_packed_bf16x2__avx512_bf16: CPU lacks AVX512_BF16 (its k loop is tested with widening arithmetic)");
#endif
#if defined(BERTRT_KERNELS_NEON)
  add("gemm_packed_bf16x2__neon (widening)", neon::gemm_packed_bf16x2, true);
  if (cpu_has(CpuExt::neon_bf16)) add("gemm_packed_bf16x2__neon_bf16", neon::gemm_packed_bf16x2_bf16, false);
  else MESSAGE("skipping gemm_packed_bf16x2__neon_bf16: CPU lacks BF16 (HWCAP2_BF16)");
#endif
  return out;
}
const std::vector<Variant>& gemm_variants() {
  static const std::vector<Variant> variants = find_variants();
  return variants;
}

uint32_t test_seed() {
  if (const char* s = std::getenv("BERTRT_TEST_SEED")) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

float bf(uint16_t h) { return scalar::bf16_to_f32_one(h); }

// W[k, n] f32 with a spread of magnitudes, packed; the bf16 value of each weight kept.
struct WeightsBf16 {
  size_t k, n;
  std::vector<uint16_t> w;  // [k, n] bf16 bits
  Guarded<uint16_t> packed;
  std::vector<float> bias;
  WeightsBf16(size_t k_, size_t n_, std::mt19937& g)
      : k(k_), n(n_), w(k_ * n_), packed(packed_bf16x2_elems(k_, n_)), bias(n_) {
    const size_t ldw = n + 3;
    std::vector<float> src(k * ldw, std::numeric_limits<float>::quiet_NaN());  // row padding: never packed
    std::uniform_int_distribution<int> e(-6, 2);
    for (size_t p = 0; p < k; ++p)
      for (size_t j = 0; j < n; ++j) {
        src[p * ldw + j] = std::ldexp(normal(0.0f, 1.0f), e(g));
        w[p * n + j] = f32_to_bf16_rne(src[p * ldw + j]);
      }
    packed.poison();
    pack_panels_bf16x2(src.data(), k, n, ldw, packed.data());
    for (size_t j = 0; j < n; ++j) bias[j] = normal(0.0f, 1.0f);
  }
};

// A[m, K2] bf16 (row stride lda, the values past K2 poisoned), from random f32 by the twin.
struct ActBf16 {
  size_t m, k, lda;
  Guarded<uint16_t> a;
  ActBf16(size_t m_, size_t k_, size_t lda_) : m(m_), k(k_), lda(lda_), a(m_ * lda_) {
    a.poison();
    std::vector<float> x(m * k);
    fill_normal(x.data(), x.size(), 0.0f, 1.5f);
    scalar::convert_rows_bf16(m, k, x.data(), k, a.data(), lda);
  }
};

std::string check_footprint(const Guarded<float>& c, size_t m, size_t n, size_t ldc) {
  if (!c.guards_intact()) return "wrote outside the C buffer";
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < ldc; ++j) {
      const bool poisoned = bits_of(c[i * ldc + j]) == kPoisonBits;
      if (j < n && poisoned) return "C[" + std::to_string(i) + ", " + std::to_string(j) + "] not written";
      if (j >= n && !poisoned) return "C[" + std::to_string(i) + ", " + std::to_string(j) + "] (past n) written";
    }
  }
  return "";
}

Guarded<float> run(GemmBf16 fn, const ActBf16& x, const WeightsBf16& w, bool bias, size_t ldc, size_t r0 = 0,
                   size_t panel0 = 0) {
  const size_t c0 = panel0 * kBf16Panel, rows = x.m - r0;
  Guarded<float> c(rows * ldc);
  c.poison();
  fn(rows, w.n - c0, w.k, x.a.data() + r0 * x.lda, x.lda, w.packed.data() + panel0 * kBf16Panel * bf16_k2(w.k),
     bias ? w.bias.data() + c0 : nullptr, c.data(), ldc);
  return c;
}

// sum_p |a w| in double (the scale of the rounding errors).
double abs_sum(const ActBf16& x, const WeightsBf16& w, size_t i, size_t j) {
  double s = 0.0;
  for (size_t p = 0; p < w.k; ++p) s += std::fabs(static_cast<double>(bf(x.a[i * x.lda + p])) * bf(w.w[p * w.n + j]));
  return s;
}

// The twin against the sum in double: k + 1 roundings, each within 2^-24 of sum |a w| + |bias|.
std::string check_twin(const Guarded<float>& c, const ActBf16& x, const WeightsBf16& w, bool bias, size_t ldc) {
  for (size_t i = 0; i < x.m; ++i) {
    for (size_t j = 0; j < w.n; ++j) {
      double want = bias ? w.bias[j] : 0.0;
      for (size_t p = 0; p < w.k; ++p) want += static_cast<double>(bf(x.a[i * x.lda + p])) * bf(w.w[p * w.n + j]);
      const double bound = (static_cast<double>(w.k) + 1.0) * 0x1p-24 * (abs_sum(x, w, i, j) + (bias ? std::fabs(w.bias[j]) : 0.0));
      if (!(std::fabs(c[i * ldc + j] - want) <= bound))
        return "scalar C[" + std::to_string(i) + ", " + std::to_string(j) + "] = " + std::to_string(c[i * ldc + j]) +
               ", want " + std::to_string(want);
    }
  }
  return "";
}

// A dot-product instruction against the twin: both within (k + 2) roundings of 2^-24 of the
// sum of |a w| from the exact sum (bfdot: one rounding per pair and one per accumulation, the
// twin one per product), plus the accumulators they flush (below 2^-126 each step).
std::string compare_bounded(const Guarded<float>& got, const Guarded<float>& want, const ActBf16& x,
                            const WeightsBf16& w, bool bias, size_t ldc) {
  for (size_t i = 0; i < x.m; ++i)
    for (size_t j = 0; j < w.n; ++j) {
      const double scale = abs_sum(x, w, i, j) + (bias ? std::fabs(w.bias[j]) : 0.0);
      const double bound = 2.0 * (static_cast<double>(w.k) + 2.0) * 0x1p-24 * scale + static_cast<double>(w.k) * 0x1p-125;
      const double err = std::fabs(static_cast<double>(got[i * ldc + j]) - want[i * ldc + j]);
      if (!(err <= bound))
        return "C[" + std::to_string(i) + ", " + std::to_string(j) + "]: got " + std::to_string(got[i * ldc + j]) +
               ", want " + std::to_string(want[i * ldc + j]) + ", error " + std::to_string(err) + " > " +
               std::to_string(bound);
    }
  return "";
}

std::string compare_bits(const Guarded<float>& got, const Guarded<float>& want, size_t m, size_t n, size_t ldc,
                         size_t want_r0 = 0, size_t want_c0 = 0) {
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j)
      if (bits_of(got[i * ldc + j]) != bits_of(want[(want_r0 + i) * ldc + want_c0 + j]))
        return "C[" + std::to_string(i) + ", " + std::to_string(j) + "]: got " + std::to_string(got[i * ldc + j]) +
               ", want " + std::to_string(want[(want_r0 + i) * ldc + want_c0 + j]);
  return "";
}

void check_shape(size_t m, size_t n, size_t k, std::mt19937& g, bool bias, bool twin) {
  const size_t lda = bf16_k2(k) + 3, ldc = n + 5;
  const WeightsBf16 w(k, n, g);
  const ActBf16 x(m, k, lda);
  const Guarded<float> want = run(scalar::gemm_packed_bf16x2, x, w, bias, ldc);
  CHECK_MATCH(check_footprint(want, m, n, ldc));
  if (twin) CHECK_MATCH(check_twin(want, x, w, bias, ldc));
  for (const Variant& v : gemm_variants()) {
    INFO(v.name << " m=" << m << " n=" << n << " k=" << k << " bias=" << bias);
    const Guarded<float> got = run(v.fn, x, w, bias, ldc);
    CHECK_MATCH(check_footprint(got, m, n, ldc));
    CHECK_MATCH(v.exact ? compare_bits(got, want, m, n, ldc) : compare_bounded(got, want, x, w, bias, ldc));
    // Rows and panel-aligned columns split off: the same bits as the whole call.
    const size_t r0 = m / 2, panel0 = n > kBf16Panel ? 1 : 0;
    const Guarded<float> part = run(v.fn, x, w, bias, ldc, r0, panel0);
    CHECK_MATCH(compare_bits(part, got, m - r0, n - panel0 * kBf16Panel, ldc, r0, panel0 * kBf16Panel));
  }
}

TEST_CASE("gemm_packed_bf16x2: every variant against the scalar twin at odd shapes") {
  const uint32_t seed = test_seed();
  INFO("seed=" << seed << " (BERTRT_TEST_SEED replays)");
  std::mt19937 g(seed);
  std::vector<size_t> ms;
  for (size_t m = 1; m <= 13; ++m) ms.push_back(m);
  ms.push_back(97);
  size_t shape = 0;
  for (size_t k : {1, 2, 3, 63, 384, 385})
    for (size_t n : {1, 15, 16, 17, 33, 64})
      for (size_t m : ms) {
        // The twin against double on the smaller problems (the check is O(m n k) in double).
        check_shape(m, n, k, g, ++shape % 2 == 0, m * n * k <= 200000);
      }
}

TEST_CASE("gemm_packed_bf16x2: packed layout") {
  std::mt19937 g(test_seed());
  for (size_t k : {1, 2, 5, 16}) {
    for (size_t n : {1, 16, 17}) {
      INFO("k=" << k << " n=" << n);
      const WeightsBf16 w(k, n, g);
      const size_t k2 = bf16_k2(k);
      REQUIRE(w.packed.guards_intact());
      bool ok = true;
      for (size_t j = 0; j < (n + 15) / 16 * 16; ++j)
        for (size_t p = 0; p < k2; ++p) {
          const uint16_t got = w.packed[(j / 16) * 16 * k2 + (p / 2) * 32 + 2 * (j % 16) + p % 2];
          const uint16_t want = j < n && p < k ? w.w[p * n + j] : 0;
          if (got != want) ok = false;
        }
      CHECK(ok);
      // From bf16 values: the same panels.
      Guarded<uint16_t> again(w.packed.size());
      again.poison();
      pack_panels_bf16x2_u16(w.w.data(), k, n, n, again.data());
      CHECK(std::memcmp(again.data(), w.packed.data(), w.packed.size() * sizeof(uint16_t)) == 0);
    }
  }
}

// Inputs that exercise every rounding case: random normals of every magnitude, exact ties
// (low half 0x8000) with even and odd kept bits, values just above and below ties, subnormals,
// zeros of both signs, values that round up to infinity, infinities and NaNs.
std::vector<float> special_row(size_t k, std::mt19937& g) {
  std::vector<float> x(k);
  std::uniform_int_distribution<uint32_t> bits(0, 0xffffffffu);
  std::uniform_int_distribution<int> kind(0, 9);
  for (size_t p = 0; p < k; ++p) {
    uint32_t u = bits(g);
    switch (kind(g)) {
      case 0: u = (u & 0xffff0000u) | 0x8000u; break;                       // tie
      case 1: u = (u & 0xffff0000u) | (bits(g) % 2 ? 0x7fffu : 0x8001u); break;  // next to a tie
      case 2: u = (u & 0x807fffffu); break;                                  // subnormal or zero
      case 3: u = (u & 0x80000000u) | 0x7f7f8000u | (u & 0x7fffu); break;   // rounds to infinity
      case 4: u = (u & 0x80000000u) | 0x7f800000u; break;                   // infinity
      case 5: u = (u & 0x80000000u) | 0x7f800000u | (1u + u % 0x7fffffu); break;  // NaN
      default: break;                                                          // any bits
    }
    std::memcpy(&x[p], &u, 4);
  }
  return x;
}

TEST_CASE("convert_rows_bf16: every table against the scalar twin, bit for bit") {
  const uint32_t seed = test_seed();
  INFO("seed=" << seed << " (BERTRT_TEST_SEED replays)");
  std::mt19937 g(seed);
  // The twin at known values: ties go to even, subnormals to signed zero, NaN stays quiet.
  const float probes[] = {float_of(0x3f808000u), float_of(0x3f818000u), float_of(0x3f808001u), float_of(0x00400000u),
                          float_of(0x80000001u), float_of(0x7f7fffffu), float_of(0xff800000u), float_of(0x7f800001u)};
  const uint16_t expect[] = {0x3f80, 0x3f82, 0x3f81, 0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0};
  for (size_t i = 0; i < 8; ++i) CHECK(f32_to_bf16_rne(probes[i]) == expect[i]);
  for (size_t k : {1, 2, 3, 7, 8, 15, 16, 17, 33, 100, 384, 385}) {
    const size_t m = 1 + g() % 5, ldx = k + 2, ldo = bf16_k2(k) + 5;
    std::vector<float> x(m * ldx);
    for (size_t i = 0; i < m; ++i) {
      const std::vector<float> row = special_row(k, g);
      std::copy(row.begin(), row.end(), x.begin() + static_cast<long>(i * ldx));
    }
    Guarded<uint16_t> want(m * ldo);
    want.poison();
    scalar::convert_rows_bf16(m, k, x.data(), ldx, want.data(), ldo);
    for (size_t i = 0; i < m; ++i)
      for (size_t p = 0; p < k; ++p) REQUIRE(want[i * ldo + p] == f32_to_bf16_rne(x[i * ldx + p]));
    for (const KernelTable* t : tables_under_test()) {
      INFO("isa=" << isa_str(t->isa) << " m=" << m << " k=" << k);
      for (uint16_t fill : {uint16_t{0xdead}, uint16_t{0x1234}}) {
        Guarded<uint16_t> got(m * ldo);
        for (size_t i = 0; i < got.size(); ++i) got[i] = fill;
        t->convert_rows_bf16(m, k, x.data(), ldx, got.data(), ldo);
        CHECK(got.guards_intact());
        bool same = true, untouched = true;
        for (size_t i = 0; i < m; ++i)
          for (size_t p = 0; p < ldo; ++p) {
            if (p < bf16_k2(k) && got[i * ldo + p] != want[i * ldo + p]) same = false;
            if (p >= bf16_k2(k) && got[i * ldo + p] != fill) untouched = false;
          }
        CHECK(same);
        CHECK(untouched);
        if (k % 2 != 0) CHECK(got[k] == 0);
      }
    }
  }
}

}  // namespace
}  // namespace bertrt::kernels::test
