// Dispatch (detection, BERTRT_ISA, kernel names) and sgemm vs sgemm_reference.
#include <cstdlib>

#include "tests/kernels/kernel_test_util.h"

namespace bertrt::kernels::test {
namespace {

TEST_CASE("kernels: dispatch picks a supported ISA and honours BERTRT_ISA") {
  const Isa best = best_isa();
  CHECK(cpu_supports(best));
  CHECK(cpu_supports(Isa::scalar));
  REQUIRE(table_for(Isa::scalar) == &scalar_table());
  MESSAGE("best ISA here: " << isa_str(best) << "; active: " << isa_str(active().isa));
  const char* env = std::getenv("BERTRT_ISA");
  if (env == nullptr || *env == '\0') {
    CHECK(active().isa == best);
    CHECK(isa_error() == nullptr);
  } else {
    bool known = false;
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon}) {
      if (std::strcmp(env, isa_name(isa)) != 0) continue;
      known = true;
      if (cpu_supports(isa)) {
        CHECK(active().isa == isa);
        CHECK(isa_error() == nullptr);
      } else {
        CHECK(active().isa == best);
        REQUIRE(isa_error() != nullptr);
      }
    }
    if (!known) {
      CHECK(active().isa == best);
      REQUIRE(isa_error() != nullptr);
      CHECK(std::string(isa_error()).find("BERTRT_ISA") != std::string::npos);
    }
  }
  MESSAGE("extensions: avx512_vnni " << cpu_has(CpuExt::avx512_vnni) << ", avx_vnni " << cpu_has(CpuExt::avx_vnni)
                                      << ", neon_dotprod " << cpu_has(CpuExt::neon_dotprod));
#if defined(__x86_64__)
  CHECK_FALSE(cpu_has(CpuExt::neon_dotprod));
  if (cpu_has(CpuExt::avx512_vnni)) CHECK(cpu_supports(Isa::avx512));
  if (cpu_has(CpuExt::avx_vnni)) CHECK(cpu_supports(Isa::avx2));
  CHECK_FALSE(cpu_supports(Isa::neon));
  CHECK(table_for(Isa::neon) == nullptr);
  if (cpu_supports(Isa::avx512)) CHECK(cpu_supports(Isa::avx2));
#elif defined(__aarch64__)
  CHECK_FALSE(cpu_has(CpuExt::avx512_vnni));
  CHECK(cpu_supports(Isa::neon));
  CHECK(best == Isa::neon);
#endif
}

