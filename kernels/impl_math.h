// erf and the activations, written once against Vec (see impl_common.h).
#pragma once

#include "kernels/impl_common.h"

namespace bertrt::kernels::BERTRT_ISA_NS {
namespace {

// erf(x) for float lanes, two regions on |x|:
//   |x| < 1:  erf(x) = x * P1(2x^2 - 1)              (degree 6)
//   |x| >= 1: erf(x) = 1 - exp(-x^2) * P2((x - 2.5) / 1.5), |x| clamped to 4 (degree 10)
// P2 approximates erfc(x) exp(x^2), which varies slowly. Both polynomials are Chebyshev
// interpolants computed for this file (long-double fit, then rounded to float). Beyond |x| = 4
// erf rounds to +-1 in float. Accuracy: relative error vs. std::erf (float) <= 2e-7 on the whole
// line, checked densely by tests/kernels (test "erf accuracy", bound 1e-6).
inline F erf_v(F x) {
  static constexpr float p1[7] = {0.965468764f,     -0.1405361f,      0.0198524967f,  -0.0022854195f,
                                  0.000217513545f,  -1.76690683e-05f, 1.23060545e-06f};
  static constexpr float p2[11] = {0.21080637f,      -0.111521393f,    0.0561106279f,   -0.0269979369f,
                                   0.0124867f,       -0.00561123341f,  0.00241838419f,  -0.000916272576f,
                                   0.000376477285f,  -0.000245186442f, 9.29497401e-05f};
  const F one = Vec::set1(1.0f);
  const F ax = Vec::abs(x);
  const F u1 = Vec::fma(Vec::mul(ax, ax), Vec::set1(2.0f), Vec::set1(-1.0f));
  const F r1 = Vec::mul(ax, horner(p1, u1));
  const F xc = Vec::min(ax, Vec::set1(4.0f));
  const F u2 = Vec::mul(Vec::sub(xc, Vec::set1(2.5f)), Vec::set1(1.0f / 1.5f));
  const F e = exp_v(Vec::sub(Vec::zero(), Vec::mul(xc, xc)));
  const F r2 = Vec::fnma(e, horner(p2, u2), one);
  return Vec::copysign(Vec::select(Vec::lt(ax, one), r1, r2), x);
}

// 0.5 x (1 + erf(x / sqrt 2)), same operation order as the scalar reference.
inline F gelu_erf_v(F x) {
  const F half_x = Vec::mul(Vec::set1(0.5f), x);
  return Vec::mul(half_x, Vec::add(Vec::set1(1.0f), erf_v(Vec::mul(x, Vec::set1(0.70710678118654752440f)))));
}

// 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), evaluated as x / (1 + exp(-2u)) (the
// same function; avoids the cancellation of 1 + tanh(u) for negative u).
inline F gelu_tanh_v(F x) {
  const F x3 = Vec::mul(Vec::mul(Vec::mul(Vec::set1(0.044715f), x), x), x);
  const F u = Vec::mul(Vec::set1(0.79788456080286535588f), Vec::add(x, x3));
  const F e = exp_v(Vec::mul(Vec::set1(-2.0f), u));
  return Vec::div(x, Vec::add(Vec::set1(1.0f), e));
}

// x > 0 ? x : 0 (NaN and -0 give +0, as in the scalar reference).
inline F relu_v(F x) { return Vec::select(Vec::lt(Vec::zero(), x), x, Vec::zero()); }

}  // namespace
}  // namespace bertrt::kernels::BERTRT_ISA_NS
