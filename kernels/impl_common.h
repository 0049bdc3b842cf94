// Shared pieces of the generic kernel bodies. Included by kernels/<family>_<isa>.cpp after
// kernels/simd_<isa>.h and with BERTRT_ISA_NS defined to the ISA namespace (avx2, avx512, neon).
// Everything is in an anonymous namespace: each ISA file gets its own copy compiled with its
// own flags. Bodies use only Vec, so the same source serves every ISA.
#pragma once

#ifndef BERTRT_ISA_NS
#error "define BERTRT_ISA_NS and include kernels/simd_<isa>.h first"
#endif

#include <cstddef>
#include <cstdint>

namespace bertrt::kernels::BERTRT_ISA_NS {
namespace {

using F = Vec::F;
using M = Vec::M;
constexpr size_t kW = Vec::width;

// Block tags: a full vector, or the row's tail (n < kW lanes, loads/stores limited to n).
struct FullBlock {
  static constexpr bool tail = false;
};
struct TailBlock {
  static constexpr bool tail = true;
};

// Calls body(j, n, tag) for j = 0, kW, 2kW, ... covering [0, count); the last block may be a tail.
template <class Body>
inline void for_blocks(size_t count, Body&& body) {
  size_t j = 0;
  for (; j + kW <= count; j += kW) body(j, kW, FullBlock{});
  if (j < count) body(j, count - j, TailBlock{});
}

// Like for_blocks, but body returns a vector that is folded with op (add, max) starting from
// init; four independent accumulators so that op's latency does not serialise the loop. Tail
// lanes past n must be returned as op's identity (0 for a sum, -inf for a max).
template <class Op, class Body>
inline F fold_blocks(size_t count, F init, Op&& op, Body&& body) {
  F a0 = init, a1 = init, a2 = init, a3 = init;
  size_t j = 0;
  for (; j + 4 * kW <= count; j += 4 * kW) {
    a0 = op(a0, body(j, kW, FullBlock{}));
    a1 = op(a1, body(j + kW, kW, FullBlock{}));
    a2 = op(a2, body(j + 2 * kW, kW, FullBlock{}));
    a3 = op(a3, body(j + 3 * kW, kW, FullBlock{}));
  }
  for (; j + kW <= count; j += kW) a0 = op(a0, body(j, kW, FullBlock{}));
  if (j < count) a1 = op(a1, body(j, count - j, TailBlock{}));
  return op(op(a0, a1), op(a2, a3));
}

template <class Body>
inline F sum_blocks(size_t count, Body&& body) {
  return fold_blocks(count, Vec::zero(), [](F x, F y) { return Vec::add(x, y); }, body);
}

// The maximum is exact, so the four accumulators give the same result as one.
template <class Body>
inline F max_blocks(size_t count, F init, Body&& body) {
  return fold_blocks(count, init, [](F x, F y) { return Vec::max(x, y); }, body);
}

template <bool Tail>
inline F ld(const float* p, size_t n) {
  if constexpr (Tail) return Vec::load_n(p, n);
  else return Vec::load(p);
}
template <bool Tail>
inline void st(float* p, F v, size_t n) {
  if constexpr (Tail) Vec::store_n(p, v, n);
  else Vec::store(p, v);
}
template <bool Tail>
inline F ld_f16(const uint16_t* p, size_t n) {
  if constexpr (Tail) return Vec::load_f16_n(p, n);
  else return Vec::load_f16(p);
}
template <bool Tail>
inline F ld_bf16(const uint16_t* p, size_t n) {
  if constexpr (Tail) return Vec::load_bf16_n(p, n);
  else return Vec::load_bf16(p);
}

// Horner evaluation, coefficients in ascending order of power.
template <size_t N>
inline F horner(const float (&c)[N], F u) {
  F acc = Vec::set1(c[N - 1]);
  for (size_t i = N - 1; i-- > 0;) acc = Vec::fma(acc, u, Vec::set1(c[i]));
  return acc;
}

// exp(x) for float lanes.
// Method: clamp to [-87.3, 88.3], n = round(x / ln2), r = x - n ln2 (Cody-Waite split of ln2,
// exact for |n| <= 128), exp(r) by its degree-7 Taylor polynomial on |r| <= ln2/2 (truncation
// < 6e-9 relative), scaled by 2^n built in the exponent bits.
// Accuracy: max relative error vs. exp computed in double is 7.3e-8 (under 1 ulp) on
// [-87.3, 88.3] (dense grid); tests/kernels (test "exp accuracy") enforces 1.5e-7. Below -87.3 (and for -inf) the
// result is 0; above 88.3 it saturates at exp(88.3) ~ 2.2e38 instead of overflowing.
inline F exp_v(F x) {
  const F lo = Vec::set1(-87.3f);
  const F hi = Vec::set1(88.3f);
  const M under = Vec::lt(x, lo);
  const F xc = Vec::min(Vec::max(x, lo), hi);
  const F n = Vec::round_nearest(Vec::mul(xc, Vec::set1(1.44269504088896341f)));
  F r = Vec::fnma(n, Vec::set1(0.693145751953125f), xc);  // ln2 high part: 16 significant bits
  r = Vec::fnma(n, Vec::set1(1.428606765330187e-06f), r);  // ln2 - high part
  static constexpr float taylor[8] = {1.0f,           1.0f,           0.5f,           1.0f / 6.0f,
                                      1.0f / 24.0f,   1.0f / 120.0f,  1.0f / 720.0f,  1.0f / 5040.0f};
  const F p = horner(taylor, r);
  return Vec::select(under, Vec::zero(), Vec::mul(p, Vec::pow2i(n)));
}

}  // namespace
}  // namespace bertrt::kernels::BERTRT_ISA_NS
