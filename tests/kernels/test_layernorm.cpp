// add_bias_layernorm and embed_layernorm on every ISA vs the double-precision scalar reference.
// Tolerance: |got - want| <= 1e-5 * max(1, |want|) per element. Rows have a mean up to 100x
// their spread, which an E[x^2] - mean^2 variance would fail.
#include "tests/kernels/kernel_test_util.h"

namespace bertrt::kernels::test {
namespace {

constexpr double kLnTol = 1e-5;

auto ln_tol(const float* want) {
  return [want](size_t i) { return kLnTol * std::fmax(1.0, std::fabs(static_cast<double>(want[i]))); };
}

struct LnCase {
  size_t rows;
  size_t hidden;
  float mean;
  float spread;
};

TEST_CASE("kernels: add_bias_layernorm vs scalar") {
  const float eps = 1e-12f;
  for (const KernelTable* t : tables_under_test()) {
    for (size_t hidden : kSizes) {
      for (const LnCase c : {LnCase{3, hidden, 0.0f, 1.0f}, LnCase{2, hidden, 100.0f, 1.0f}, LnCase{2, hidden, -3.0f, 20.0f}}) {
        for (int with_bias = 0; with_bias < 2; ++with_bias) {
          for (int alias = 0; alias < 3; ++alias) {  // 0: separate out, 1: out == a, 2: out == b
            INFO("isa=" << isa_str(t->isa) << " rows=" << c.rows << " hidden=" << hidden << " mean=" << c.mean
                        << " bias=" << with_bias << " alias=" << alias);
            const size_t n = c.rows * hidden;
            Guarded<float> a(n), b(n), out(n), bias(hidden), gamma(hidden), beta(hidden);
            fill_normal(a.data(), n, c.mean, c.spread);
            fill_normal(b.data(), n, 0.0f, c.spread);
            fill_normal(bias.data(), hidden, 0.0f, 0.5f);
            fill_uniform(gamma.data(), hidden, 0.5f, 1.5f);
            fill_uniform(beta.data(), hidden, -1.0f, 1.0f);
            std::vector<float> want(n);
            const float* bias_p = with_bias ? bias.data() : nullptr;
            scalar::add_bias_layernorm(a.data(), b.data(), bias_p, gamma.data(), beta.data(), eps, c.rows, hidden,
                                       want.data());
            float* dst = out.data();
            if (alias == 1) dst = a.data();
            if (alias == 2) dst = b.data();
            if (alias == 0) out.poison();
            t->add_bias_layernorm(a.data(), b.data(), bias_p, gamma.data(), beta.data(), eps, c.rows, hidden, dst);
            CHECK_MATCH(compare(dst, want.data(), n, ln_tol(want.data())));
            CHECK(a.guards_intact());
            CHECK(b.guards_intact());
            CHECK(out.guards_intact());
          }
        }
      }
    }
  }
}

TEST_CASE("kernels: embed_layernorm vs scalar (f32/f16/bf16 tables and inputs_embeds)") {
  constexpr size_t kVocab = 23, kPositions = 11, kTypes = 2;
  for (const KernelTable* t : tables_under_test()) {
    for (size_t hidden : kSizes) {
      const size_t rows = 4;
      std::vector<float> word32(kVocab * hidden), pos(kPositions * hidden), typ(kTypes * hidden);
      fill_normal(word32.data(), word32.size(), 0.0f, 1.0f);
      fill_normal(pos.data(), pos.size(), 0.5f, 0.2f);
      fill_normal(typ.data(), typ.size(), -0.5f, 0.2f);
      std::vector<uint16_t> word16(kVocab * hidden), wordbf(kVocab * hidden);
      for (auto& v : word16) v = random_f16();
      for (auto& v : wordbf) v = random_bf16();
      Guarded<float> embeds(rows * hidden), gamma(hidden), beta(hidden);
      fill_normal(embeds.data(), rows * hidden, 0.0f, 1.0f);
      fill_uniform(gamma.data(), hidden, 0.5f, 1.5f);
      fill_uniform(beta.data(), hidden, -1.0f, 1.0f);
      std::vector<int64_t> ids(rows), pids(rows), tids(rows);
      for (size_t i = 0; i < rows; ++i) {
        ids[i] = std::uniform_int_distribution<int64_t>(0, kVocab - 1)(rng());
        pids[i] = static_cast<int64_t>(i % kPositions);
        tids[i] = static_cast<int64_t>(i % kTypes);
      }
      ids[rows - 1] = kVocab - 1;
      for (int source = 0; source < 4; ++source) {  // f32, f16, bf16 table, inputs_embeds
        INFO("isa=" << isa_str(t->isa) << " rows=" << rows << " hidden=" << hidden << " source=" << source);
        EmbedLayerNormArgs args;
        args.rows = rows;
        args.hidden = hidden;
        args.input_ids = ids.data();
        args.position_table = pos.data();
        args.position_ids = pids.data();
        args.type_table = typ.data();
        args.token_type_ids = tids.data();
        args.gamma = gamma.data();
        args.beta = beta.data();
        args.eps = 1e-12f;
        switch (source) {
          case 0: args.word_table = word32.data(); args.word_dtype = DType::f32; break;
          case 1: args.word_table = word16.data(); args.word_dtype = DType::f16; break;
          case 2: args.word_table = wordbf.data(); args.word_dtype = DType::bf16; break;
          default: args.inputs_embeds = embeds.data(); break;
        }
        std::vector<float> want(rows * hidden);
        Guarded<float> got(rows * hidden);
        got.poison();
        args.out = want.data();
        scalar::embed_layernorm(args);
        args.out = got.data();
        t->embed_layernorm(args);
        CHECK_MATCH(compare(got.data(), want.data(), rows * hidden, ln_tol(want.data())));
        CHECK(got.guards_intact());
      }
    }
  }
}

}  // namespace
}  // namespace bertrt::kernels::test
