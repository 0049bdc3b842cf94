// The packed GEMM table entries (gemm_packed_f32 / _f16 / _bf16) on every table this CPU has,
// against the scalar twin, and the scalar twin against a double-precision dot product of the
// widened weights. Odd shapes around the tiles, strided A and C, bias or none, sub-ranges of rows
// and panel-aligned columns (bitwise equal to the full call), every output written, nothing
// outside [m, n) touched. Inputs are fresh random values each run; the seed is printed with every
// failure, and BERTRT_TEST_SEED=<seed> replays it.
#include <cstdlib>

#include "kernels/gemm_packed.h"
#include "tests/kernels/kernel_test_util.h"

namespace bertrt::kernels::test {
namespace {

enum class WType { f32, f16, bf16 };

const char* wtype_name(WType t) { return t == WType::f32 ? "f32" : t == WType::f16 ? "f16" : "bf16"; }

constexpr double kEps = 1.1920928955078125e-7;  // 2^-23

// Round-to-nearest-even f32 -> f16 for finite |f| < 65520 (normals and subnormals).
uint16_t round_to_f16(float f) {
  const uint32_t x = bits_of(f), sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
  if (mag >= 0x38800000u) {  // |f| >= 2^-14: an f16 normal
    const uint32_t mant = mag & 0x7fffffu, rest = mant & 0x1fffu;
    uint32_t h = ((((mag >> 23) - 127 + 15) << 10) | (mant >> 13));
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right
    return static_cast<uint16_t>(sign | h);
  }
  // Subnormal: a multiple of 2^-24; the scaling is exact and nearbyint rounds to even.
  return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(std::fabs(f) * 16777216.0f)));
}

uint16_t round_to_bf16(float f) {
  const uint32_t x = bits_of(f);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

struct Rng {
  uint32_t seed;
  std::mt19937 gen;
  explicit Rng(uint32_t s) : seed(s), gen(s) {}
  // Uniform in [-hi, hi], never zero.
  float nonzero(float hi) {
    std::uniform_real_distribution<float> d(-hi, hi);
    for (;;)
      if (const float v = d(gen); v != 0.0f) return v;
  }
};

uint32_t test_seed() {
  if (const char* s = std::getenv("BERTRT_TEST_SEED")) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

// W[k, n] stored as `type` (row-major with row stride n + 3, then packed), and its exact f32 values.
struct Weights {
  WType type;
  size_t k, n;
  std::vector<float> exact;  // [k, n], the stored values widened
  Guarded<float> packed_f32;
  Guarded<uint16_t> packed_u16;

  Weights(WType t, size_t k_, size_t n_, Rng& rng)
      : type(t), k(k_), n(n_), exact(k_ * n_), packed_f32(packed_elems(k_, n_)), packed_u16(packed_elems(k_, n_)) {
    const size_t ldw = n + 3;
    std::vector<float> w(k * ldw, std::nanf(""));
    std::vector<uint16_t> w16(k * ldw, 0x7e00u);
    for (size_t p = 0; p < k; ++p) {
      for (size_t j = 0; j < n; ++j) {
        float v = 0.0f;
        while (v == 0.0f) {  // nonzero after rounding too
          const float x = rng.nonzero(2.0f);
          if (t == WType::f32) v = x;
          if (t == WType::f16) v = scalar::f16_to_f32_one(w16[p * ldw + j] = round_to_f16(x));
          if (t == WType::bf16) v = scalar::bf16_to_f32_one(w16[p * ldw + j] = round_to_bf16(x));
        }
        w[p * ldw + j] = exact[p * n + j] = v;
      }
    }
    packed_f32.poison();
    packed_u16.poison();
    if (t == WType::f32) pack_panels(w.data(), k, n, ldw, packed_f32.data());
    else pack_panels_u16(w16.data(), k, n, ldw, packed_u16.data());
  }

  // C[m, cols) = A * W[:, 16 panel0 + ...] + bias through `table`'s entry for this type.
  void gemm(const KernelTable& table, size_t m, size_t cols, size_t panel0, const float* a, size_t lda,
            const float* bias, float* c, size_t ldc) const {
    const size_t off = panel0 * kPackedPanel * k;
    if (type == WType::f32) table.gemm_packed_f32(m, cols, k, a, lda, packed_f32.data() + off, bias, c, ldc);
    if (type == WType::f16) table.gemm_packed_f16(m, cols, k, a, lda, packed_u16.data() + off, bias, c, ldc);
    if (type == WType::bf16) table.gemm_packed_bf16(m, cols, k, a, lda, packed_u16.data() + off, bias, c, ldc);
  }
};

// "" when every C[i, j], i < m, j < n, was written and nothing else in the buffer (row padding
// up to ldc, guard zones) was; otherwise the first offence.
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

// The first C[i, j] with |got - want| > tol * mag[i, j], or "".
std::string compare_scaled(const float* got, const double* want, const double* mag, size_t m, size_t n, size_t ldc,
                           double tol) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const double g = got[i * ldc + j], w = want[i * n + j], err = std::fabs(g - w), bound = tol * mag[i * n + j];
      if (!(err <= bound)) {
        std::ostringstream os;
        os.precision(9);
        os << "C[" << i << ", " << j << "]: got " << g << ", want " << w << ", error " << err << " > " << bound;
        return os.str();
      }
    }
  }
  return "";
}

