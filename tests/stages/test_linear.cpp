// The linear() stage (stages/linear.h) on f32, f16 and bf16 panels: bias, activation, skipped
// rows, and bitwise-identical results for any thread count. The micro-kernels themselves are
// tested per ISA in tests/kernels/test_gemm_packed_kernels.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/gemm_packed.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "stages/stages.h"

namespace {

using namespace bertrt;

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0.0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}

}  // namespace

namespace {

// IEEE half, round to nearest even (finite inputs of magnitude < 65504).
uint16_t to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7FFFFFu;
  const int exp = static_cast<int>((x >> 23) & 0xFFu) - 127 + 15;
  auto round = [](uint32_t value, uint32_t shift) {
    const uint32_t kept = value >> shift, rest = value & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    return kept + ((rest > half || (rest == half && (kept & 1u))) ? 1u : 0u);
  };
  if (exp <= 0) {  // subnormal half (or zero)
    if (exp < -10) return static_cast<uint16_t>(sign);
    return static_cast<uint16_t>(sign | round(mant | 0x800000u, static_cast<uint32_t>(14 - exp)));
  }
  return static_cast<uint16_t>(sign | round((static_cast<uint32_t>(exp) << 23) | mant, 13));
}

// w [in, out] rounded to the dtype's precision (the reference's weights) and packed in that dtype.
struct PackedWeights {
  std::vector<float> rounded;
  core::AlignedVector<float> f32;
  core::AlignedVector<uint16_t> u16;
  core::WeightMatrix matrix;
};

PackedWeights pack(const std::vector<float>& w, size_t in, size_t out, kernels::DType dtype) {
  PackedWeights p;
  p.rounded = w;
  if (dtype == kernels::DType::f32) {
    p.f32.resize(kernels::packed_floats(in, out));
    kernels::pack_panels(w.data(), in, out, out, p.f32.data());
    p.matrix = core::WeightMatrix{p.f32.data(), dtype, in, out, true};
    return p;
  }
  std::vector<uint16_t> narrow(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &w[i], 4);
    if (dtype == kernels::DType::bf16) {
      narrow[i] = static_cast<uint16_t>((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);  // round to nearest even
    } else {
      narrow[i] = to_f16(w[i]);
    }
  }
  if (dtype == kernels::DType::bf16)
    kernels::scalar_table().bf16_to_f32(narrow.data(), narrow.size(), p.rounded.data());
  else
    kernels::scalar_table().f16_to_f32(narrow.data(), narrow.size(), p.rounded.data());
  p.u16.resize(kernels::packed_elems(in, out));
  kernels::pack_panels_u16(narrow.data(), in, out, out, p.u16.data());
  p.matrix = core::WeightMatrix{p.u16.data(), dtype, in, out, true};
  return p;
}

}  // namespace

TEST_CASE("linear(): f32, f16 and bf16 panels, bias and GELU epilogue, same bits for 1, 2, 3 threads") {
  const size_t m = 203, in = 70, out = 200;
  std::random_device rd;
  for (kernels::DType dtype : {kernels::DType::f32, kernels::DType::f16, kernels::DType::bf16}) {
    CAPTURE(static_cast<int>(dtype));
    const std::vector<float> x = random_vector(m * in, rd()), w = random_vector(in * out, rd()),
                             bias = random_vector(out, rd());
    const PackedWeights pw = pack(w, in, out, dtype);
    // Reference: the rounded weights through the reference GEMM, bias, then the scalar GELU.
    std::vector<float> ref(m * out);
    kernels::sgemm_reference(false, false, m, out, in, 1.0f, x.data(), in, pw.rounded.data(), out, 0.0f, ref.data(), out);
    kernels::scalar_table().bias_activation(ref.data(), m, out, out, bias.data(), kernels::Activation::gelu_erf);

    core::Workspace ws;
    core::set_min_flops_per_thread(0.0);  // split even this small layer
    std::vector<std::vector<float>> y;
    for (int threads : {1, 2, 3}) {
      ws.parallel.threads = threads;
      std::vector<float>& yt = y.emplace_back(m * out, std::numeric_limits<float>::quiet_NaN());
      core::linear(ws, x.data(), m, pw.matrix, bias.data(), kernels::Activation::gelu_erf, yt.data());
    }
    core::set_min_flops_per_thread(4e6);
    CHECK(max_diff(y[0], ref) <= 1e-4);  // NaN (an unwritten element) fails this too
    CHECK(y[0] == y[1]);
    CHECK(y[0] == y[2]);
  }
}

TEST_CASE("linear() over sequences: rows after each sequence's last valid token are zero, not computed") {
  const size_t batch = 3, T = 40, in = 48, out = 80;
  std::random_device rd;
  const std::vector<float> x = random_vector(batch * T * in, rd()), w = random_vector(in * out, rd());
  const PackedWeights pw = pack(w, in, out, kernels::DType::f32);
  const core::KeySpan spans[batch] = {{0, T, true}, {0, 17, true}, {3, 29, true}};
  core::Workspace ws;
  ws.parallel.threads = 2;
  const core::RowBlocks rows = core::row_blocks(ws, batch, T, spans);
  CHECK(rows.rows == T + 17 + 29);
  std::vector<float> y(batch * T * out, std::numeric_limits<float>::quiet_NaN()), ref(batch * T * out);
  core::linear(ws, x.data(), batch * T, pw.matrix, nullptr, kernels::Activation::none, y.data(), &rows);
  kernels::sgemm_reference(false, false, batch * T, out, in, 1.0f, x.data(), in, w.data(), out, 0.0f, ref.data(), out);
  for (size_t b = 0; b < batch; ++b)
    for (size_t t = 0; t < T; ++t) {
      CAPTURE(b);
      CAPTURE(t);
      const float* row = y.data() + (b * T + t) * out;
      const float* want = ref.data() + (b * T + t) * out;
      double d = 0.0;
      bool zero = true;
      for (size_t j = 0; j < out; ++j) {
        d = std::max(d, std::isnan(row[j]) ? 1e9 : static_cast<double>(std::fabs(row[j] - want[j])));
        zero = zero && row[j] == 0.0f;
      }
      if (t < spans[b].end)
        CHECK(d <= 1e-4);
      else
        CHECK(zero);
    }
}
