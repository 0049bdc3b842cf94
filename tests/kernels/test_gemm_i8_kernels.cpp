// The int8 GEMM (gemm_packed_i8) and the per-row u8 quantization (quantize_rows_u8) on every
// table and every variant this CPU has (AVX-512 VNNI and BW, AVX2 with AVX-VNNI (VEX, and the
// same code in its EVEX form on AVX-512 VNNI CPUs) and without, NEON dotprod and plain),
// against the scalar twin: outputs bit for bit equal (kernels/gemm_i8.h makes the epilogue one
// fma on every ISA), the integer sums exactly equal to an int64 reference (power-of-two scales
// make c * 2^e an integer), odd shapes, strides, bias or none, every output written and nothing
// outside [m, n) touched, sub-ranges of rows and panels equal to the full call; the widening
// schemes at the extreme values (all 127 / all -128 weights, all 255 or 0 activations, zero
// points 0 and 255); random per-row zero points (128, the symmetric case, among them); the
// asymmetric quantization on rows that are all positive, all negative, constant, one-sided like
// a GELU output, or hold the float range's extremes; and the scheme end to end against the f32
// product within its quantization error. Fresh random inputs each
// run; the seed is printed with every failure and BERTRT_TEST_SEED=<seed> replays it.
#include <cstdlib>
#include <functional>

#include "kernels/gemm_i8.h"
#include "tests/kernels/kernel_test_util.h"

