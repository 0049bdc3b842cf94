// Weight GEMMs at BERT shapes: the packed micro-kernels of the active table (f32, f16 and bf16
// weight panels) against OpenBLAS sgemm on the same row-major f32 weights, one thread.
// Counters: GFLOP/s (2 M N K per call).
// int8 (BM_packed_i8): the active table's gemm_packed_i8 (variant in the label) on u8
// activations and packed int8 weights, GOP/s (2 M N K per call) and x_peak, the fraction of the
// register peak of the instruction the variant uses (vpdpbusd zmm; vpmaddwd + vpaddd at AVX-512 or
// AVX2 width), measured once at start-up by the loop of bench_floors; BM_quantize_i8 adds the
// activations' per-row quantization (quantize_rows_u8) to each call; BM_packed_i8_cold takes
// each call's weights from the next of several copies (64 MiB in all), so that they come from L3
// or memory as in a forward pass, not from L2 as when one matrix is multiplied again and again;
// BM_packed_i8_avx2_vnni runs the AVX-VNNI kernel (vpdpbusd ymm; its EVEX twin on AVX-512 VNNI
// CPUs without AVX-VNNI) whatever the active table, x_peak against vpdpbusd ymm.
// bf16x2 (BM_packed_bf16x2): the active table's gemm_packed_bf16x2 (variant in the label) on bf16
// activations and panel_bf16x2 weights, GFLOP/s; BM_convert_bf16x2 adds the activations' row
// conversion (convert_rows_bf16) to each call.
//   bench_gemm --benchmark_filter=... ; shapes M x K x N of bert-base (H 768, I 3072) and
//   MiniLM-L6-H384 (H 384, I 1536) for M = 8, 128, 1024 rows.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <algorithm>
#include <ctime>
#include <string>

#include "kernels/gemm_bf16.h"
#include "kernels/gemm_i8.h"
#include "kernels/gemm_packed.h"
#include "kernels/isa_kernels.h"
#include "kernels/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
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

// int8 register peaks (GOP/s, one thread): 12 independent chains, as bench/floors.cpp (vpmaddwd
// takes the accumulator itself so that it cannot be hoisted out of the loop).
#if defined(__x86_64__)
// Twelve named accumulators (an array would live on the stack once the asm barrier takes them).
#define BERTRT_I8_CHAINS(T, SET, OP, ADD, LANE0)                                                         \
  T a0 = SET(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, \
    a11 = a0;                                                                                           \
  for (long it = 0; it < iters; ++it) {                                                                 \
    a0 = OP(a0, x, y); a1 = OP(a1, x, y); a2 = OP(a2, x, y); a3 = OP(a3, x, y);                         \
    a4 = OP(a4, x, y); a5 = OP(a5, x, y); a6 = OP(a6, x, y); a7 = OP(a7, x, y);                         \
    a8 = OP(a8, x, y); a9 = OP(a9, x, y); a10 = OP(a10, x, y); a11 = OP(a11, x, y);                     \
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));                  \
    __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));                \
  }                                                                                                     \
  return LANE0(ADD(ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7))),                   \
                   ADD(ADD(a8, a9), ADD(a10, a11))));

__attribute__((target("avx512f,avx512bw"))) inline __m512i madd_add_512(__m512i v, [[maybe_unused]] __m512i x,
                                                                      __m512i y) {
  return _mm512_add_epi32(v, _mm512_madd_epi16(v, y));
}
__attribute__((target("avx2"))) inline __m256i madd_add_256(__m256i v, [[maybe_unused]] __m256i x,
                                                        __m256i y) {
  return _mm256_add_epi32(v, _mm256_madd_epi16(v, y));
}
__attribute__((target("avx512f"))) inline int lane0_512(__m512i v) {
  int out[16];
  _mm512_storeu_si512(out, v);
  return out[0];
}
__attribute__((target("avx2"))) inline int lane0_256(__m256i v) { return _mm256_extract_epi32(v, 0); }

__attribute__((target("avx512f,avx512vnni"))) int peak_dpbusd(long iters) {
  const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
  BERTRT_I8_CHAINS(__m512i, _mm512_set1_epi32, _mm512_dpbusd_epi32, _mm512_add_epi32, lane0_512)
}
__attribute__((target("avx512f,avx512bw"))) int peak_maddwd512(long iters) {
  const __m512i x = _mm512_set1_epi16(3), y = _mm512_set1_epi16(-2);
  BERTRT_I8_CHAINS(__m512i, _mm512_set1_epi32, madd_add_512, _mm512_add_epi32, lane0_512)
}
// vpdpbusd ymm, the AVX-VNNI kernel's instruction: the VEX form where the CPU has AVX-VNNI, else
// the EVEX form (AVX-512 VNNI + VL), which the kernel's EVEX twin runs.
__attribute__((target("avxvnni"))) int peak_dpbusd256_vex(long iters) {
  const __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-2);
  BERTRT_I8_CHAINS(__m256i, _mm256_set1_epi32, _mm256_dpbusd_avx_epi32, _mm256_add_epi32, lane0_256)
}
__attribute__((target("avx512f,avx512vl,avx512vnni"))) int peak_dpbusd256_evex(long iters) {
  const __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-2);
  BERTRT_I8_CHAINS(__m256i, _mm256_set1_epi32, _mm256_dpbusd_epi32, _mm256_add_epi32, lane0_256)
}
__attribute__((target("avx2"))) int peak_maddwd256(long iters) {
  const __m256i x = _mm256_set1_epi16(3), y = _mm256_set1_epi16(-2);
  BERTRT_I8_CHAINS(__m256i, _mm256_set1_epi32, madd_add_256, _mm256_add_epi32, lane0_256)
}
#endif

