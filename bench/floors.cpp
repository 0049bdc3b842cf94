// Machine floors for docs/performance.md: fp32 FMA peak from a register-only loop (AVX-512 and
// AVX2 widths where the CPU has them), the int8 multiply-accumulate peaks of the int8 GEMM's
// instructions (vpdpbusd zmm with AVX512_VNNI; vpdpbusd ymm, VEX with AVX-VNNI and EVEX with
// AVX512_VNNI + VL; vpmaddwd + vpaddd on int16 at AVX-512 BW and
// AVX2 widths, the no-VNNI kernels' pair; 2 ops per multiply-accumulate, GOP/s), the bf16
// dot-product peak of the bf16x2 GEMM's instruction (vdpbf16ps zmm with AVX512_BF16: 32 bf16
// products per instruction, 2 flops each; a line saying it is skipped otherwise), and memory
// bandwidth from a stream triad
// (a[i] = b[i] + s * c[i], 3 x 4 bytes per element moved; write-allocate traffic not counted),
// at 1..N threads (OpenMP). Each figure is the best of several repetitions.
//
// usage: bench_floors [--threads N] [--mib M]   (triad arrays of M MiB each, default 256)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
volatile double g_sink = 0.0;
double seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// 12 independent accumulator chains: enough to cover FMA latency (4 cycles) x 2 ports.
#if defined(__x86_64__)
// Twelve named accumulators (an array would live on the stack once an asm barrier takes its
// elements); the empty asm keeps the compiler from reasoning about the chains.
#define BERTRT_FMA_LOOP(V, FMA)                                                                        \
  for (long it = 0; it < iters; ++it) {                                                              \
    a0 = FMA(a0, x, y); a1 = FMA(a1, x, y); a2 = FMA(a2, x, y); a3 = FMA(a3, x, y);                  \
    a4 = FMA(a4, x, y); a5 = FMA(a5, x, y); a6 = FMA(a6, x, y); a7 = FMA(a7, x, y);                  \
    a8 = FMA(a8, x, y); a9 = FMA(a9, x, y); a10 = FMA(a10, x, y); a11 = FMA(a11, x, y);              \
    __asm__ volatile("" : "+" V(a0), "+" V(a1), "+" V(a2), "+" V(a3), "+" V(a4), "+" V(a5));         \
    __asm__ volatile("" : "+" V(a6), "+" V(a7), "+" V(a8), "+" V(a9), "+" V(a10), "+" V(a11));       \
  }

__attribute__((target("avx512f"))) double fma_avx512(long iters) {
  __m512 a0 = _mm512_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
         a9 = a0, a10 = a0, a11 = a0;
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  BERTRT_FMA_LOOP("v", _mm512_fmadd_ps)
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}
__attribute__((target("avx2,fma"))) double fma_avx2(long iters) {
  __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
         a9 = a0, a10 = a0, a11 = a0;
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  BERTRT_FMA_LOOP("x", _mm256_fmadd_ps)
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

// int8: 12 chains of vpdpbusd (64 u8 x s8 products per instruction), or of vpmaddwd + vpaddd
// (32 / 16 int16 products per pair; vpmaddwd takes the accumulator itself, or the compiler would
// hoist a product of constants out of the loop). Returns a lane so the chains stay live.
__attribute__((target("avx512f,avx512vnni"))) double dpbusd_avx512(long iters) {
  __m512i a0 = _mm512_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
          a9 = a0, a10 = a0, a11 = a0;
  const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
  BERTRT_FMA_LOOP("v", _mm512_dpbusd_epi32)
  const __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                     _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
  int out[16];
  _mm512_storeu_si512(out, _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11))));
  return out[0];
}
// bf16: 12 chains of vdpbf16ps (32 bf16 x bf16 products into 16 f32 lanes per instruction).
__attribute__((target("avx512f,avx512bf16"))) inline __m512 dpbf16_512(__m512 acc, __m512i x, __m512i y) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(x), reinterpret_cast<__m512bh>(y));
}
__attribute__((target("avx512f,avx512bf16"))) double dpbf16_avx512(long iters) {
  __m512 a0 = _mm512_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
         a9 = a0, a10 = a0, a11 = a0;
  const __m512i x = _mm512_set1_epi16(0x3f80), y = _mm512_set1_epi16(0x3380);  // 1.0 and 2^-24 as bf16
  BERTRT_FMA_LOOP("v", dpbf16_512)
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}
__attribute__((target("avx512f,avx512bw"))) inline __m512i madd_add_512(__m512i acc, [[maybe_unused]] __m512i x,
                                                                      __m512i y) {
  return _mm512_add_epi32(acc, _mm512_madd_epi16(acc, y));
}
__attribute__((target("avx512f,avx512bw"))) double maddwd_avx512(long iters) {
  __m512i a0 = _mm512_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
          a9 = a0, a10 = a0, a11 = a0;
  const __m512i x = _mm512_set1_epi16(3), y = _mm512_set1_epi16(-2);
  BERTRT_FMA_LOOP("v", madd_add_512)
  const __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                     _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
  int out[16];
  _mm512_storeu_si512(out, _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11))));
  return out[0];
}
__attribute__((target("avx2"))) inline __m256i madd_add_256(__m256i acc, [[maybe_unused]] __m256i x,
                                                        __m256i y) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(acc, y));
}
__attribute__((target("avx2"))) double maddwd_avx2(long iters) {
  __m256i a0 = _mm256_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
          a9 = a0, a10 = a0, a11 = a0;
  const __m256i x = _mm256_set1_epi16(3), y = _mm256_set1_epi16(-2);
  BERTRT_FMA_LOOP("x", madd_add_256)
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
                               _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7)));
  s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_add_epi32(a8, a9), _mm256_add_epi32(a10, a11)));
  return _mm256_extract_epi32(s, 0);
}
// vpdpbusd ymm (32 u8 x s8 products), the AVX-VNNI kernel's instruction: the VEX form with
// AVX-VNNI, the EVEX form (AVX-512 VNNI + VL: what the kernel's EVEX twin runs) otherwise.
#define BERTRT_DPBUSD_YMM(TARGET, NAME, DOT)                                                          \
  __attribute__((target(TARGET))) double NAME(long iters) {                                           \
    __m256i a0 = _mm256_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, \
            a8 = a0, a9 = a0, a10 = a0, a11 = a0;                                                     \
    const __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-2);                                 \
    BERTRT_FMA_LOOP("x", DOT)                                                                         \
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)), \
                                 _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7))); \
    s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_add_epi32(a8, a9), _mm256_add_epi32(a10, a11)));  \
    return _mm256_extract_epi32(s, 0);                                                                \
  }