namespace bertrt::kernels::test {
namespace {

using GemmI8 = decltype(KernelTable::gemm_packed_i8);
using QuantizeU8 = decltype(KernelTable::quantize_rows_u8);

struct Variant {
  std::string name;
  GemmI8 fn;
};

// The registry name of a table's gemm_packed_i8 (the variant it took).
std::string i8_kernel_name(const KernelTable& t) {
  for (size_t i = 0; i < kernel_count(); ++i) {
    const std::string name = kernel_name(t, i);
    if (name.rfind("gemm_packed_i8__", 0) == 0) return name;
  }
  return "gemm_packed_i8 (unnamed)";
}

// Every gemm_packed_i8 this CPU can run: each table's entry, plus the variants a table did not
// take (AVX-512 BW next to VNNI, AVX2 without VNNI, the EVEX form of the AVX-VNNI kernel on
// AVX-512 VNNI CPUs, plain NEON next to dotprod). Missing ones are reported.
std::vector<Variant> gemm_variants() {
  std::vector<Variant> out;
  auto add = [&](std::string name, GemmI8 fn) {
    for (const Variant& v : out)
      if (v.fn == fn) return;
    out.push_back({std::move(name), fn});
  };
  for (const KernelTable* t : tables_under_test()) add(i8_kernel_name(*t), t->gemm_packed_i8);
#if defined(BERTRT_KERNELS_X86)
  if (cpu_supports(Isa::avx2)) add("gemm_packed_i8__avx2 (no VNNI)", avx2::gemm_packed_i8);
  if (cpu_supports(Isa::avx512)) add("gemm_packed_i8__avx512 (BW)", avx512::gemm_packed_i8);
  if (cpu_has(CpuExt::avx512_vnni)) {
    add("gemm_packed_i8__avx512_vnni", avx512::gemm_packed_i8_vnni);
    add("gemm_packed_i8__avx2_vnni (EVEX ymm)", avx2::gemm_packed_i8_vnni_evex);
  } else {
    MESSAGE("skipping gemm_packed_i8__avx512_vnni and the EVEX ymm twin: CPU lacks AVX512_VNNI");
  }
  if (cpu_has(CpuExt::avx_vnni)) add("gemm_packed_i8__avx2_vnni", avx2::gemm_packed_i8_vnni);
  else MESSAGE("skipping gemm_packed_i8__avx2_vnni (VEX): CPU lacks AVX-VNNI");
#endif
#if defined(BERTRT_KERNELS_NEON)
  add("gemm_packed_i8__neon (plain)", neon::gemm_packed_i8);
  if (cpu_has(CpuExt::neon_dotprod)) add("gemm_packed_i8__neon_dotprod", neon::gemm_packed_i8_dotprod);
  else MESSAGE("skipping gemm_packed_i8__neon_dotprod: CPU lacks dotprod (HWCAP_ASIMDDP)");
#endif
  return out;
}

uint32_t test_seed() {
  if (const char* s = std::getenv("BERTRT_TEST_SEED")) return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

int uniform_int(std::mt19937& g, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }

// Wq[k, n] (row stride n + 2, any int8 including -128, not all zero), packed, with colsums.
struct WeightsI8 {
  size_t k, n;
  std::vector<int8_t> w;  // [k, n]
  Guarded<int8_t> packed;
  Guarded<int32_t> colsum;
  std::vector<float> scale, scale2, bias;  // scale2: powers of two

  WeightsI8(size_t k_, size_t n_, std::mt19937& g, const std::function<int(size_t, size_t)>& value)
      : k(k_), n(n_), w(k_ * n_), packed(packed_i8_bytes(k_, n_)), colsum(packed_i8_colsums(n_)), scale(n_),
        scale2(n_), bias(n_) {
    const size_t ldw = n + 2;
    std::vector<int8_t> src(k * ldw, static_cast<int8_t>(0x5a));  // row padding: must not be read into panels
    for (size_t p = 0; p < k; ++p)
      for (size_t j = 0; j < n; ++j) src[p * ldw + j] = w[p * n + j] = static_cast<int8_t>(value(p, j));
    packed.poison();
    colsum.poison();
    pack_panels_i8(src.data(), k, n, ldw, packed.data(), colsum.data());
    for (size_t j = 0; j < n; ++j) {
      scale[j] = std::ldexp(1.0f + static_cast<float>(uniform_int(g, 1, 1023)) / 1024.0f, uniform_int(g, -14, -6));
      scale2[j] = std::ldexp(1.0f, uniform_int(g, -14, -6));
      bias[j] = static_cast<float>(uniform_int(g, -5000, 5000)) / 997.0f;
    }
  }
};

// A[m, k] u8 (row stride lda, padding bytes poisoned) with row scales and zero points (random
// in [0, 255], every third row 128, unless `zero` gives them).
struct ActI8 {
  size_t m, lda;
  Guarded<uint8_t> a;
  std::vector<float> scale, scale2;  // scale2: powers of two
  std::vector<int32_t> zero;
  ActI8(size_t m_, size_t k, size_t lda_, std::mt19937& g, const std::function<int(size_t, size_t)>& value,
        int zero_all = -1)
      : m(m_), lda(lda_), a(m_ * lda_), scale(m_), scale2(m_), zero(m_) {
    a.poison();
    for (size_t i = 0; i < m; ++i)
      for (size_t p = 0; p < k; ++p) a[i * lda + p] = static_cast<uint8_t>(value(i, p));
    for (size_t i = 0; i < m; ++i) {
      scale[i] = std::ldexp(1.0f + static_cast<float>(uniform_int(g, 1, 1023)) / 1024.0f, uniform_int(g, -12, -4));
      scale2[i] = std::ldexp(1.0f, uniform_int(g, -12, -4));
      zero[i] = zero_all >= 0 ? zero_all : i % 3 == 2 ? 128 : uniform_int(g, 0, 255);
    }
  }
};

// sum_p (a - zero) w, in int64.
int64_t exact_isum(const ActI8& x, const WeightsI8& w, size_t i, size_t j) {
  int64_t s = 0;
  for (size_t p = 0; p < w.k; ++p) s += (static_cast<int64_t>(x.a[i * x.lda + p]) - x.zero[i]) * w.w[p * w.n + j];
  return s;
}

// "" when C[i, j] for i < m, j < n were all written and nothing else (row padding, guards).
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

// The epilogue inputs: power-of-two scales and no bias (c is then the integer sum times an
// exact scale), or general scales with or without bias.
struct Mode {
  bool pow2, bias;
};

// A variant's output on the whole problem, or on rows [r0, m) x panels [panel0, ...).
Guarded<float> run(GemmI8 fn, const ActI8& x, const WeightsI8& w, Mode mode, size_t ldc, size_t r0 = 0,
                   size_t panel0 = 0) {
  const size_t c0 = panel0 * kI8Panel, rows = x.m - r0;
  Guarded<float> c(rows * ldc);
  c.poison();
  const float* as = (mode.pow2 ? x.scale2 : x.scale).data() + r0;
  const float* ws = (mode.pow2 ? w.scale2 : w.scale).data() + c0;
  fn(rows, w.n - c0, w.k, x.a.data() + r0 * x.lda, x.lda, as, x.zero.data() + r0, w.packed.data() + panel0 * kI8Panel * i8_k4(w.k), ws,
     w.colsum.data() + c0, mode.bias ? w.bias.data() + c0 : nullptr, c.data(), ldc);
  return c;
}

// Without bias and with power-of-two scales, c * 2^-e is float(integer sum): it must equal
// int64's (rounded to f32, which is exact below 2^24).
std::string check_integers(const Guarded<float>& c, const ActI8& x, const WeightsI8& w, size_t ldc) {
  for (size_t i = 0; i < x.m; ++i) {
    for (size_t j = 0; j < w.n; ++j) {
      const double s = static_cast<double>(x.scale2[i]) * w.scale2[j];
      const double got = c[i * ldc + j] / s;
      const int64_t want = exact_isum(x, w, i, j);
      if (got != static_cast<double>(static_cast<float>(want)))
        return "C[" + std::to_string(i) + ", " + std::to_string(j) + "]: integer sum " + std::to_string(got) +
               ", want " + std::to_string(want);
    }
  }
  return "";
}

// The twin against the definition in double: within 2^-23 (|isum s| + |bias|).
std::string check_twin(const Guarded<float>& c, const ActI8& x, const WeightsI8& w, Mode mode, size_t ldc) {
  for (size_t i = 0; i < x.m; ++i) {
    for (size_t j = 0; j < w.n; ++j) {
      const double as = mode.pow2 ? x.scale2[i] : x.scale[i], ws = mode.pow2 ? w.scale2[j] : w.scale[j];
      // The scale product is rounded to f32 first: one more 2^-24 relative.
      const double prod = static_cast<double>(exact_isum(x, w, i, j)) * static_cast<double>(static_cast<float>(as * ws));
      const double b = mode.bias ? w.bias[j] : 0.0, want = prod + b;
      const double bound = 0x1p-23 * (std::fabs(prod) + std::fabs(b));
      if (!(std::fabs(c[i * ldc + j] - want) <= bound))
        return "scalar C[" + std::to_string(i) + ", " + std::to_string(j) + "] = " + std::to_string(c[i * ldc + j]) +
               ", want " + std::to_string(want);
    }
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

void check_all_variants(const ActI8& x, const WeightsI8& w, size_t ldc, std::mt19937& g) {
  const size_t panels = (w.n + kI8Panel - 1) / kI8Panel;
  for (const Mode mode : {Mode{true, false}, Mode{false, false}, Mode{false, true}}) {
    INFO("pow2 scales=" << mode.pow2 << " bias=" << mode.bias);
    const Guarded<float> want = run(scalar::gemm_packed_i8, x, w, mode, ldc);
    CHECK_MATCH(check_footprint(want, x.m, w.n, ldc));
    CHECK_MATCH(check_twin(want, x, w, mode, ldc));
    if (mode.pow2) CHECK_MATCH(check_integers(want, x, w, ldc));
    for (const Variant& v : gemm_variants()) {
      INFO("variant=" << v.name);
      const Guarded<float> got = run(v.fn, x, w, mode, ldc);
      CHECK_MATCH(check_footprint(got, x.m, w.n, ldc));
      if (mode.pow2) CHECK_MATCH(check_integers(got, x, w, ldc));
      CHECK_MATCH(compare_bits(got, want, x.m, w.n, ldc));
      const size_t r0 = std::uniform_int_distribution<size_t>(0, x.m - 1)(g);
      const size_t p0 = std::uniform_int_distribution<size_t>(0, panels - 1)(g);
      INFO("split at row " << r0 << ", panel " << p0);
      const Guarded<float> part = run(v.fn, x, w, mode, ldc, r0, p0);
      CHECK_MATCH(check_footprint(part, x.m - r0, w.n - p0 * kI8Panel, ldc));
      CHECK_MATCH(compare_bits(part, got, x.m - r0, w.n - p0 * kI8Panel, ldc, r0, p0 * kI8Panel));
    }
  }
}

TEST_CASE("kernels: gemm_packed_i8 vs the scalar twin and int64, every table and variant") {
  const uint32_t seed = test_seed();
  std::mt19937 g(seed);
  std::string names;
  for (const Variant& v : gemm_variants()) names += " " + v.name;
  MESSAGE("gemm_packed_i8 variants under test:" << names);
  // Around the tiles' sizes: rows 1..13 and 97 (tiles of 4, 6 or 12 rows, a remainder of each
  // size), columns below, at and above one, two, four panels and two column blocks of four.
  const size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 97};
  const size_t ns[] = {1, 15, 16, 17, 33, 48, 64, 65, 100, 129};
  const size_t ks[] = {1, 3, 4, 5, 63, 385};
  for (const size_t k : ks) {
    for (const size_t n : ns) {
      const WeightsI8 w(k, n, g, [&](size_t, size_t) { return uniform_int(g, -128, 127); });
      for (const size_t m : ms) {
        const size_t lda = k + m % 3, ldc = n + 1 + m % 5;
        const ActI8 x(m, k, lda, g, [&](size_t, size_t) { return uniform_int(g, 0, 255); });
        INFO("seed=" << seed << " m=" << m << " n=" << n << " k=" << k << " lda=" << lda << " ldc=" << ldc);
        check_all_variants(x, w, ldc, g);
      }
      CHECK(w.packed.guards_intact());
      CHECK(w.colsum.guards_intact());
    }
  }
}

// vpmaddubsw would saturate here (255 * -128 * 2 < -32768); the int16 widening cannot.
TEST_CASE("kernels: gemm_packed_i8 at the extreme values (all 127 / all -128 weights, all 255 activations)") {
  std::mt19937 g(test_seed());
  for (const size_t k : {4, 5, 385, 1024}) {
    for (const int wv : {127, -128}) {
      for (const int av : {255, 0}) {
        const size_t n = 33, m = 13;
        const int zero = av == 255 ? 0 : 255;  // the largest |a - zero|
        INFO("k=" << k << " weights " << wv << " activations " << av << " zero point " << zero);
        const WeightsI8 w(k, n, g, [&](size_t, size_t) { return wv; });
        const ActI8 x(m, k, k + 1, g, [&](size_t, size_t) { return av; }, zero);
        for (const Variant& v : gemm_variants()) {
          INFO("variant=" << v.name);
          const Guarded<float> c = run(v.fn, x, w, Mode{true, false}, n);
          CHECK_MATCH(check_footprint(c, m, n, n));
          CHECK_MATCH(check_integers(c, x, w, n));
        }
      }
    }
  }
}

TEST_CASE("kernels: pack_panels_i8 layout, zero padding and column sums") {
  std::mt19937 g(test_seed());
  for (const size_t n : {1, 16, 17, 40}) {
    for (const size_t k : {1, 4, 6}) {
      INFO("n=" << n << " k=" << k);
      const WeightsI8 w(k, n, g, [&](size_t, size_t) { return uniform_int(g, -128, 127); });
      const size_t k4 = i8_k4(k), panels = (n + 15) / 16;
      REQUIRE(packed_i8_bytes(k, n) == panels * 16 * k4);
      size_t bad = 0;
      for (size_t j = 0; j < panels * 16; ++j) {
        int32_t sum = 0;
        for (size_t p = 0; p < k4; ++p) {
          const int8_t want = (j < n && p < k) ? w.w[p * n + j] : int8_t{0};
          bad += w.packed[(j / 16) * 16 * k4 + (p / 4) * 64 + (j % 16) * 4 + p % 4] != want;
          sum += want;
        }
        bad += w.colsum[j] != sum;
      }
      CHECK(bad == 0);
      CHECK(w.packed.guards_intact());
      CHECK(w.colsum.guards_intact());
    }
  }
}

// x[m, k] (row stride ldx) quantized by `fn` into q (row stride ldq), scale (NaN-prefilled) and
// zero (prefilled with a value no zero point is). fn runs twice, over q prefilled with 0x00 and
// with 0xff: a byte that differs between the runs was not written.
struct Quantized {
  Guarded<uint8_t> q, q2;
  Guarded<float> scale;
  Guarded<int32_t> zero;
  Quantized(QuantizeU8 fn, const Guarded<float>& x, size_t m, size_t k, size_t ldx, size_t ldq)
      : q(m * ldq), q2(m * ldq), scale(m), zero(m) {
    std::memset(q.data(), 0, m * ldq);
    std::memset(q2.data(), 0xff, m * ldq);
    scale.poison();
    zero.poison();
    fn(m, k, x.data(), ldx, q.data(), ldq, scale.data(), zero.data());
    Guarded<float> scale2(m);
    Guarded<int32_t> zero2(m);
    fn(m, k, x.data(), ldx, q2.data(), ldq, scale2.data(), zero2.data());
  }
};

// "" when every q[i, p < k], scale and zero point was written and nothing else, the guards intact.
std::string check_q_footprint(const Quantized& r, size_t m, size_t k, size_t ldq) {
  if (!r.q.guards_intact() || !r.q2.guards_intact() || !r.scale.guards_intact() || !r.zero.guards_intact())
    return "wrote outside q, scale or zero";
  for (size_t i = 0; i < m; ++i) {
    if (bits_of(r.scale[i]) == kPoisonBits) return "scale[" + std::to_string(i) + "] not written";
    if (static_cast<uint32_t>(r.zero[i]) == kPoisonBits) return "zero[" + std::to_string(i) + "] not written";
    for (size_t p = 0; p < ldq; ++p) {
      const size_t at = i * ldq + p;
      if (p < k && r.q[at] != r.q2[at]) return "q[" + std::to_string(i) + ", " + std::to_string(p) + "] not written";
      if (p >= k && (r.q[at] != 0 || r.q2[at] != 0xff))
        return "q[" + std::to_string(i) + ", " + std::to_string(p) + "] (past k) written";
    }
  }
  return "";
}

// The twin against the definition, in double: lo = min(0, min x), hi = max(0, max x), scale =
// (hi - lo) / 255 rounded to f32, |zero + lo / scale| <= 1/2, |q - zero - x / scale| <= 1/2 (plus
// the rounding of x * inv) for every byte, 0 maps to the zero point, the row's max (when > 0) to
// 254 or 255 and its min (when < 0) to 0 or 1; a range below kI8TinyRow: scale 0, zero 0, bytes 0.
std::string check_q_definition(const Quantized& r, const Guarded<float>& x, size_t m, size_t k, size_t ldx, size_t ldq) {
  for (size_t i = 0; i < m; ++i) {
    const std::string row = "row " + std::to_string(i) + ": ";
    double lo = 0.0, hi = 0.0;
    for (size_t p = 0; p < k; ++p) {
      lo = std::min(lo, static_cast<double>(x[i * ldx + p]));
      hi = std::max(hi, static_cast<double>(x[i * ldx + p]));
    }
    const int zero = r.zero[i];
    if (hi - lo < kI8TinyRow) {
      if (r.scale[i] != 0.0f || zero != 0) return row + "tiny range: scale and zero point must be 0";
      for (size_t p = 0; p < k; ++p)
        if (r.q[i * ldq + p] != 0) return row + "tiny range: bytes must be 0";
      continue;
    }
    if (r.scale[i] != static_cast<float>((hi - lo) / 255.0)) return row + "scale is not (hi - lo) / 255";
    const double step = (hi - lo) / 255.0;
    if (zero < 0 || zero > 255 || !(std::fabs(zero + lo / step) <= 0.5 + 1e-4))
      return row + "zero point " + std::to_string(zero) + ", want " + std::to_string(-lo / step);
    int qmin = 255, qmax = 0;
    for (size_t p = 0; p < k; ++p) {
      const double v = x[i * ldx + p];
      const int got = r.q[i * ldq + p];
      qmin = std::min(qmin, got);
      qmax = std::max(qmax, got);
      const double want = v / step + zero;
      const double slack = (got == 0 || got == 255) ? 1.0 : 0.5;  // the clamp adds up to the zero point's 1/2
      if (!(std::fabs(got - want) <= slack + 1e-4) || (v == 0.0 && got != zero))
        return row + "q[" + std::to_string(p) + "] = " + std::to_string(got) + ", want " + std::to_string(want);
    }
    if ((hi > 0.0 && qmax < 254) || (lo < 0.0 && qmin > 1))
      return row + "bytes span [" + std::to_string(qmin) + ", " + std::to_string(qmax) + "]";
  }
  return "";
}

// Row i of x (k values): one of the shapes the asymmetric scheme must handle.
void fill_row(float* row, size_t k, int kind, std::mt19937& g) {
  const float spread = std::ldexp(1.0f, uniform_int(g, -20, 20));
  std::normal_distribution<float> d(0.0f, spread);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const float c = (0.5f + u(g)) * spread * (kind == 4 ? -1.0f : 1.0f);
  for (size_t p = 0; p < k; ++p) {
    switch (kind) {
      case 0: row[p] = d(g); break;                                              // both signs
      case 1: row[p] = spread * (0.01f + u(g)); break;                           // all positive
      case 2: row[p] = -spread * (0.01f + u(g)); break;                          // all negative
      case 3: case 4: row[p] = c; break;                                         // constant
      case 5: row[p] = std::max(d(g), -0.17f * spread); break;                   // one-sided, GELU-like
      default: row[p] = (p % 5 == 1 ? -3.0e38f : p % 5 == 3 ? 3.0e38f : d(g));  // the float extremes
    }
  }
}

TEST_CASE("kernels: quantize_rows_u8 vs the scalar twin, every table") {
  const uint32_t seed = test_seed();
  std::mt19937 g(seed);
  for (const size_t m : {1, 2, 3, 7, 13}) {
    for (const size_t k : {1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 63, 64, 385, 768, 1023}) {
      const size_t ldx = k + 1 + m % 3, ldq = k + 2 + m % 5;
      INFO("seed=" << seed << " m=" << m << " k=" << k << " ldx=" << ldx << " ldq=" << ldq);
      Guarded<float> x(m * ldx);
      x.poison();  // row padding stays NaN: never read
      const int first_kind = uniform_int(g, 0, 6);
      for (size_t i = 0; i < m; ++i) fill_row(&x[i * ldx], k, (first_kind + static_cast<int>(i)) % 7, g);
      const Quantized want(scalar::quantize_rows_u8, x, m, k, ldx, ldq);
      CHECK_MATCH(check_q_footprint(want, m, k, ldq));
      CHECK_MATCH(check_q_definition(want, x, m, k, ldx, ldq));
      for (const KernelTable* t : tables_under_test()) {
        INFO("isa=" << isa_str(t->isa));
        const Quantized got(t->quantize_rows_u8, x, m, k, ldx, ldq);
        CHECK_MATCH(check_q_footprint(got, m, k, ldq));
        CHECK(std::memcmp(got.scale.data(), want.scale.data(), m * sizeof(float)) == 0);
        CHECK(std::memcmp(got.zero.data(), want.zero.data(), m * sizeof(int32_t)) == 0);
        size_t bad = 0;
        for (size_t i = 0; i < m; ++i) bad += std::memcmp(&got.q[i * ldq], &want.q[i * ldq], k) != 0;
        CHECK(bad == 0);
      }
    }
  }
}

// Ties round to even, the clamp, one-sided and constant rows, and rows too small to scale.
TEST_CASE("kernels: quantize_rows_u8 ties, extremes, one-sided and tiny rows, every table") {
  const size_t k = 19, m = 5;
  std::vector<float> x(m * k);
  // Row 0: range [-127, 128], so scale 1, inv 1 and zero point 127.
  const float ties[] = {128.0f, 2.5f, -3.5f, 0.5f, -0.5f, 1.5f, -126.5f, 126.5f, -127.0f, 3.49f, -0.49f, 0.0f};
  std::vector<int> want0 = {255, 129, 123, 127, 127, 129, 1, 253, 0, 130, 127, 127};
  for (size_t p = 0; p < k; ++p) {
    x[p] = p < std::size(ties) ? ties[p] : static_cast<float>(p) - 60.25f;
    x[k + p] = (p % 2 ? -1.0f : 1.0f) * 1e-32f * static_cast<float>(p + 1);  // row 1: below kI8TinyRow
    x[2 * k + p] = (p == 7 ? -3e30f : 1e25f * static_cast<float>(p + 1));     // row 2: huge values
    x[3 * k + p] = 0.25f * static_cast<float>(p + 1);                          // row 3: all positive
    x[4 * k + p] = -2.0f;                                                      // row 4: constant negative
  }
  for (size_t p = std::size(ties); p < k; ++p) want0.push_back(static_cast<int>(std::nearbyint(x[p])) + 127);
  for (const KernelTable* t : tables_under_test()) {
    INFO("isa=" << isa_str(t->isa));
    std::vector<uint8_t> q(m * k, 77);
    std::vector<float> scale(m, -1.0f);
    std::vector<int32_t> zero(m, -1);
    t->quantize_rows_u8(m, k, x.data(), k, q.data(), k, scale.data(), zero.data());
    CHECK(scale[0] == 1.0f);
    CHECK(zero[0] == 127);
    CHECK(scale[1] == 0.0f);
    CHECK(zero[1] == 0);
    const double hi2 = x[2 * k + k - 1], lo2 = x[2 * k + 7];
    CHECK(scale[2] == static_cast<float>((hi2 - lo2) / 255.0));
    CHECK(std::fabs(zero[2] + lo2 / ((hi2 - lo2) / 255.0)) <= 0.5);
    CHECK(scale[3] == static_cast<float>(0.25 * k / 255.0));
    CHECK(zero[3] == 0);
    CHECK(zero[4] == 255);
    for (size_t p = 0; p < k; ++p) {
      INFO("p=" << p);
      CHECK(static_cast<int>(q[p]) == want0[p]);
      CHECK(q[k + p] == 0);
      CHECK(q[4 * k + p] == 0);
    }
    CHECK(q[2 * k + 7] == 0);
    CHECK(q[3 * k + k - 1] == 255);
  }
}

// The scheme end to end: quantize x per row, W per column, multiply, against the f32 product.
// Per element the error is at most sum_p (|x| dw + |w| dx + dx dw) with dx = a_scale / 2 and
// dw = w_scale / 2 (rounding to the nearest step), plus float rounding.
TEST_CASE("kernels: quantize_rows_u8 + quantize_columns_i8 + gemm_packed_i8 against the f32 product") {
  const uint32_t seed = test_seed();
  std::mt19937 g(seed);
  const size_t m = 7, k = 77, n = 40;
  INFO("seed=" << seed);
  std::vector<float> x(m * k), w(k * n);
  std::normal_distribution<float> dx(0.0f, 1.0f), dw(0.0f, 0.05f);
  for (float& v : x) v = dx(g);
  for (float& v : w) v = dw(g);
  std::vector<int8_t> wq(k * n), packed(packed_i8_bytes(k, n));
  std::vector<int32_t> colsum(packed_i8_colsums(n));
  std::vector<float> w_scale(n), a_scale(m), c(m * n);
  std::vector<int32_t> a_zero(m);
  quantize_columns_i8(w.data(), k, n, n, wq.data(), n, w_scale.data());
  pack_panels_i8(wq.data(), k, n, n, packed.data(), colsum.data());
  std::vector<uint8_t> a(m * k);
  for (const KernelTable* t : tables_under_test()) {
    INFO("isa=" << isa_str(t->isa));
    t->quantize_rows_u8(m, k, x.data(), k, a.data(), k, a_scale.data(), a_zero.data());
    t->gemm_packed_i8(m, n, k, a.data(), k, a_scale.data(), a_zero.data(), packed.data(), w_scale.data(),
                      colsum.data(), nullptr, c.data(), n);
    size_t bad = 0;
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        double exact = 0.0, bound = 0.0;
        const double dx = a_scale[i] / 2.0, dw = w_scale[j] / 2.0;
        for (size_t p = 0; p < k; ++p) {
          exact += static_cast<double>(x[i * k + p]) * w[p * n + j];
          bound += std::fabs(x[i * k + p]) * dw + std::fabs(w[p * n + j]) * dx + dx * dw;
        }
        bad += !(std::fabs(c[i * n + j] - exact) <= bound * 1.001 + 1e-6);
      }
    }
    CHECK(bad == 0);
  }
}

}  // namespace
}  // namespace bertrt::kernels::test