volatile int g_peak_sink = 0;

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// GOP/s of `loop` (2 ops per product, `products` per chain step), best of 5 short runs, on the
// thread's CPU time like the benchmarks' rates (the machine may be shared).
template <class F>
double measure_peak(F loop, int products) {
  const long iters = 2'000'000;
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = thread_seconds();
    g_peak_sink = loop(iters);
    const double sec = thread_seconds() - t0;
    best = std::max(best, 2.0 * products * 12.0 * iters / sec / 1e9);
  }
  return best;
}

// The peak of the instruction the active gemm_packed_i8 variant uses (0 when unknown: NEON).
double i8_peak() {
  static const double peak = [] {
#if defined(__x86_64__)
    const std::string name = kernels::kernel_name(kernels::active(), kernels::kernel_count() - 1);
    const bool vnni = name.find("_vnni") != std::string::npos;
    if (kernels::active().isa == kernels::Isa::avx512)
      return vnni ? measure_peak(peak_dpbusd, 64) : measure_peak(peak_maddwd512, 32);
    if (kernels::active().isa == kernels::Isa::avx2)
      return vnni ? measure_peak(peak_dpbusd256_vex, 32) : measure_peak(peak_maddwd256, 16);
#endif
    return 0.0;
  }();
  return peak;
}

// u8 activations A [m, k] (quantized from uniform f32), int8 weights W [k, n] quantized per column
// and packed 64-byte aligned.
struct DataI8 {
  std::vector<float> x, w, bias, a_scale, w_scale, c;
  std::vector<int32_t> a_zero;
  std::vector<uint8_t> a;
  std::vector<int8_t> wq, packed_store;
  std::vector<int32_t> colsum;
  int8_t* packed = nullptr;
  DataI8(size_t m, size_t k, size_t n)
      : x(m * k), w(k * n), bias(n), a_scale(m), w_scale(n), c(m * n), a_zero(m), a(m * k), wq(k * n),
        packed_store(kernels::packed_i8_bytes(k, n) + 64), colsum(kernels::packed_i8_colsums(n)) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (float& v : x) v = d(rng);
    for (float& v : w) v = d(rng);
    for (float& v : bias) v = d(rng);
    packed = Data::aligned(packed_store.data());
    kernels::quantize_columns_i8(w.data(), k, n, n, wq.data(), n, w_scale.data());
    kernels::pack_panels_i8(wq.data(), k, n, n, packed, colsum.data());
    kernels::active().quantize_rows_u8(m, k, x.data(), k, a.data(), k, a_scale.data(), a_zero.data());
  }
};

// Copies of the packed weights, at least 64 MiB in all, that the cold variant cycles through so
// that each call finds its weights outside L2 (in L3 or memory), as a forward pass through a
// model larger than L2 does.
struct ColdCopies {
  std::vector<int8_t> store;
  size_t bytes = 0, count = 1;
  ColdCopies(const DataI8& d, size_t k, size_t n, bool cold) : bytes(kernels::packed_i8_bytes(k, n)) {
    if (!cold) return;
    count = (size_t{64} << 20) / bytes + 2;
    store.resize(count * bytes + 64);
    int8_t* base = Data::aligned(store.data());
    for (size_t i = 0; i < count; ++i) std::memcpy(base + i * bytes, d.packed, bytes);
  }
  const int8_t* copy(size_t i) const { return Data::aligned(store.data()) + (i % count) * bytes; }
};