TEST_CASE("kernels: every table entry is filled and named") {
  REQUIRE(kernel_count() == 16);
  for (const KernelTable* t : tables_under_test()) {
    INFO("isa=" << isa_str(t->isa));
    CHECK(static_cast<bool>(t->gather_f32));
    CHECK(static_cast<bool>(t->gather_f16));
    CHECK(static_cast<bool>(t->gather_bf16));
    CHECK(static_cast<bool>(t->embed_layernorm));
    CHECK(static_cast<bool>(t->add_bias_layernorm));
    CHECK(static_cast<bool>(t->masked_softmax));
    CHECK(static_cast<bool>(t->bias_activation));
    CHECK(static_cast<bool>(t->f16_to_f32));
    CHECK(static_cast<bool>(t->bf16_to_f32));
    CHECK(static_cast<bool>(t->gemm_packed_f32));
    CHECK(static_cast<bool>(t->gemm_packed_f16));
    CHECK(static_cast<bool>(t->gemm_packed_bf16));
    CHECK(static_cast<bool>(t->quantize_rows_u8));
    CHECK(static_cast<bool>(t->gemm_packed_i8));
    CHECK(static_cast<bool>(t->convert_rows_bf16));
    CHECK(static_cast<bool>(t->gemm_packed_bf16x2));
    CHECK(std::string(kernel_name(*t, kernel_count() - 5)) == std::string("gemm_packed_bf16__") + isa_name(t->isa));
    std::string bf16x2 = std::string("gemm_packed_bf16x2__") + isa_name(t->isa);
    if (t->isa == Isa::avx512 && cpu_has(CpuExt::avx512_bf16)) bf16x2 += "_bf16";
    if (t->isa == Isa::neon && cpu_has(CpuExt::neon_bf16)) bf16x2 += "_bf16";
    CHECK(std::string(kernel_name(*t, kernel_count() - 3)) == bf16x2);
    CHECK(std::string(kernel_name(*t, kernel_count() - 2)) == std::string("quantize_rows_u8__") + isa_name(t->isa));
    // gemm_packed_i8 names the variant the table took.
    std::string i8 = std::string("gemm_packed_i8__") + isa_name(t->isa);
    if (t->isa == Isa::avx512 && cpu_has(CpuExt::avx512_vnni)) i8 += "_vnni";
    if (t->isa == Isa::avx2 && cpu_has(CpuExt::avx_vnni)) i8 += "_vnni";
    if (t->isa == Isa::neon && cpu_has(CpuExt::neon_dotprod)) i8 += "_dotprod";
    CHECK(std::string(kernel_name(*t, kernel_count() - 1)) == i8);
    const std::string first = kernel_name(*t, 0);
    CHECK(first == std::string("gather_f32__") + isa_name(t->isa));
    CHECK(kernel_name(*t, kernel_count()) == nullptr);
    if (t->isa != Isa::scalar) CHECK(reinterpret_cast<uintptr_t>(t->gather_f32) != reinterpret_cast<uintptr_t>(scalar_table().gather_f32));
  }
}

TEST_CASE("kernels: sgemm vs sgemm_reference") {
  struct Shape {
    size_t m, n, k;
  };
  for (const Shape s : {Shape{1, 1, 1}, Shape{7, 33, 5}, Shape{16, 17, 64}, Shape{33, 7, 129}, Shape{64, 96, 768}}) {
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        for (const float beta : {0.0f, 1.0f, -0.5f}) {
          INFO("m=" << s.m << " n=" << s.n << " k=" << s.k << " trans_a=" << ta << " trans_b=" << tb << " beta=" << beta);
          const size_t lda = (ta ? s.m : s.k) + 2, ldb = (tb ? s.k : s.n) + 1, ldc = s.n + 3;
          std::vector<float> a((ta ? s.k : s.m) * lda), b((tb ? s.n : s.k) * ldb), c(s.m * ldc);
          fill_normal(a.data(), a.size(), 0.0f, 1.0f);
          fill_normal(b.data(), b.size(), 0.0f, 1.0f);
          fill_normal(c.data(), c.size(), 0.0f, 1.0f);
          std::vector<float> want = c;
          const float alpha = 0.75f;
          sgemm(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
          sgemm_reference(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta, want.data(), ldc);
          // Bound: 2 k eps (|alpha| sum_p |a||b| + |beta c0|), from the sum of absolute products.
          std::vector<float> c0(c.size());
          double worst = 0.0;
          for (size_t i = 0; i < s.m; ++i) {
            for (size_t j = 0; j < s.n; ++j) {
              double mag = 0.0;
              for (size_t p = 0; p < s.k; ++p) {
                const float av = ta ? a[p * lda + i] : a[i * lda + p];
                const float bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                mag += std::fabs(static_cast<double>(av) * bv);
              }
              const double bound = 2.0 * static_cast<double>(s.k + 2) * 1.1920929e-7 * (alpha * mag + 2.0 * std::fabs(want[i * ldc + j]));
              const double err = std::fabs(static_cast<double>(c[i * ldc + j]) - want[i * ldc + j]);
              worst = std::fmax(worst, err / bound);
            }
            for (size_t j = s.n; j < ldc; ++j) CHECK(bits_of(c[i * ldc + j]) == bits_of(want[i * ldc + j]));
          }
          CHECK(worst <= 1.0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace bertrt::kernels::test
