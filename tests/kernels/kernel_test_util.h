// Helpers for the kernel tests: guarded, deliberately misaligned buffers with a poisoned
// payload, per-ISA iteration with skip messages, and element-wise comparison that reports the
// first mismatch with its index.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/isa_kernels.h"
#include "kernels/kernels.h"
#include "kernels/scalar.h"

// Checks that a compare*() call returned "" and prints its description otherwise.
#define CHECK_MATCH(expr)                  \
  do {                                     \
    const std::string why_ = (expr);       \
    CHECK_MESSAGE(why_.empty(), why_);     \
  } while (0)

namespace bertrt::kernels::test {

// Sizes around every vector width (4, 8, 16) and at BERT widths; most are not multiples of 16.
inline const std::vector<size_t> kSizes = {1, 3, 7, 8, 15, 16, 17, 33, 100, 384, 768, 1023};

inline std::string isa_str(Isa isa) { return isa_name(isa); }

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

constexpr uint32_t kPoisonBits = 0x7fc0deadu;  // a quiet NaN no kernel produces
constexpr uint32_t kGuardBits = 0x7fa5a5a5u;   // another NaN pattern, for the guard zones
constexpr size_t kGuard = 64;                  // guard elements before and after each buffer

// n elements starting one float past a 64-byte boundary (so never vector aligned), with guard
// zones on both sides. T is float or uint16_t.
template <class T>
class Guarded {
 public:
  explicit Guarded(size_t n) : n_(n), storage_((n + 2 * kGuard + 1) * sizeof(T) + 128) {
    auto base = reinterpret_cast<uintptr_t>(storage_.data());
    base = (base + 63) & ~uintptr_t{63};
    begin_ = reinterpret_cast<T*>(base);
    data_ = begin_ + kGuard + 1;
    for (size_t i = 0; i < kGuard + 1; ++i) set_guard(begin_ + i);
    for (size_t i = 0; i < kGuard; ++i) set_guard(data_ + n_ + i);
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  void poison() {
    for (size_t i = 0; i < n_; ++i) std::memcpy(data_ + i, &kPoisonBits, sizeof(T));
  }
  bool guards_intact() const {
    for (size_t i = 0; i < kGuard + 1; ++i)
      if (!is_guard(begin_ + i)) return false;
    for (size_t i = 0; i < kGuard; ++i)
      if (!is_guard(data_ + n_ + i)) return false;
    return true;
  }

 private:
  static void set_guard(T* p) { std::memcpy(p, &kGuardBits, sizeof(T)); }
  static bool is_guard(const T* p) { return std::memcmp(p, &kGuardBits, sizeof(T)) == 0; }
  size_t n_;
  std::vector<unsigned char> storage_;
  T* begin_ = nullptr;
  T* data_ = nullptr;
};

inline std::mt19937& rng() {
  static std::mt19937 gen(20240607u);
  return gen;
}
// Uniform in [lo, hi), never exactly zero.
inline float uniform(float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  for (;;) {
    const float v = d(rng());
    if (v != 0.0f) return v;
  }
}
inline float normal(float mean, float sd) {
  std::normal_distribution<float> d(mean, sd);
  for (;;) {
    const float v = d(rng());
    if (v != 0.0f) return v;
  }
}
inline void fill_uniform(float* p, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; ++i) p[i] = uniform(lo, hi);
}
inline void fill_normal(float* p, size_t n, float mean, float sd) {
  for (size_t i = 0; i < n; ++i) p[i] = normal(mean, sd);
}
// Random finite, nonzero f16 of moderate magnitude (the converts test every f16 exhaustively).
inline uint16_t random_f16() {
  std::uniform_int_distribution<int> sign(0, 1), exponent(1, 29), mantissa(0, 1023);
  return static_cast<uint16_t>((sign(rng()) << 15) | (exponent(rng()) << 10) | mantissa(rng()));
}
inline uint16_t random_bf16() {
  const float f = normal(0.0f, 2.0f);
  return static_cast<uint16_t>(bits_of(f) >> 16);
}

// The tables to test: every ISA this build and CPU have. Missing ones are reported once.
inline std::vector<const KernelTable*> tables_under_test() {
  static std::set<int> reported;
  std::vector<const KernelTable*> out;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon}) {
    if (const KernelTable* t = table_for(isa)) {
      out.push_back(t);
    } else if (reported.insert(static_cast<int>(isa)).second) {
      MESSAGE("skipping ISA " << isa_str(isa) << ": not built for this architecture or not supported by this CPU");
    }
  }
  return out;
}

// Compares got[i] with want[i] for i < n under a tolerance; returns "" or a description of the
// first failure (poison left in place, NaN mismatch, or error above tol(i)).
template <class Tol>
std::string compare(const float* got, const float* want, size_t n, Tol tol) {
  for (size_t i = 0; i < n; ++i) {
    const float g = got[i], w = want[i];
    std::ostringstream os;
    if (bits_of(g) == kPoisonBits) {
      os << "element " << i << " not written";
      return os.str();
    }
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g)) {
        os << "element " << i << ": got " << g << ", want " << w;
        return os.str();
      }
      continue;
    }
    const double err = std::fabs(static_cast<double>(g) - static_cast<double>(w));
    if (!(err <= tol(i))) {
      os.precision(9);
      os << "element " << i << ": got " << g << ", want " << w << ", error " << err << " > " << tol(i);
      return os.str();
    }
  }
  return "";
}

inline std::string compare_exact(const float* got, const float* want, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (bits_of(got[i]) != bits_of(want[i])) {
      std::ostringstream os;
      os << std::hex << "element " << std::dec << i << ": got bits 0x" << std::hex << bits_of(got[i])
         << ", want 0x" << bits_of(want[i]);
      return os.str();
    }
  }
  return "";
}

}  // namespace bertrt::kernels::test
