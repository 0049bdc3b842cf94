// Weight GEMMs at BERT shapes: the packed micro-kernels of the active table (f32, f16 and bf16
// weight panels) against OpenBLAS sgemm on the same row-major f32 weights, one thread.
// Counters: GFLOP/s (2 M N K per call).
//   bench_gemm --benchmark_filter=... ; shapes M x K x N of bert-base (H 768, I 3072) and
//   MiniLM-L6-H384 (H 384, I 1536) for M = 8, 128, 1024 rows.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/gemm_packed.h"
#include "kernels/kernels.h"

#ifdef BERTRT_HAVE_BLAS
#include <cblas.h>
#endif

namespace {

using namespace bertrt;

// f32 -> f16 (round to nearest even) for normal-range values, and f32 -> bf16 (round to nearest
// even); finite inputs. Only to make benchmark weights.
uint16_t to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint32_t sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
  if (mag < 0x38800000u) return static_cast<uint16_t>(sign);  // below the f16 normals: +-0
  const uint32_t mant = mag & 0x7fffffu, rest = mant & 0x1fffu;
  uint32_t h = (((mag >> 23) - 112) << 10) | (mant >> 13);
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}
uint16_t to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// A [m, k], W [k, n] (f32, and f16/bf16 copies), each packed into 64-byte aligned panels.
struct Data {
  std::vector<float> a, w, packed_store, bias, c;
  std::vector<uint16_t> packed16_store, packed_bf16_store;
  float* packed = nullptr;
  uint16_t* packed16 = nullptr;
  uint16_t* packed_bf16 = nullptr;
  Data(size_t m, size_t k, size_t n)
      : a(m * k), w(k * n), packed_store(kernels::packed_elems(k, n) + 16), bias(n), c(m * n),
        packed16_store(kernels::packed_elems(k, n) + 32), packed_bf16_store(kernels::packed_elems(k, n) + 32) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (float& x : a) x = d(rng);
    for (float& x : w) x = d(rng);
    for (float& x : bias) x = d(rng);
    packed = aligned(packed_store.data());
    packed16 = aligned(packed16_store.data());
    packed_bf16 = aligned(packed_bf16_store.data());
    kernels::pack_panels(w.data(), k, n, n, packed);
    std::vector<uint16_t> h(k * n), b(k * n);
    for (size_t i = 0; i < w.size(); ++i) {
      h[i] = to_f16(w[i]);
      b[i] = to_bf16(w[i]);
    }
    kernels::pack_panels_u16(h.data(), k, n, n, packed16);
    kernels::pack_panels_u16(b.data(), k, n, n, packed_bf16);
  }
  template <class T>
  static T* aligned(T* p) {
    while (reinterpret_cast<uintptr_t>(p) % 64) ++p;
    return p;
  }
};

void set_rate(benchmark::State& state, size_t m, size_t k, size_t n) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void BM_packed(benchmark::State& state) {
  const size_t m = state.range(0), k = state.range(1), n = state.range(2);
  Data d(m, k, n);
  const auto fn = kernels::active().gemm_packed_f32;
  for (auto _ : state) {
    fn(m, n, k, d.a.data(), k, d.packed, d.bias.data(), d.c.data(), n);
    benchmark::DoNotOptimize(d.c.data());
  }
  set_rate(state, m, k, n);
  state.SetLabel(kernels::isa_name(kernels::active().isa));
}

// The same on 16-bit weight panels (f16 when bf16 is false).
void packed_u16(benchmark::State& state, bool bf16) {
  const size_t m = state.range(0), k = state.range(1), n = state.range(2);
  Data d(m, k, n);
  const auto fn = bf16 ? kernels::active().gemm_packed_bf16 : kernels::active().gemm_packed_f16;
  const uint16_t* bp = bf16 ? d.packed_bf16 : d.packed16;
  for (auto _ : state) {
    fn(m, n, k, d.a.data(), k, bp, d.bias.data(), d.c.data(), n);
    benchmark::DoNotOptimize(d.c.data());
  }
  set_rate(state, m, k, n);
  state.SetLabel(kernels::isa_name(kernels::active().isa));
}
void BM_packed_f16(benchmark::State& state) { packed_u16(state, false); }
void BM_packed_bf16(benchmark::State& state) { packed_u16(state, true); }

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
BENCHMARK(BM_packed_f16)->Apply(shapes);
BENCHMARK(BM_packed_bf16)->Apply(shapes);
BENCHMARK(BM_openblas)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
