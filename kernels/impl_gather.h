// Gather and f16/bf16 -> f32 converts, written once against Vec (see impl_common.h).
// Exact: f32 rows are copied, f16 is widened by the hardware converter (F16C vcvtph2ps or
// AArch64 fcvtl, exact for every finite value including subnormals), bf16 by a 16-bit shift.
// Only difference from the scalar reference: a signalling-NaN f16 comes out as a quiet NaN
// (quiet bit set, sign and other payload bits kept).
#pragma once

#include "kernels/impl_common.h"

#ifndef BERTRT_GATHER_PREFETCH_BYTES
#define BERTRT_GATHER_PREFETCH_BYTES 512
#endif

namespace bertrt::kernels::BERTRT_ISA_NS {
namespace {

// Copies/widens one row of `hidden` elements, four vectors per step. next_row, when set, is the
// next row to be gathered: rows of an embedding gather are random, so its first cache lines are
// prefetched here; the hardware streamer picks up the rest of the row once it is being read.
// (Prefetching every line of the next row cost as many prefetch as load instructions and was
// slower for rows that already sit in L2.)
constexpr size_t kPrefetchBytes = BERTRT_GATHER_PREFETCH_BYTES;

template <class Load>
inline void widen_row(size_t hidden, float* dst, const void* next_row, size_t next_elem_bytes, Load load) {
  if (next_row) {
    const char* next = static_cast<const char*>(next_row);
    const size_t bytes = hidden * next_elem_bytes < kPrefetchBytes ? hidden * next_elem_bytes : kPrefetchBytes;
    for (size_t q = 0; q < bytes; q += 64) Vec::prefetch(next + q);
  }
  size_t j = 0;
  for (; j + 4 * kW <= hidden; j += 4 * kW) {
    const F v0 = load.template operator()<false>(j, kW);
    const F v1 = load.template operator()<false>(j + kW, kW);
    const F v2 = load.template operator()<false>(j + 2 * kW, kW);
    const F v3 = load.template operator()<false>(j + 3 * kW, kW);
    Vec::store(dst + j, v0);
    Vec::store(dst + j + kW, v1);
    Vec::store(dst + j + 2 * kW, v2);
    Vec::store(dst + j + 3 * kW, v3);
  }
  for (; j + kW <= hidden; j += kW) Vec::store(dst + j, load.template operator()<false>(j, kW));
  if (j < hidden) Vec::store_n(dst + j, load.template operator()<true>(j, hidden - j), hidden - j);
}

}  // namespace

void gather_f32(const float* table, const int64_t* ids, size_t n, size_t hidden, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float* src = table + static_cast<size_t>(ids[i]) * hidden;
    const float* next = i + 1 < n ? table + static_cast<size_t>(ids[i + 1]) * hidden : nullptr;
    widen_row(hidden, out + i * hidden, next, sizeof(float),
              [src]<bool Tail>(size_t j, size_t k) { return ld<Tail>(src + j, k); });
  }
}

void gather_f16(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint16_t* src = table + static_cast<size_t>(ids[i]) * hidden;
    const uint16_t* next = i + 1 < n ? table + static_cast<size_t>(ids[i + 1]) * hidden : nullptr;
    widen_row(hidden, out + i * hidden, next, sizeof(uint16_t),
              [src]<bool Tail>(size_t j, size_t k) { return ld_f16<Tail>(src + j, k); });
  }
}

void gather_bf16(const uint16_t* table, const int64_t* ids, size_t n, size_t hidden, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint16_t* src = table + static_cast<size_t>(ids[i]) * hidden;
    const uint16_t* next = i + 1 < n ? table + static_cast<size_t>(ids[i + 1]) * hidden : nullptr;
    widen_row(hidden, out + i * hidden, next, sizeof(uint16_t),
              [src]<bool Tail>(size_t j, size_t k) { return ld_bf16<Tail>(src + j, k); });
  }
}

void f16_to_f32(const uint16_t* src, size_t n, float* dst) {
  widen_row(n, dst, nullptr, 0, [src]<bool Tail>(size_t j, size_t k) { return ld_f16<Tail>(src + j, k); });
}

void bf16_to_f32(const uint16_t* src, size_t n, float* dst) {
  widen_row(n, dst, nullptr, 0, [src]<bool Tail>(size_t j, size_t k) { return ld_bf16<Tail>(src + j, k); });
}

}  // namespace bertrt::kernels::BERTRT_ISA_NS