// One problem: A[m, k] (row stride lda, padding poisoned), the exact product in double and the
// magnitudes sum_p |a w| + |bias| that scale the tolerances.
struct Problem {
  size_t m, lda, ldc;
  Guarded<float> a;
  std::vector<double> exact, mag;

  Problem(const Weights& w, size_t m_, const float* bias, Rng& rng)
      : m(m_), lda(w.k + 1 + m_ % 3), ldc(w.n + 1 + m_ % 5), a(m_ * lda), exact(m_ * w.n), mag(m_ * w.n) {
    a.poison();
    for (size_t i = 0; i < m; ++i)
      for (size_t p = 0; p < w.k; ++p) a[i * lda + p] = rng.nonzero(1.0f);
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < w.n; ++j) {
        double s = bias ? bias[j] : 0.0, g = bias ? std::fabs(bias[j]) : 0.0;
        for (size_t p = 0; p < w.k; ++p) {
          const double t = static_cast<double>(a[i * lda + p]) * w.exact[p * w.n + j];
          s += t;
          g += std::fabs(t);
        }
        exact[i * w.n + j] = s;
        mag[i * w.n + j] = g;
      }
    }
  }
};

// Rows [r0, m) x columns [16 panel0, n) in a call of their own must equal the full call's bits.
std::string check_split(const KernelTable& t, const Weights& w, const Problem& pb, const float* bias,
                        const Guarded<float>& full, size_t r0, size_t panel0) {
  const size_t c0 = panel0 * kPackedPanel, rows = pb.m - r0, cols = w.n - c0;
  Guarded<float> part(rows * pb.ldc);
  part.poison();
  w.gemm(t, rows, cols, panel0, pb.a.data() + r0 * pb.lda, pb.lda, bias ? bias + c0 : nullptr, part.data(), pb.ldc);
  if (std::string why = check_footprint(part, rows, cols, pb.ldc); !why.empty()) return "split call: " + why;
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j)
      if (bits_of(part[i * pb.ldc + j]) != bits_of(full[(r0 + i) * pb.ldc + c0 + j]))
        return "split call: C[" + std::to_string(r0 + i) + ", " + std::to_string(c0 + j) + "] differs from the full call";
  return "";
}

// Runs every table on one problem and checks it; the scalar twin is also checked against double.
void check_problem(const Weights& w, const Problem& pb, const float* bias, Rng& rng) {
  Guarded<float> want(pb.m * pb.ldc);
  want.poison();
  w.gemm(scalar_table(), pb.m, w.n, 0, pb.a.data(), pb.lda, bias, want.data(), pb.ldc);
  CHECK_MATCH(check_footprint(want, pb.m, w.n, pb.ldc));
  const double tol_exact = static_cast<double>(w.k + 2) * kEps;  // (k + 2) u, twice over
  CHECK_MATCH(compare_scaled(want.data(), pb.exact.data(), pb.mag.data(), pb.m, w.n, pb.ldc, tol_exact));
  std::vector<double> want_d(pb.m * w.n);
  for (size_t i = 0; i < pb.m; ++i)
    for (size_t j = 0; j < w.n; ++j) want_d[i * w.n + j] = want[i * pb.ldc + j];
  const size_t panels = (w.n + kPackedPanel - 1) / kPackedPanel;
  for (const KernelTable* t : tables_under_test()) {
    INFO("isa=" << isa_str(t->isa));
    Guarded<float> got(pb.m * pb.ldc);
    got.poison();
    w.gemm(*t, pb.m, w.n, 0, pb.a.data(), pb.lda, bias, got.data(), pb.ldc);
    CHECK_MATCH(check_footprint(got, pb.m, w.n, pb.ldc));
    // Both are within (k + 2) u mag of the exact sum (FMA or not), so within (k + 2) eps of each other.
    CHECK_MATCH(compare_scaled(got.data(), want_d.data(), pb.mag.data(), pb.m, w.n, pb.ldc, tol_exact));
    const size_t r0 = std::uniform_int_distribution<size_t>(0, pb.m - 1)(rng.gen);
    const size_t panel0 = std::uniform_int_distribution<size_t>(0, panels - 1)(rng.gen);
    INFO("split at row " << r0 << ", panel " << panel0);
    CHECK_MATCH(check_split(*t, w, pb, bias, got, r0, panel0));
  }
}