BERTRT_DPBUSD_YMM("avxvnni", dpbusd_ymm_vex, _mm256_dpbusd_avx_epi32)
BERTRT_DPBUSD_YMM("avx512f,avx512vl,avx512vnni", dpbusd_ymm_evex, _mm256_dpbusd_epi32)
#endif

int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// GFLOP/s over `threads` threads running the loop concurrently (2 flops per lane per FMA).
template <class F>
double fma_rate(F kernel, int lanes, int threads) {
  const long iters = 20'000'000;
  double best = 0.0;
  double sink = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
      const double r = kernel(iters);
#ifdef _OPENMP
#pragma omp atomic
#endif
      sink = sink + r;
    }
    const double s = seconds(t0);
    best = std::max(best, 2.0 * lanes * 12.0 * iters * threads / s / 1e9);
  }
  g_sink = sink;
  return best;
}

double triad_rate(size_t n, int threads) {
  float* a = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  float* b = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  float* c = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  const long nl = static_cast<long>(n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
  for (long i = 0; i < nl; ++i) {
    a[i] = 0.0f;
    b[i] = 1.0f;
    c[i] = 2.0f;
  }
  double best = 0.0;
  for (int rep = 0; rep < 8; ++rep) {
    const float s = 0.5f + rep;
    const auto t0 = Clock::now();
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (long i = 0; i < nl; ++i) a[i] = b[i] + s * c[i];
    const double sec = seconds(t0);
    best = std::max(best, 3.0 * n * sizeof(float) / sec / 1e9);
  }
  volatile float keep = a[n / 2];
  (void)keep;
  std::free(a);
  std::free(b);
  std::free(c);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = max_threads();
  size_t mib = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--mib")) mib = static_cast<size_t>(std::atol(argv[i + 1]));
  }
  if (threads < 1) threads = 1;
  const size_t n = mib * 1024 * 1024 / sizeof(float);
  for (int t = 1; t <= threads; ++t) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f"))
      std::printf("{\"floor\":\"fma_avx512\",\"threads\":%d,\"gflops\":%.1f}\n", t, fma_rate(fma_avx512, 16, t));
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      std::printf("{\"floor\":\"fma_avx2\",\"threads\":%d,\"gflops\":%.1f}\n", t, fma_rate(fma_avx2, 8, t));
    // fma_rate counts 2 ops per lane per instruction: lanes = products per instruction (pair).
    if (__builtin_cpu_supports("avx512vnni"))
      std::printf("{\"floor\":\"int8_vpdpbusd_avx512\",\"threads\":%d,\"gops\":%.1f}\n", t,
                  fma_rate(dpbusd_avx512, 64, t));
    if (__builtin_cpu_supports("avx512bw"))
      std::printf("{\"floor\":\"int8_vpmaddwd_avx512\",\"threads\":%d,\"gops\":%.1f}\n", t,
                  fma_rate(maddwd_avx512, 32, t));
    if (__builtin_cpu_supports("avx512bf16"))
      std::printf("{\"floor\":\"bf16_vdpbf16ps_avx512\",\"threads\":%d,\"gflops\":%.1f}\n", t,
                  fma_rate(dpbf16_avx512, 32, t));
    else if (t == 1)
      std::printf("{\"floor\":\"bf16_vdpbf16ps_avx512\",\"skipped\":\"CPU lacks AVX512_BF16\"}\n");
    if (__builtin_cpu_supports("avx2"))
      std::printf("{\"floor\":\"int8_vpmaddwd_avx2\",\"threads\":%d,\"gops\":%.1f}\n", t,
                  fma_rate(maddwd_avx2, 16, t));
    if (__builtin_cpu_supports("avxvnni"))
      std::printf("{\"floor\":\"int8_vpdpbusd_ymm_vex\",\"threads\":%d,\"gops\":%.1f}\n", t,
                  fma_rate(dpbusd_ymm_vex, 32, t));
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl"))
      std::printf("{\"floor\":\"int8_vpdpbusd_ymm_evex\",\"threads\":%d,\"gops\":%.1f}\n", t,
                  fma_rate(dpbusd_ymm_evex, 32, t));
#endif
    std::printf("{\"floor\":\"triad\",\"threads\":%d,\"mib_per_array\":%zu,\"gb_per_s\":%.1f}\n", t, mib,
                triad_rate(n, t));
    std::fflush(stdout);
  }
  return 0;
}
