#include "stages/head.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/gemm_packed.h"

namespace bertrt::core {
namespace {

// Columns [v0, v0 + cols) of W^T for W = table [V, X] row-major (a tied decoder's word
// embeddings), packed into panels: out[p * 16 X + k * 16 + c] = W[v0 + 16 p + c, k]; the lanes
// past cols are zeros.
template <typename T>
void pack_transposed(const T* table, size_t x, size_t v0, size_t cols, T* out) {
  const size_t panel = kernels::kPackedPanel;
  for (size_t c = 0; c < cols; ++c) {
    const T* src = table + (v0 + c) * x;
    T* dst = out + (c / panel) * panel * x + c % panel;
    for (size_t k = 0; k < x; ++k) dst[k * panel] = src[k];
  }
  const size_t padded = (cols + panel - 1) / panel * panel;
  for (size_t c = cols; c < padded; ++c) {
    T* dst = out + (c / panel) * panel * x + c % panel;
    for (size_t k = 0; k < x; ++k) dst[k * panel] = T{0};
  }
}

// One job of a tied decoder: vocabulary columns [j * kColBlock, ...) for every row block.
template <typename T>
void decode_block(const HeadWeights& h, const RowBlocks& rb, const float* x, long job, T* pack, float* logits) {
  const kernels::KernelTable& k = kernels::active();
  const size_t X = h.decoder.in, V = h.decoder.out;
  const size_t v0 = static_cast<size_t>(job) * kColBlock, cols = std::min(kColBlock, V - v0);
  pack_transposed(static_cast<const T*>(h.decoder.data), X, v0, cols, pack);
  for (size_t b = 0; b < rb.count; ++b) {
    const size_t r0 = rb.pairs[2 * b], rows = rb.pairs[2 * b + 1];
    const float* a = x + r0 * X;
    float* c = logits + r0 * V + v0;
    if constexpr (std::is_same_v<T, float>) {
      k.gemm_packed_f32(rows, cols, X, a, X, pack, h.decoder_bias + v0, c, V);
    } else if (h.decoder.dtype == kernels::DType::f16) {
      k.gemm_packed_f16(rows, cols, X, a, X, pack, h.decoder_bias + v0, c, V);
    } else {
      k.gemm_packed_bf16(rows, cols, X, a, X, pack, h.decoder_bias + v0, c, V);
    }
  }
}

// logits[rows, V] = x W^T + bias with W the word embeddings [V, X]: jobs of kColBlock vocabulary
// columns, each packing its block of W transposed into the thread's scratch.
void tied_decoder(Workspace& ws, HeadScratch& hs, const HeadWeights& h, const RowBlocks& rb, const float* x,
                  float* logits) {
  const size_t X = h.decoder.in, V = h.decoder.out;
  const long blocks = static_cast<long>((V + kColBlock - 1) / kColBlock);
  const double flops = 2.0 * static_cast<double>(rb.rows) * static_cast<double>(X * V);
  const int threads = static_cast<int>(std::min<long>(ws.parallel.threads_for(flops), blocks));
  const size_t slice = kernels::packed_elems(X, kColBlock);
  const bool f32 = h.decoder.dtype == kernels::DType::f32;
  float* pack = f32 ? grow(hs.pack, static_cast<size_t>(threads) * slice) : nullptr;
  uint16_t* pack16 = f32 ? nullptr : grow(hs.pack16, static_cast<size_t>(threads) * slice);
  PhaseSync* sync = ws.parallel.counters(1, threads);
  auto body = [&](int tid) {
    PhaseWalker walk(sync, threads, tid);
    const size_t off = static_cast<size_t>(tid) * slice;
    walk.phase(blocks, [&](long j) {
      if (f32) decode_block(h, rb, x, j, pack + off, logits);
      else decode_block(h, rb, x, j, pack16 + off, logits);
    });
    walk.finish();
    ws.parallel.jobs_by_thread[static_cast<size_t>(tid)] = walk.jobs_run();
  };
  ws.parallel.run(threads, body);
  if (!rb.spans) return;
  const size_t T = rb.seq_len;
  for (size_t b = 0; b < rb.batch; ++b)
    if (rb.spans[b].end < T)
      std::memset(logits + (b * T + rb.spans[b].end) * V, 0, (T - rb.spans[b].end) * V * sizeof(float));
}

// Calls fn(first row, rows) for each row block.
template <typename Fn>
void for_rows(const RowBlocks& rb, Fn&& fn) {
  for (size_t b = 0; b < rb.count; ++b) fn(rb.pairs[2 * b], rb.pairs[2 * b + 1]);
}

}  // namespace

void head(const Model& model, Workspace& ws, HeadScratch& hs, const float* x, size_t n, const RowBlocks* rows,
          float* logits) {
  const HeadWeights& h = model.head();
  const RowBlocks rb = rows ? *rows : row_blocks(ws, 1, n, nullptr);
  const float* in = x;
  if (h.dense.data) {
    const size_t X = h.dense.out;
    float* inner = grow(hs.inner, n * X);
    linear(ws, x, n, h.dense, h.dense_bias, h.dense_act, inner, &rb);
    if (h.dense_tanh)
      for_rows(rb, [&](size_t r0, size_t count) {
        for (size_t i = r0 * X; i < (r0 + count) * X; ++i) inner[i] = std::tanh(inner[i]);
      });
    if (h.kind == HeadKind::masked_lm) {
      // LayerNorm(inner + 0): the kernel adds a second input, here a row of zeros.
      if (hs.zeros.size() < X) hs.zeros.assign(X, 0.0f);
      const float* zeros = hs.zeros.data();
      const kernels::KernelTable& k = kernels::active();
      for_rows(rb, [&](size_t r0, size_t count) {
        for (size_t r = r0; r < r0 + count; ++r)
          k.add_bias_layernorm(inner + r * X, zeros, nullptr, h.ln_gamma, h.ln_beta, h.ln_eps, 1, X, inner + r * X);
      });
    }
    in = inner;
  }
  if (h.kind == HeadKind::masked_lm && h.tied) tied_decoder(ws, hs, h, rb, in, logits);
  else if (h.kind == HeadKind::masked_lm) linear(ws, in, n, h.decoder, h.decoder_bias, kernels::Activation::none, logits, &rb);
  else linear(ws, in, n, h.out, h.out_bias, kernels::Activation::none, logits, &rb);
}

}  // namespace bertrt::core
