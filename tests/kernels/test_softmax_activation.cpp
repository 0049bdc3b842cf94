// masked_softmax and bias_activation on every ISA vs scalar, plus the accuracy of the vector exp
// and erf they are built on.
// Tolerances: softmax 1e-6 absolute; none/relu exact; GELU |got - want| <= 1e-6 |want| + 2e-7 |x|
// (x = input + bias). The second GELU term is the rounding of (1 + erf) / (1 + tanh) near zero in
// the scalar formula itself (0.5 |x| ulp(1) / 2 = 2^-25 |x|) plus the erf error below, scaled.
// exp: relative 1.5e-7 vs double exp on [-87.3, 88.3]; erf: relative 1e-6 vs std::erf (float).
#include "tests/kernels/kernel_test_util.h"

namespace bertrt::kernels::test {
namespace {

// Rows are stored with a stride ld > cols; the gap must not be touched.
struct Strided {
  size_t rows, cols, ld;
  Guarded<float> buf;
  Strided(size_t r, size_t c) : rows(r), cols(c), ld(c + 3), buf(r * (c + 3)) {
    buf.poison();  // the gaps keep the poison; kernels must leave them
  }
  float* row(size_t r) { return buf.data() + r * ld; }
  std::string gaps_untouched() {
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = cols; c < ld; ++c)
        if (bits_of(row(r)[c]) != kPoisonBits) return "gap written at row " + std::to_string(r);
    return buf.guards_intact() ? "" : "guard zone written";
  }
};

// With inv_sums, the rows are left unnormalised and 1 / sum comes back per row; both forms are
// checked against the scalar twin in the same form.
TEST_CASE("kernels: masked_softmax vs scalar, normalised and with 1/sum per row") {
  for (const KernelTable* t : tables_under_test()) {
    for (size_t cols : kSizes) {
      for (int mode = 0; mode < 3; ++mode) {  // 0: no mask, 1: random mask, 2: all masked
        for (bool with_sums : {false, true}) {
          INFO("isa=" << isa_str(t->isa) << " cols=" << cols << " mask_mode=" << mode << " inv_sums=" << with_sums);
          Strided got(3, cols);
          for (size_t r = 0; r < got.rows; ++r) fill_normal(got.row(r), cols, 0.0f, 8.0f);
          got.row(0)[0] = 60.0f;  // a dominant entry: outputs near 1 and near 0
          std::vector<uint8_t> valid(cols, 1);
          if (mode == 1) {
            for (auto& v : valid) v = uniform(0.0f, 1.0f) < 0.7f ? static_cast<uint8_t>(1 + rng()() % 200) : 0;
            valid[cols / 2] = 1;
          }
          if (mode == 2) std::fill(valid.begin(), valid.end(), 0);
          Strided want(3, cols);
          for (size_t r = 0; r < got.rows; ++r) std::memcpy(want.row(r), got.row(r), cols * sizeof(float));
          const uint8_t* kv = mode == 0 ? nullptr : valid.data();
          const float scale = with_sums ? 0.17f : 0.125f;
          Guarded<float> got_inv(got.rows), want_inv(got.rows);
          for (size_t r = 0; r < got.rows; ++r) got_inv.data()[r] = std::numeric_limits<float>::quiet_NaN();
          scalar::masked_softmax(want.row(0), want.rows, cols, want.ld, scale, kv, with_sums ? want_inv.data() : nullptr);
          t->masked_softmax(got.row(0), got.rows, cols, got.ld, scale, kv, with_sums ? got_inv.data() : nullptr);
          for (size_t r = 0; r < got.rows; ++r)
            CHECK_MATCH(compare(got.row(r), want.row(r), cols, [](size_t) { return 1e-6; }));
          CHECK_MATCH(got.gaps_untouched());
          if (!with_sums) continue;
          for (size_t r = 0; r < got.rows; ++r) {
            INFO("row " << r);
            CHECK(std::fabs(got_inv.data()[r] - want_inv.data()[r]) <= 1e-5 * std::fabs(want_inv.data()[r]));
            if (mode == 2) CHECK(got_inv.data()[r] == 0.0f);
            else CHECK(got_inv.data()[r] > 0.0f);  // unnormalised: the row sums to 1 / inv_sums[r], not 1
          }
          CHECK(got_inv.guards_intact());
        }
      }
    }
  }
}

double gelu_tol(float want, float x) { return 1e-6 * std::fabs(want) + 2e-7 * std::fabs(x); }

TEST_CASE("kernels: bias_activation vs scalar") {
  const Activation acts[] = {Activation::none, Activation::gelu_erf, Activation::gelu_tanh, Activation::relu};
  for (const KernelTable* t : tables_under_test()) {
    for (size_t cols : kSizes) {
      for (Activation act : acts) {
        for (int with_bias = 0; with_bias < 2; ++with_bias) {
          INFO("isa=" << isa_str(t->isa) << " cols=" << cols << " act=" << static_cast<int>(act)
                      << " bias=" << with_bias);
          Strided got(3, cols);
          for (size_t r = 0; r < got.rows; ++r) fill_normal(got.row(r), cols, 0.0f, 3.0f);
          got.row(0)[0] = -12.0f;  // deep negative tail
          if (cols > 1) got.row(0)[1] = 9.5f;
          Guarded<float> bias(cols);
          fill_normal(bias.data(), cols, 0.0f, 0.5f);
          const float* bias_p = with_bias ? bias.data() : nullptr;
          Strided want(3, cols);
          std::vector<float> x(3 * cols);  // the activation inputs, for the tolerance
          for (size_t r = 0; r < got.rows; ++r) {
            std::memcpy(want.row(r), got.row(r), cols * sizeof(float));
            for (size_t c = 0; c < cols; ++c) x[r * cols + c] = got.row(r)[c] + (bias_p ? bias_p[c] : 0.0f);
          }
          scalar::bias_activation(want.row(0), want.rows, cols, want.ld, bias_p, act);
          t->bias_activation(got.row(0), got.rows, cols, got.ld, bias_p, act);
          for (size_t r = 0; r < got.rows; ++r) {
            if (act == Activation::none || act == Activation::relu) {
              CHECK_MATCH(compare_exact(got.row(r), want.row(r), cols));
            } else {
              const float* w = want.row(r);
              const float* xr = x.data() + r * cols;
              CHECK_MATCH(compare(got.row(r), w, cols, [&](size_t i) { return gelu_tol(w[i], xr[i]); }));
            }
          }
          CHECK_MATCH(got.gaps_untouched());
          CHECK(bias.guards_intact());
        }
      }
    }
  }
}

TEST_CASE("kernels: relu of -0 and NaN gives +0 like the scalar reference") {
  for (const KernelTable* t : tables_under_test()) {
    float v[5] = {-0.0f, std::nanf(""), -1.0f, 2.0f, 0.0f};
    t->bias_activation(v, 1, 5, 5, nullptr, Activation::relu);
    CHECK(bits_of(v[0]) == 0u);
    CHECK(bits_of(v[1]) == 0u);
    CHECK(v[2] == 0.0f);
    CHECK(v[3] == 2.0f);
  }
}

struct IsaMath {
  Isa isa;
  void (*exp)(const float*, size_t, float*);
  void (*erf)(const float*, size_t, float*);
};

std::vector<IsaMath> math_under_test() {
  std::vector<IsaMath> all;
#if defined(BERTRT_KERNELS_X86)
  all.push_back({Isa::avx2, avx2::exp_f32, avx2::erf_f32});
  all.push_back({Isa::avx512, avx512::exp_f32, avx512::erf_f32});
#endif
#if defined(BERTRT_KERNELS_NEON)
  all.push_back({Isa::neon, neon::exp_f32, neon::erf_f32});
#endif
  std::vector<IsaMath> out;
  for (const auto& m : all)
    if (cpu_supports(m.isa)) out.push_back(m);
  return out;
}

TEST_CASE("kernels: exp accuracy (relative 1.5e-7 vs double) on [-87.3, 88.3]") {
  std::vector<float> x;
  for (double v = -87.3; v <= 88.3; v += 0.00097) x.push_back(static_cast<float>(v));
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 0.34657359f, -0.34657359f}) x.push_back(v);
  for (const IsaMath& m : math_under_test()) {
    INFO("isa=" << isa_str(m.isa));
    std::vector<float> y(x.size());
    m.exp(x.data(), x.size(), y.data());
    double worst = 0.0;
    float worst_x = 0.0f;
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = std::exp(static_cast<double>(x[i]));
      const double rel = std::fabs(y[i] - ref) / ref;
      if (rel > worst) worst = rel, worst_x = x[i];
    }
    MESSAGE(isa_str(m.isa) << " exp: max relative error " << worst << " at x = " << worst_x);
    CHECK(worst <= 1.5e-7);
    const float edge[4] = {-100.0f, -std::numeric_limits<float>::infinity(), 100.0f, 0.0f};
    float out[4];
    m.exp(edge, 4, out);
    CHECK(out[0] == 0.0f);
    CHECK(out[1] == 0.0f);
    CHECK(std::isfinite(out[2]));
    CHECK(out[3] == 1.0f);
  }
}

