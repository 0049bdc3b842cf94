// The packed-weight GEMM (kernels/gemm_packed.h) on every ISA this CPU runs, against the reference
// GEMM and OpenBLAS (kernels::sgemm) at odd shapes; and the packed linear() stage: bias, activation
// and bitwise-identical results for any thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/gemm_packed.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "stages/stages.h"

namespace {

using namespace bertrt;

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0.0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}

struct Kernel {
  const char* name;
  kernels::PackedGemmFn fn;
};

std::vector<Kernel> available_kernels() {
  std::vector<Kernel> out{{"scalar", kernels::gemm_packed_scalar}};
  for (kernels::Isa isa : {kernels::Isa::avx2, kernels::Isa::avx512, kernels::Isa::neon})
    if (kernels::table_for(isa)) out.push_back({kernels::isa_name(isa), kernels::packed_gemm_for(isa)});
  return out;
}

}  // namespace

TEST_CASE("packed GEMM matches the reference GEMM and OpenBLAS at odd shapes, every ISA") {
  const size_t ms[] = {1, 7, 33, 128};
  const size_t ns[] = {1, 15, 17, 33, 100, 384};
  const size_t ks[] = {1, 13, 64, 129};
  uint32_t seed = 1;
  for (const Kernel& kern : available_kernels()) {
    for (size_t m : ms)
      for (size_t n : ns)
        for (size_t k : ks) {
          CAPTURE(kern.name);
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          const size_t lda = k + 3, ldc = n + 5;  // strided A and C
          const std::vector<float> a = random_vector(m * lda, seed++), w = random_vector(k * n, seed++),
                                   bias = random_vector(n, seed++);
          // 64-byte alignment as in the model file (the x86 kernels use aligned loads).
          std::vector<float> aligned_store(kernels::packed_floats(k, n) + 16);
          float* pw = aligned_store.data();
          while (reinterpret_cast<uintptr_t>(pw) % 64) ++pw;
          kernels::pack_panels(w.data(), k, n, n, pw);

          const float sentinel = 12345.0f;
          std::vector<float> want(m * ldc, sentinel), blas(m * ldc, sentinel), got(m * ldc, sentinel);
          kernels::sgemm_reference(false, false, m, n, k, 1.0f, a.data(), lda, w.data(), n, 0.0f, want.data(), ldc);
          kernels::sgemm(false, false, m, n, k, 1.0f, a.data(), lda, w.data(), n, 0.0f, blas.data(), ldc);
          for (size_t i = 0; i < m; ++i)
            for (size_t j = 0; j < n; ++j) {
              want[i * ldc + j] += bias[j];
              blas[i * ldc + j] += bias[j];
            }
          kern.fn(m, n, k, a.data(), lda, pw, bias.data(), got.data(), ldc);
          const double tol = 1e-5 * static_cast<double>(k) + 1e-6;
          CHECK(max_diff(got, want) <= tol);
          CHECK(max_diff(got, blas) <= tol);
          // Columns past n (the row stride padding) are never written.
          bool untouched = true;
          for (size_t i = 0; i < m; ++i)
            for (size_t j = n; j < ldc; ++j) untouched = untouched && got[i * ldc + j] == sentinel;
          CHECK(untouched);
          // Without bias.
          std::vector<float> nobias(m * ldc, sentinel);
          kern.fn(m, n, k, a.data(), lda, pw, nullptr, nobias.data(), ldc);
          double d = 0.0;
          for (size_t i = 0; i < m; ++i)
            for (size_t j = 0; j < n; ++j)
              d = std::max(d, static_cast<double>(std::fabs(nobias[i * ldc + j] + bias[j] - got[i * ldc + j])));
          CHECK(d <= 1e-5);
        }
  }
}

TEST_CASE("pack_panels: panel layout with zero padding") {
  const size_t k = 3, n = 18;
  std::vector<float> w(k * n);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i + 1);
  std::vector<float> p(kernels::packed_floats(k, n));
  REQUIRE(p.size() == 2 * 16 * k);
  kernels::pack_panels(w.data(), k, n, n, p.data());
  CHECK(p[0] == w[0]);
  CHECK(p[16 + 3] == w[n + 3]);             // panel 0, row 1, column 3
  CHECK(p[16 * k + 16 + 1] == w[n + 17]);   // panel 1, row 1, column 17
  CHECK(p[16 * k + 2] == 0.0f);             // panel 1, column 18: padding
}

TEST_CASE("packed linear(): bias and GELU epilogue, same bits for 1, 2 and 3 threads") {
  const size_t m = 37, in = 70, out = 200;
  const std::vector<float> x = random_vector(m * in, 7), w = random_vector(in * out, 8), bias = random_vector(out, 9);
  std::vector<float> packed_store(kernels::packed_floats(in, out) + 16);
  float* pw = packed_store.data();
  while (reinterpret_cast<uintptr_t>(pw) % 64) ++pw;
  kernels::pack_panels(w.data(), in, out, out, pw);
  core::WeightMatrix packed{pw, kernels::DType::f32, in, out, true};
  core::WeightMatrix plain{w.data(), kernels::DType::f32, in, out, false};

  core::Workspace ws;
  std::vector<float> ref(m * out), y1(m * out), y2(m * out), y3(m * out);
  ws.threads = 1;
  core::linear(ws, x.data(), m, plain, bias.data(), kernels::Activation::gelu_erf, ref.data());
  core::linear(ws, x.data(), m, packed, bias.data(), kernels::Activation::gelu_erf, y1.data());
  ws.threads = 2;
  core::linear(ws, x.data(), m, packed, bias.data(), kernels::Activation::gelu_erf, y2.data());
  ws.threads = 3;
  core::linear(ws, x.data(), m, packed, bias.data(), kernels::Activation::gelu_erf, y3.data());
  CHECK(max_diff(y1, ref) <= 1e-4);
  CHECK(y1 == y2);
  CHECK(y1 == y3);
}
