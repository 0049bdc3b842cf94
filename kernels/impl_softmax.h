// Masked softmax, written once against Vec. Three passes per row: max of x*scale over the valid
// columns, e = exp(x*scale - max) stored (masked columns 0) while summing, then e * (1/sum) -- or,
// with inv_sums set, 1/sum written there and the third pass left to the caller.
// exp is exp_v (impl_common.h, <= 1.5e-7 relative); the sum is a float sum over kW lanes.
// tests/kernels checks every output within 1e-6 absolute of the scalar reference.
#pragma once

#include "kernels/impl_common.h"

namespace bertrt::kernels::BERTRT_ISA_NS {
namespace {

template <bool Masked, bool Tail>
inline M valid_lanes(const uint8_t* kv, size_t j, size_t n) {
  if constexpr (Masked) {
    if constexpr (Tail) return Vec::key_mask_n(kv + j, n);
    else return Vec::key_mask(kv + j);
  } else {
    return Vec::lanes(n);
  }
}

template <bool Masked>
inline void softmax_rows(float* x, size_t rows, size_t cols, size_t ld_x, float scale, const uint8_t* kv,
                         float* inv_sums) {
  if constexpr (Masked) {
    bool any = false;
    for (size_t c = 0; c < cols && !any; ++c) any = kv[c] != 0;
    if (!any) {
      for (size_t r = 0; r < rows; ++r) {
        for_blocks(cols, [&](size_t j, size_t n, auto tag) { st<decltype(tag)::tail>(x + r * ld_x + j, Vec::zero(), n); });
        if (inv_sums) inv_sums[r] = 0.0f;
      }
      return;
    }
  }
  const F vscale = Vec::set1(scale);
  const F neg_inf = Vec::set1(-__builtin_inff());
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * ld_x;
    // Four independent max chains: with one, the pass waits on the max latency every vector.
    const F vmax = max_blocks(cols, neg_inf, [&](size_t j, size_t n, auto tag) {
      constexpr bool t = decltype(tag)::tail;
      F v = Vec::mul(ld<t>(row + j, n), vscale);
      if constexpr (Masked || t) v = Vec::select(valid_lanes<Masked, t>(kv, j, n), v, neg_inf);
      return v;
    });
    const F vm = Vec::set1(Vec::reduce_max(vmax));
    F acc = Vec::zero();
    for_blocks(cols, [&](size_t j, size_t n, auto tag) {
      constexpr bool t = decltype(tag)::tail;
      F e = exp_v(Vec::sub(Vec::mul(ld<t>(row + j, n), vscale), vm));
      if constexpr (Masked || t) e = Vec::keep(valid_lanes<Masked, t>(kv, j, n), e);
      st<t>(row + j, e, n);
      acc = Vec::add(acc, e);
    });
    const float inv = static_cast<float>(1.0 / static_cast<double>(Vec::reduce_add(acc)));
    if (inv_sums) {
      inv_sums[r] = inv;
      continue;
    }
    const F vinv = Vec::set1(inv);
    for_blocks(cols, [&](size_t j, size_t n, auto tag) {
      constexpr bool t = decltype(tag)::tail;
      st<t>(row + j, Vec::mul(ld<t>(row + j, n), vinv), n);
    });
  }
}

}  // namespace

void masked_softmax(float* x, size_t rows, size_t cols, size_t ld, float scale, const uint8_t* key_valid,
                    float* inv_sums) {
  if (key_valid) softmax_rows<true>(x, rows, cols, ld, scale, key_valid, inv_sums);
  else softmax_rows<false>(x, rows, cols, ld, scale, key_valid, inv_sums);
}

}  // namespace bertrt::kernels::BERTRT_ISA_NS
