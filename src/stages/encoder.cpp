#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "format/model_file.h"
#include "kernels/gemm_packed.h"
#include "stages/stages.h"

#ifdef BERTRT_HAVE_OPENMP
#include <omp.h>
#endif
#ifdef BERTRT_HAVE_BLAS
#include <cblas.h>
#endif

namespace bertrt::core {

static_assert(kernels::kPackedPanel == format::kPanelWidth, "model file panel width must match the kernels");

int thread_count(const Workspace& ws) {
#ifdef BERTRT_HAVE_OPENMP
  return ws.threads > 0 ? ws.threads : omp_get_max_threads();
#else
  (void)ws;
  return 1;
#endif
}

namespace {

// y[m, N] = act(x[m, K] W + bias) on a packed W. Work is split into blocks of up to kRows rows x
// kCols columns (panel-aligned), column-block major so that one thread walks one weight slice;
// bias is added in the micro-kernel's epilogue and the activation applied to each block while it
// is in cache. Each output element is computed by one call in a fixed k order: the result does not
// depend on the thread count.
void linear_packed(Workspace& ws, const float* x, size_t m, const WeightMatrix& w, const float* bias,
                   kernels::Activation act, float* y, const RowSet* rowset) {
  constexpr size_t kCols = 64, kRows = 96;
  const kernels::KernelTable& k = kernels::active();
  const kernels::PackedGemmFn gemm = kernels::packed_gemm();
  const size_t n = w.out, kk = w.in;
  const auto* bp = static_cast<const float*>(w.data);
  const long col_blocks = static_cast<long>((n + kCols - 1) / kCols);
  // Row blocks: [0, m) in kRows steps, or per sequence up to its last valid token.
  size_t* blocks = nullptr;
  size_t nblocks = 0, computed_rows = 0;
  if (rowset) {
    const size_t T = rowset->seq_len;
    blocks = grow(ws.row_blocks, 2 * rowset->batch * ((T + kRows - 1) / kRows));
    for (size_t b = 0; b < rowset->batch; ++b)
      for (size_t r0 = 0; r0 < rowset->spans[b].end; r0 += kRows) {
        blocks[2 * nblocks] = b * T + r0;
        blocks[2 * nblocks + 1] = std::min(kRows, rowset->spans[b].end - r0);
        computed_rows += blocks[2 * nblocks + 1];
        ++nblocks;
      }
    // Skipped rows get zeros, so that every output stays finite and independent of earlier calls.
    for (size_t b = 0; b < rowset->batch; ++b)
      if (rowset->spans[b].end < T)
        std::memset(y + (b * T + rowset->spans[b].end) * n, 0, (T - rowset->spans[b].end) * n * sizeof(float));
  } else {
    blocks = grow(ws.row_blocks, 2 * ((m + kRows - 1) / kRows));
    for (size_t r0 = 0; r0 < m; r0 += kRows) {
      blocks[2 * nblocks] = r0;
      blocks[2 * nblocks + 1] = std::min(kRows, m - r0);
      ++nblocks;
    }
    computed_rows = m;
  }
  if (nblocks == 0) return;
  const long row_blocks = static_cast<long>(nblocks);
  const long jobs = col_blocks * row_blocks;
  // At least ~2 MFLOP per thread: below that a fork/join costs more than it saves.
  const long by_work = 1 + static_cast<long>(2.0 * static_cast<double>(computed_rows) * n * kk / 2e6);
  const int threads = static_cast<int>(std::min<long>({thread_count(ws), jobs, by_work}));
  auto run = [&](long job) {
    const size_t cb = static_cast<size_t>(job / row_blocks), rb = static_cast<size_t>(job % row_blocks);
    const size_t c0 = cb * kCols, r0 = blocks[2 * rb], rows = blocks[2 * rb + 1];
    const size_t cols = std::min(kCols, n - c0);
    float* yb = y + r0 * n + c0;
    gemm(rows, cols, kk, x + r0 * kk, kk, bp + c0 * kk, bias ? bias + c0 : nullptr, yb, n);
    if (act != kernels::Activation::none) k.bias_activation(yb, rows, cols, n, nullptr, act);
  };
#ifdef BERTRT_HAVE_OPENMP
  if (threads > 1) {
    // Dynamic: when a thread is descheduled (a busy machine), the others take its blocks. Which
    // thread computes a block does not change its bits.
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (long job = 0; job < jobs; ++job) run(job);
    return;
  }
#endif
  for (long job = 0; job < jobs; ++job) run(job);
}

}  // namespace

void linear(Workspace& ws, const float* x, size_t m, const WeightMatrix& w, const float* bias,
            kernels::Activation act, float* y, const RowSet* rows) {
  if (w.packed) {
    linear_packed(ws, x, m, w, bias, act, y, rows);
    return;
  }
  const kernels::KernelTable& k = kernels::active();
#ifdef BERTRT_HAVE_BLAS
  openblas_set_num_threads(thread_count(ws));  // the session's count, never OpenBLAS's own default
#endif
  const float* weights = static_cast<const float*>(w.data);
  if (w.dtype != kernels::DType::f32) {
    float* wide = grow(ws.weights, w.in * w.out);
    const auto* src = static_cast<const uint16_t*>(w.data);
    if (w.dtype == kernels::DType::f16)
      k.f16_to_f32(src, w.in * w.out, wide);
    else
      k.bf16_to_f32(src, w.in * w.out, wide);
    weights = wide;
  }
  kernels::sgemm(false, false, m, w.out, w.in, 1.0f, x, w.in, weights, w.out, 0.0f, y, w.out);
  if (bias || act != kernels::Activation::none) k.bias_activation(y, m, w.out, w.out, bias, act);
}

void encoder_layer(const Model& model, size_t layer, Workspace& ws, const float* x, size_t batch, size_t seq_len,
                   const uint8_t* key_valid, const KeySpan* spans, float* out, float* attentions) {
  const ModelConfig& c = model.config();
  const LayerWeights& l = model.layers()[layer];
  const kernels::KernelTable& k = kernels::active();
  const size_t n = batch * seq_len, h = c.hidden_size;

  // Rows after a sequence's last valid token are padding: no GEMM work for them (linear() writes
  // zeros there; LayerNorm still runs over every row, so their outputs are finite and deterministic).
  const RowSet rows{batch, seq_len, spans};
  float* qkv = grow(ws.qkv, n * 3 * h);
  linear(ws, x, n, l.qkv, l.qkv_bias, kernels::Activation::none, qkv, &rows);

  float* context = grow(ws.context, n * h);
  attention(c, ws, qkv, batch, seq_len, key_valid, spans, context, attentions);

  // attn_norm = LayerNorm(context W_o + b_o + x)
  float* projected = grow(ws.projected, n * h);
  linear(ws, context, n, l.attn_out, nullptr, kernels::Activation::none, projected, &rows);
  float* attn_norm = grow(ws.attn_norm, n * h);
  k.add_bias_layernorm(projected, x, l.attn_out_bias, l.attn_ln_gamma, l.attn_ln_beta, c.layer_norm_eps, n, h,
                       attn_norm);

  // out = LayerNorm(act(attn_norm W_i + b_i) W_d + b_d + attn_norm)
  float* ffn = grow(ws.ffn, n * c.intermediate_size);
  linear(ws, attn_norm, n, l.ffn_up, l.ffn_up_bias, c.hidden_act, ffn, &rows);
  linear(ws, ffn, n, l.ffn_down, nullptr, kernels::Activation::none, projected, &rows);
  k.add_bias_layernorm(projected, attn_norm, l.ffn_down_bias, l.out_ln_gamma, l.out_ln_beta, c.layer_norm_eps, n, h,
                       out);
}

}  // namespace bertrt::core