TEST_CASE("kernels: gemm_packed f32/f16/bf16 vs the scalar twin, every ISA") {
  const uint32_t seed = test_seed();
  Rng rng(seed);
  const size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 97};
  const size_t ns[] = {1, 15, 16, 17, 31, 33, 64, 100};
  const size_t ks[] = {1, 7, 64, 385};
  for (WType type : {WType::f32, WType::f16, WType::bf16}) {
    for (size_t k : ks) {
      for (size_t n : ns) {
        const Weights w(type, k, n, rng);
        std::vector<float> bias(n);
        for (float& b : bias) b = rng.nonzero(1.0f);
        for (size_t m : ms) {
          for (const bool with_bias : {false, true}) {
            const float* bp = with_bias ? bias.data() : nullptr;
            const Problem pb(w, m, bp, rng);
            INFO("seed=" << seed << " dtype=" << std::string(wtype_name(type)) << " m=" << m << " n=" << n << " k=" << k
                         << " lda=" << pb.lda << " ldc=" << pb.ldc << " bias=" << with_bias);
            check_problem(w, pb, bp, rng);
          }
        }
        CHECK(w.packed_f32.guards_intact());
        CHECK(w.packed_u16.guards_intact());
      }
    }
  }
}

TEST_CASE("kernels: pack_panels and pack_panels_u16 layout with zero padding") {
  Rng rng(test_seed());
  for (const size_t n : {1, 16, 17, 40}) {
    const size_t k = 5, ldw = n + 2, panels = (n + 15) / 16;
    INFO("seed=" << rng.seed << " n=" << n);
    REQUIRE(packed_elems(k, n) == panels * 16 * k);
    CHECK(packed_floats(k, n) == packed_elems(k, n));
    std::vector<float> w(k * ldw);
    std::vector<uint16_t> w16(k * ldw);
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] = rng.nonzero(3.0f);
      w16[i] = static_cast<uint16_t>(rng.gen() | 1u);
    }
    Guarded<float> p(packed_elems(k, n));
    Guarded<uint16_t> p16(packed_elems(k, n));
    p.poison();
    p16.poison();
    pack_panels(w.data(), k, n, ldw, p.data());
    pack_panels_u16(w16.data(), k, n, ldw, p16.data());
    size_t bad = 0;
    for (size_t j = 0; j < panels * 16; ++j) {
      for (size_t q = 0; q < k; ++q) {
        const size_t at = (j / 16) * 16 * k + q * 16 + j % 16;
        const bool real = j < n;
        bad += bits_of(p[at]) != (real ? bits_of(w[q * ldw + j]) : 0u);
        bad += p16[at] != (real ? w16[q * ldw + j] : 0u);
      }
    }
    CHECK(bad == 0);
    CHECK(p.guards_intact());
    CHECK(p16.guards_intact());
  }
}

TEST_CASE("kernels: f32 -> f16 / bf16 rounding used by the GEMM tests") {
  Rng rng(test_seed());
  INFO("seed=" << rng.seed);
  size_t bad = 0;
  for (int i = 0; i < 100000; ++i) {
    const float x = rng.nonzero(4.0f) * std::ldexp(1.0f, -(i % 26));  // normals and f16 subnormals
    const double h = scalar::f16_to_f32_one(round_to_f16(x)), b = scalar::bf16_to_f32_one(round_to_bf16(x));
    // Nearest: within half an ulp (2^-11 relative for f16 normals, 2^-25 absolute for subnormals; 2^-8 for bf16).
    bad += !(std::fabs(h - x) <= std::fmax(std::fabs(x) * 0x1p-11, 0x1p-25));
    bad += !(std::fabs(b - x) <= std::fabs(x) * 0x1p-8);
  }
  CHECK(bad == 0);
  CHECK(round_to_f16(1.0f) == 0x3c00u);
  CHECK(round_to_f16(-2.0f) == 0xc000u);
  CHECK(round_to_bf16(1.0f) == 0x3f80u);
}

}  // namespace
}  // namespace bertrt::kernels::test
