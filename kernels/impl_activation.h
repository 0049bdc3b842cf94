// bias + activation, written once against Vec, plus the exported exp/erf building blocks used by
// the accuracy tests. GELU (erf form) uses erf_v (<= 2e-7 relative vs std::erf); the tanh form is
// evaluated as x / (1 + exp(-2u)); relu and none are exact.
#pragma once

#include "kernels/impl_math.h"

namespace bertrt::kernels::BERTRT_ISA_NS {
namespace {

template <Activation Act>
inline F activate(F v) {
  if constexpr (Act == Activation::gelu_erf) return gelu_erf_v(v);
  else if constexpr (Act == Activation::gelu_tanh) return gelu_tanh_v(v);
  else if constexpr (Act == Activation::relu) return relu_v(v);
  else return v;
}

template <Activation Act, bool HasBias>
inline void bias_activation_rows(float* x, size_t rows, size_t cols, size_t ld_x, const float* bias) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * ld_x;
    for_blocks(cols, [&](size_t j, size_t n, auto tag) {
      constexpr bool t = decltype(tag)::tail;
      F v = ld<t>(row + j, n);
      if constexpr (HasBias) v = Vec::add(v, ld<t>(bias + j, n));
      st<t>(row + j, activate<Act>(v), n);
    });
  }
}

template <Activation Act>
inline void bias_activation_act(float* x, size_t rows, size_t cols, size_t ld_x, const float* bias) {
  if (bias) bias_activation_rows<Act, true>(x, rows, cols, ld_x, bias);
  else bias_activation_rows<Act, false>(x, rows, cols, ld_x, bias);
}

}  // namespace

void bias_activation(float* x, size_t rows, size_t cols, size_t ld, const float* bias, Activation act) {
  switch (act) {
    case Activation::none: return bias_activation_act<Activation::none>(x, rows, cols, ld, bias);
    case Activation::gelu_erf: return bias_activation_act<Activation::gelu_erf>(x, rows, cols, ld, bias);
    case Activation::gelu_tanh: return bias_activation_act<Activation::gelu_tanh>(x, rows, cols, ld, bias);
    case Activation::relu: return bias_activation_act<Activation::relu>(x, rows, cols, ld, bias);
  }
}

void exp_f32(const float* src, size_t n, float* dst) {
  for_blocks(n, [&](size_t j, size_t k, auto tag) {
    constexpr bool t = decltype(tag)::tail;
    st<t>(dst + j, exp_v(ld<t>(src + j, k)), k);
  });
}

void erf_f32(const float* src, size_t n, float* dst) {
  for_blocks(n, [&](size_t j, size_t k, auto tag) {
    constexpr bool t = decltype(tag)::tail;
    st<t>(dst + j, erf_v(ld<t>(src + j, k)), k);
  });
}

}  // namespace bertrt::kernels::BERTRT_ISA_NS