TEST_CASE("kernels: erf accuracy (relative 1e-6 vs std::erf)") {
  std::vector<float> x;
  for (double v = -6.0; v <= 6.0; v += 0.0001) x.push_back(static_cast<float>(v));
  for (float v = 1e-30f; v < 1.0f; v *= 1.01f) {
    x.push_back(v);
    x.push_back(-v);
  }
  x.push_back(0.0f);
  x.push_back(30.0f);
  x.push_back(-1e10f);
  for (const IsaMath& m : math_under_test()) {
    INFO("isa=" << isa_str(m.isa));
    std::vector<float> y(x.size());
    m.erf(x.data(), x.size(), y.data());
    double worst = 0.0;
    float worst_x = 0.0f;
    for (size_t i = 0; i < x.size(); ++i) {
      const float ref = std::erf(x[i]);
      const double rel = ref == 0.0f ? std::fabs(y[i]) : std::fabs(static_cast<double>(y[i]) - ref) / std::fabs(ref);
      if (!(rel <= worst)) worst = rel, worst_x = x[i];
    }
    MESSAGE(isa_str(m.isa) << " erf: max relative error " << worst << " at x = " << worst_x);
    CHECK(worst <= 1e-6);
  }
}

}  // namespace
}  // namespace bertrt::kernels::test
