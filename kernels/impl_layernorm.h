// Fused LayerNorm kernels (embeddings and add + bias), written once against Vec.
// Rows with h >= 4 kW take two passes: pass 1 forms x (the sum of the inputs) into the output row
// and accumulates shifted sums of d = x - K and d^2, with K the float mean of the row's first
// 4 kW values (so |K - mean| is a fraction of the spread and var = mean(d^2) - mean(d)^2 does not
// cancel; no E[x^2] - mean^2); pass 2 re-reads the row from L1 and writes
// fma(fma(x - K, inv_std, -mean(d) * inv_std), gamma, beta), and prefetches the next row's inputs
// (one prefetch per cache line): pass 2 reads nothing from L2, so without it the fills of the next
// row's inputs only start when pass 1 of that row does. The statistics are float, 1/sqrt an
// estimate refined by Newton steps (Vec::rsqrt). Shorter rows use the corrected three-pass form in
// layernorm_finish. Accumulation is in float over kW lanes; tests/kernels bounds the difference
// from the double-precision scalar reference at 1e-5 * max(1, |ref|), with row means up to 100x
// the spread.
#pragma once

#include "kernels/impl_common.h"

namespace bertrt::kernels::BERTRT_ISA_NS {
namespace {

constexpr size_t kLineFloats = 64 / sizeof(float);

// inv = 1 / sqrt(var + eps) and -corr * inv, broadcast.
struct RowScale {
  F inv, neg_corr;
};

// Pass 2: x [h] := ((x - shift) - corr) / sqrt(var + eps) * gamma + beta, written as
// fma(fma(x - shift, inv, -corr * inv), gamma, beta): x - shift is exact in the large-mean case and
// corr * inv is small, so this is as accurate as the subtract-then-scale form with one operation
// fewer. prefetch_next(k) is called once per 64-byte line of floats (k a multiple of 16).
template <class Prefetch>
inline void normalize_row(float* x, const float* gamma, const float* beta, size_t h, F vshift, RowScale sc,
                          Prefetch&& prefetch_next) {
  const F vinv = sc.inv, vneg_corr = sc.neg_corr;
  for_blocks(h, [&](size_t k, size_t n, auto tag) {
    constexpr bool t = decltype(tag)::tail;
    if (kW >= kLineFloats || k % kLineFloats == 0) prefetch_next(k);
    const F y = Vec::fma(Vec::sub(ld<t>(x + k, n), vshift), vinv, vneg_corr);
    st<t>(x + k, Vec::fma(y, ld<t>(gamma + k, n), ld<t>(beta + k, n)), n);
  });
}

// x [h] holds the row, sum its float sum; normalises in place.
// Corrected two-pass: m = sum / h rounded to float, d = x - m (exact for rows whose values lie
// within a factor 2 of m, the large-mean case), c = mean(d) removes what the float sum and the
// rounding of m lost, var = mean(d^2) - c^2 (c is tiny next to the spread, no cancellation),
// y = ((x - m) - c) * inv_std.
inline void layernorm_finish(float* x, const float* gamma, const float* beta, float eps, size_t h, float sum) {
  const F vmean = Vec::set1(static_cast<float>(static_cast<double>(sum) / static_cast<double>(h)));
  F s0 = Vec::zero(), s1 = Vec::zero(), s2 = Vec::zero(), s3 = Vec::zero();  // sum of d
  F q0 = Vec::zero(), q1 = Vec::zero(), q2 = Vec::zero(), q3 = Vec::zero();  // sum of d^2
  size_t j = 0;
  for (; j + 4 * kW <= h; j += 4 * kW) {
    const F d0 = Vec::sub(Vec::load(x + j), vmean);
    const F d1 = Vec::sub(Vec::load(x + j + kW), vmean);
    const F d2 = Vec::sub(Vec::load(x + j + 2 * kW), vmean);
    const F d3 = Vec::sub(Vec::load(x + j + 3 * kW), vmean);
    s0 = Vec::add(s0, d0);
    s1 = Vec::add(s1, d1);
    s2 = Vec::add(s2, d2);
    s3 = Vec::add(s3, d3);
    q0 = Vec::fma(d0, d0, q0);
    q1 = Vec::fma(d1, d1, q1);
    q2 = Vec::fma(d2, d2, q2);
    q3 = Vec::fma(d3, d3, q3);
  }
  for (; j + kW <= h; j += kW) {
    const F d = Vec::sub(Vec::load(x + j), vmean);
    s0 = Vec::add(s0, d);
    q0 = Vec::fma(d, d, q0);
  }
  if (j < h) {
    const F d = Vec::keep(Vec::lanes(h - j), Vec::sub(Vec::load_n(x + j, h - j), vmean));
    s1 = Vec::add(s1, d);
    q1 = Vec::fma(d, d, q1);
  }
  s0 = Vec::add(Vec::add(s0, s1), Vec::add(s2, s3));
  q0 = Vec::add(Vec::add(q0, q1), Vec::add(q2, q3));
  const double inv_h = 1.0 / static_cast<double>(h);
  const double corr = static_cast<double>(Vec::reduce_add(s0)) * inv_h;
  double var = static_cast<double>(Vec::reduce_add(q0)) * inv_h - corr * corr;
  if (var < 0.0) var = 0.0;
  const double inv = 1.0 / __builtin_sqrt(var + static_cast<double>(eps));
  normalize_row(x, gamma, beta, h, vmean,
                RowScale{Vec::set1(static_cast<float>(inv)), Vec::set1(static_cast<float>(-corr * inv))},
                [](size_t) {});
}

// Two-pass row for h >= 4 kW. make(j, n, tag) forms x[j, j + n) (lanes past n zero), stores it
// to x + j and returns it; prefetch_next(k) as in normalize_row. Shift K: float mean of
// x[0, 4 kW); d = x - K is exact for values within a factor 2 of K (the large-mean case);
// c = mean(d), var = mean(d^2) - c^2 with c^2 small next to var because K is the mean of 4 kW
// samples of the row.
template <class Make, class Prefetch>
inline void layernorm_fused_row(float* x, const float* gamma, const float* beta, float eps, size_t h,
                                Make&& make, Prefetch&& prefetch_next) {
  const F x0 = make(0, kW, FullBlock{});
  const F x1 = make(kW, kW, FullBlock{});
  const F x2 = make(2 * kW, kW, FullBlock{});
  const F x3 = make(3 * kW, kW, FullBlock{});
  const F vk = Vec::set1(Vec::reduce_add(Vec::add(Vec::add(x0, x1), Vec::add(x2, x3))) *
                         (1.0f / static_cast<float>(4 * kW)));
  F s0 = Vec::sub(x0, vk), s1 = Vec::sub(x1, vk), s2 = Vec::sub(x2, vk), s3 = Vec::sub(x3, vk);  // sum of d
  F q0 = Vec::mul(s0, s0), q1 = Vec::mul(s1, s1), q2 = Vec::mul(s2, s2), q3 = Vec::mul(s3, s3);  // sum of d^2
  size_t j = 4 * kW;
  for (; j + 4 * kW <= h; j += 4 * kW) {
    const F d0 = Vec::sub(make(j, kW, FullBlock{}), vk);
    const F d1 = Vec::sub(make(j + kW, kW, FullBlock{}), vk);
    const F d2 = Vec::sub(make(j + 2 * kW, kW, FullBlock{}), vk);
    const F d3 = Vec::sub(make(j + 3 * kW, kW, FullBlock{}), vk);
    s0 = Vec::add(s0, d0);
    s1 = Vec::add(s1, d1);
    s2 = Vec::add(s2, d2);
    s3 = Vec::add(s3, d3);
    q0 = Vec::fma(d0, d0, q0);
    q1 = Vec::fma(d1, d1, q1);
    q2 = Vec::fma(d2, d2, q2);
    q3 = Vec::fma(d3, d3, q3);
  }
  for (; j + kW <= h; j += kW) {
    const F d = Vec::sub(make(j, kW, FullBlock{}), vk);
    s0 = Vec::add(s0, d);
    q0 = Vec::fma(d, d, q0);
  }
  if (j < h) {
    const F d = Vec::keep(Vec::lanes(h - j), Vec::sub(make(j, h - j, TailBlock{}), vk));
    s1 = Vec::add(s1, d);
    q1 = Vec::fma(d, d, q1);
  }
  s0 = Vec::add(Vec::add(s0, s1), Vec::add(s2, s3));
  q0 = Vec::add(Vec::add(q0, q1), Vec::add(q2, q3));
  // The row's statistics stay in vector registers, in float, with 1/sqrt from the estimate and a
  // Newton step: between pass 1 and pass 2 of a row nothing else can run, and the double
  // sqrt and divide, with the moves between scalar and vector registers, were most of that wait.
  const F vinv_h = Vec::set1(1.0f / static_cast<float>(h));
  const F vcorr = Vec::mul(Vec::set1(Vec::reduce_add(s0)), vinv_h);
  const F vvar = Vec::max(Vec::fnma(vcorr, vcorr, Vec::mul(Vec::set1(Vec::reduce_add(q0)), vinv_h)), Vec::zero());
  const F vinv = Vec::rsqrt(Vec::add(vvar, Vec::set1(eps)));
  normalize_row(x, gamma, beta, h, vk, RowScale{vinv, Vec::mul(Vec::sub(Vec::zero(), vcorr), vinv)}, prefetch_next);
}

template <bool HasBias>
inline void add_bias_layernorm_rows(const float* a, const float* b, const float* bias, const float* gamma,
                                    const float* beta, float eps, size_t rows, size_t h, float* out) {
  for (size_t i = 0; i < rows; ++i) {
    const float* ar = a + i * h;
    const float* br = b + i * h;
    float* o = out + i * h;  // may alias ar or br: element j is read before it is written
    auto make = [&](size_t j, size_t n, auto tag) {
      constexpr bool t = decltype(tag)::tail;
      F s = Vec::add(ld<t>(ar + j, n), ld<t>(br + j, n));
      if constexpr (HasBias) s = Vec::add(s, ld<t>(bias + j, n));
      st<t>(o + j, s, n);
      return s;  // tail lanes past n are zero
    };
    const bool last = i + 1 == rows;
    auto prefetch_next = [&](size_t k) {
      if (last) return;
      Vec::prefetch(ar + h + k);
      Vec::prefetch(br + h + k);
    };
    if (h >= 4 * kW) layernorm_fused_row(o, gamma, beta, eps, h, make, prefetch_next);
    else layernorm_finish(o, gamma, beta, eps, h, Vec::reduce_add(sum_blocks(h, make)));
  }
}

enum class WordSource { embeds_f32, table_f32, table_f16, table_bf16 };

template <WordSource Src>
inline void embed_layernorm_rows(const EmbedLayerNormArgs& args) {
  const size_t h = args.hidden;
  auto word_row = [&](size_t i) -> const void* {
    if constexpr (Src == WordSource::embeds_f32) {
      return args.inputs_embeds + i * h;
    } else {
      const size_t id = static_cast<size_t>(args.input_ids[i]);
      if constexpr (Src == WordSource::table_f32) return static_cast<const float*>(args.word_table) + id * h;
      else return static_cast<const uint16_t*>(args.word_table) + id * h;
    }
  };
  auto pos_row = [&](size_t i) { return args.position_table + static_cast<size_t>(args.position_ids[i]) * h; };
  for (size_t i = 0; i < args.rows; ++i) {
    const void* word = word_row(i);
    const float* pos = pos_row(i);
    const float* typ = args.type_table + static_cast<size_t>(args.token_type_ids[i]) * h;
    float* o = args.out + i * h;
    auto make = [&](size_t j, size_t n, auto tag) {
      constexpr bool t = decltype(tag)::tail;
      F w;
      if constexpr (Src == WordSource::table_f16) w = ld_f16<t>(static_cast<const uint16_t*>(word) + j, n);
      else if constexpr (Src == WordSource::table_bf16) w = ld_bf16<t>(static_cast<const uint16_t*>(word) + j, n);
      else w = ld<t>(static_cast<const float*>(word) + j, n);
      const F s = Vec::add(Vec::add(w, ld<t>(pos + j, n)), ld<t>(typ + j, n));
      st<t>(o + j, s, n);
      return s;
    };
    // The next word row is a random row of the table (L3 or memory): prefetch_next(k) fetches the
    // line that holds its element k; position rows follow one another and stay with the streamer.
    const void* next = i + 1 < args.rows ? word_row(i + 1) : nullptr;
    auto prefetch_next = [&](size_t k) {
      if (!next) return;
      if constexpr (Src == WordSource::table_f16 || Src == WordSource::table_bf16) {
        if (k % (2 * kLineFloats) == 0) Vec::prefetch(static_cast<const uint16_t*>(next) + k);
      } else {
        Vec::prefetch(static_cast<const float*>(next) + k);
      }
    };
    if (h >= 4 * kW) layernorm_fused_row(o, args.gamma, args.beta, args.eps, h, make, prefetch_next);
    else layernorm_finish(o, args.gamma, args.beta, args.eps, h, Vec::reduce_add(sum_blocks(h, make)));
  }
}

}  // namespace

void add_bias_layernorm(const float* a, const float* b, const float* bias, const float* gamma, const float* beta,
                        float eps, size_t n, size_t hidden, float* out) {
  if (bias) add_bias_layernorm_rows<true>(a, b, bias, gamma, beta, eps, n, hidden, out);
  else add_bias_layernorm_rows<false>(a, b, bias, gamma, beta, eps, n, hidden, out);
}

void embed_layernorm(const EmbedLayerNormArgs& args) {
  if (args.inputs_embeds) return embed_layernorm_rows<WordSource::embeds_f32>(args);
  switch (args.word_dtype) {
    case DType::f32: return embed_layernorm_rows<WordSource::table_f32>(args);
    case DType::f16: return embed_layernorm_rows<WordSource::table_f16>(args);
    case DType::bf16: return embed_layernorm_rows<WordSource::table_bf16>(args);
  }
}

}  // namespace bertrt::kernels::BERTRT_ISA_NS
