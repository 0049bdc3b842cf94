// Weight GEMMs at BERT shapes: the packed micro-kernel (active ISA) against OpenBLAS sgemm on the
// same row-major weights, one thread. Counters: GFLOP/s (2 M N K per call).
//   bench_gemm --benchmark_filter=... ; shapes M x K x N of bert-base (H 768, I 3072) and
//   MiniLM-L6-H384 (H 384, I 1536) for M = 8, 128, 1024 rows.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/gemm_packed.h"
#include "kernels/kernels.h"

#ifdef BERTRT_HAVE_BLAS
#include <cblas.h>
#endif

namespace {

using namespace bertrt;

struct Data {
  std::vector<float> a, w, packed_store, bias, c;
  float* packed = nullptr;
  Data(size_t m, size_t k, size_t n) : a(m * k), w(k * n), packed_store(kernels::packed_floats(k, n) + 16), bias(n), c(m * n) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (float& x : a) x = d(rng);
    for (float& x : w) x = d(rng);
    for (float& x : bias) x = d(rng);
    packed = packed_store.data();
    while (reinterpret_cast<uintptr_t>(packed) % 64) ++packed;
    kernels::pack_panels(w.data(), k, n, n, packed);
  }
};

void set_rate(benchmark::State& state, size_t m, size_t k, size_t n) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void BM_packed(benchmark::State& state) {
  const size_t m = state.range(0), k = state.range(1), n = state.range(2);
  Data d(m, k, n);
  const kernels::PackedGemmFn fn = kernels::packed_gemm();
  for (auto _ : state) {
    fn(m, n, k, d.a.data(), k, d.packed, d.bias.data(), d.c.data(), n);
    benchmark::DoNotOptimize(d.c.data());
  }
  set_rate(state, m, k, n);
  state.SetLabel(kernels::isa_name(kernels::active().isa));
}

void BM_openblas(benchmark::State& state) {
  const size_t m = state.range(0), k = state.range(1), n = state.range(2);
  Data d(m, k, n);
#ifdef BERTRT_HAVE_BLAS
  openblas_set_num_threads(1);
#endif
  for (auto _ : state) {
    kernels::sgemm(false, false, m, n, k, 1.0f, d.a.data(), k, d.w.data(), n, 0.0f, d.c.data(), n);
    benchmark::DoNotOptimize(d.c.data());
  }
  set_rate(state, m, k, n);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (long m : {8, 128, 1024}) {
    for (long h : {384, 768}) {
      b->Args({m, h, 3 * h});  // fused QKV
      b->Args({m, h, h});      // attention output
      b->Args({m, h, 4 * h});  // FFN up
      b->Args({m, 4 * h, h});  // FFN down
    }
  }
  b->ArgNames({"M", "K", "N"});
}

BENCHMARK(BM_packed)->Apply(shapes);
BENCHMARK(BM_openblas)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