void packed_i8(benchmark::State& state, bool with_quantize, bool cold = false) {
  const size_t m = state.range(0), k = state.range(1), n = state.range(2);
  DataI8 d(m, k, n);
  const ColdCopies copies(d, k, n, cold);
  const kernels::KernelTable& t = kernels::active();
  size_t call = 0;
  for (auto _ : state) {
    if (with_quantize) t.quantize_rows_u8(m, k, d.x.data(), k, d.a.data(), k, d.a_scale.data(), d.a_zero.data());
    const int8_t* w = cold ? copies.copy(call++) : d.packed;
    t.gemm_packed_i8(m, n, k, d.a.data(), k, d.a_scale.data(), d.a_zero.data(), w, d.w_scale.data(),
                     d.colsum.data(), d.bias.data(), d.c.data(), n);
    benchmark::DoNotOptimize(d.c.data());
  }
  const double ops = 2.0 * m * n * k;
  state.counters["GOP/s"] = benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  if (const double peak = i8_peak(); peak > 0.0)
    state.counters["x_peak"] = benchmark::Counter(ops / (peak * 1e9), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(kernels::kernel_name(t, kernels::kernel_count() - 1));
}
void BM_packed_i8(benchmark::State& state) { packed_i8(state, false); }

// The AVX-VNNI kernel (vpdpbusd ymm, 6 x 16 tiles) whatever the active table: its VEX build on
// CPUs with AVX-VNNI, else the same code in its EVEX form on AVX-512 VNNI CPUs (skipped on
// others); x_peak against vpdpbusd ymm in the same encoding.
void BM_packed_i8_avx2_vnni(benchmark::State& state) {
#if defined(__x86_64__)
  const bool vex = kernels::cpu_has(kernels::CpuExt::avx_vnni);
  if (!vex && !kernels::cpu_has(kernels::CpuExt::avx512_vnni)) {
    state.SkipWithError("CPU has neither AVX-VNNI nor AVX-512 VNNI");
    return;
  }
  const auto fn = vex ? kernels::avx2::gemm_packed_i8_vnni : kernels::avx2::gemm_packed_i8_vnni_evex;
  static const double peak = vex ? measure_peak(peak_dpbusd256_vex, 32) : measure_peak(peak_dpbusd256_evex, 32);
  const size_t m = state.range(0), k = state.range(1), n = state.range(2);
  DataI8 d(m, k, n);
  for (auto _ : state) {
    fn(m, n, k, d.a.data(), k, d.a_scale.data(), d.a_zero.data(), d.packed, d.w_scale.data(), d.colsum.data(),
       d.bias.data(), d.c.data(), n);
    benchmark::DoNotOptimize(d.c.data());
  }
  const double ops = 2.0 * m * n * k;
  state.counters["GOP/s"] = benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["x_peak"] = benchmark::Counter(ops / (peak * 1e9), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(vex ? "gemm_packed_i8__avx2_vnni (VEX)" : "gemm_packed_i8__avx2_vnni (EVEX ymm)");
#else
  state.SkipWithError("x86-64 only");
#endif
}
void BM_quantize_i8(benchmark::State& state) { packed_i8(state, true); }
void BM_packed_i8_cold(benchmark::State& state) { packed_i8(state, false, true); }

// bf16x2: f32 activations X [m, k] converted to bf16 rows (convert_rows_bf16), weights W [k, n]
// packed in the panel_bf16x2 layout, 64-byte aligned.
struct DataBf16x2 {
  std::vector<float> x, w, bias, c;
  std::vector<uint16_t> a, packed_store;
  uint16_t* packed = nullptr;
  size_t k2;
  DataBf16x2(size_t m, size_t k, size_t n)
      : x(m * k), w(k * n), bias(n), c(m * n), a(m * kernels::bf16_k2(k)),
        packed_store(kernels::packed_bf16x2_elems(k, n) + 32), k2(kernels::bf16_k2(k)) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (float& v : x) v = d(rng);
    for (float& v : w) v = d(rng);
    for (float& v : bias) v = d(rng);
    packed = Data::aligned(packed_store.data());
    kernels::pack_panels_bf16x2(w.data(), k, n, n, packed);
    kernels::active().convert_rows_bf16(m, k, x.data(), k, a.data(), k2);
  }
};

// gemm_packed_bf16x2 (with_convert: and the row conversion before it), GFLOP/s.
void packed_bf16x2(benchmark::State& state, bool with_convert) {
  const size_t m = state.range(0), k = state.range(1), n = state.range(2);
  DataBf16x2 d(m, k, n);
  const kernels::KernelTable& t = kernels::active();
  for (auto _ : state) {
    if (with_convert) t.convert_rows_bf16(m, k, d.x.data(), k, d.a.data(), d.k2);
    t.gemm_packed_bf16x2(m, n, k, d.a.data(), d.k2, d.packed, d.bias.data(), d.c.data(), n);
    benchmark::DoNotOptimize(d.c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.SetLabel(kernels::kernel_name(t, kernels::kernel_count() - 3));  // gemm_packed_bf16x2's row
}
void BM_packed_bf16x2(benchmark::State& state) { packed_bf16x2(state, false); }
void BM_convert_bf16x2(benchmark::State& state) { packed_bf16x2(state, true); }

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
BENCHMARK(BM_packed_bf16x2)->Apply(shapes);
BENCHMARK(BM_convert_bf16x2)->Apply(shapes);
BENCHMARK(BM_packed_i8)->Apply(shapes);
BENCHMARK(BM_packed_i8_avx2_vnni)->Apply(shapes);
BENCHMARK(BM_quantize_i8)->Apply(shapes);
BENCHMARK(BM_packed_i8_cold)->Apply(shapes);
BENCHMARK(BM_openblas)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
