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

namespace {

// Appends the computed (up to the sequence's last valid token) and padded parts of flat rows
// [r0, r1) to the callbacks, sequence by sequence.
template <typename Computed, typename Padded>
void row_segments(size_t r0, size_t r1, size_t seq_len, const KeySpan* spans, Computed&& computed, Padded&& padded) {
  for (size_t r = r0; r < r1;) {
    const size_t b = r / seq_len, seq0 = b * seq_len, end = std::min(r1, seq0 + seq_len);
    const size_t valid_end = std::max(r, std::min(end, seq0 + spans[b].end));
    if (valid_end > r) computed(r, valid_end - r);
    if (end > valid_end) padded(valid_end, end - valid_end);
    r = end;
  }
}

// The column-split packed linear of linear_packed as an orphaned `omp for` (inside encode_packed's
// region every thread calls it; outside one, the caller runs every job). blocks: the (first row,
// rows) pairs of the computed rows; skipped rows (zeros) form one extra job.
void linear_cols(const float* x, const WeightMatrix& w, const float* bias, kernels::Activation act, float* y,
                 const size_t* blocks, size_t nblocks, size_t seq_len, size_t batch, const KeySpan* spans) {
  constexpr size_t kCols = 64;
  const kernels::KernelTable& k = kernels::active();
  const kernels::PackedGemmFn gemm = kernels::packed_gemm();
  const size_t n = w.out, kk = w.in;
  const auto* bp = static_cast<const float*>(w.data);
  const long col_blocks = static_cast<long>((n + kCols - 1) / kCols), row_blocks = static_cast<long>(nblocks);
  const long jobs = col_blocks * row_blocks;
#ifdef BERTRT_HAVE_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
  for (long job = 0; job <= jobs; ++job) {
    if (job == jobs) {
      for (size_t b = 0; b < batch; ++b)
        if (spans[b].end < seq_len)
          std::memset(y + (b * seq_len + spans[b].end) * n, 0, (seq_len - spans[b].end) * n * sizeof(float));
      continue;
    }
    const size_t cb = static_cast<size_t>(job / row_blocks), rb = static_cast<size_t>(job % row_blocks);
    const size_t c0 = cb * kCols, r0 = blocks[2 * rb], rows = blocks[2 * rb + 1];
    const size_t cols = std::min(kCols, n - c0);
    float* yb = y + r0 * n + c0;
    gemm(rows, cols, kk, x + r0 * kk, kk, bp + c0 * kk, bias ? bias + c0 : nullptr, yb, n);
    if (act != kernels::Activation::none) k.bias_activation(yb, rows, cols, n, nullptr, act);
  }
}

// All output columns of rows [r0, r0 + rows): the same calls (64-column blocks, activation per
// block) as linear_cols makes for them, so the same bits.
void linear_rows(const float* x, const WeightMatrix& w, const float* bias, kernels::Activation act, float* y,
                 size_t r0, size_t rows) {
  constexpr size_t kCols = 64;
  const kernels::KernelTable& k = kernels::active();
  const kernels::PackedGemmFn gemm = kernels::packed_gemm();
  const size_t n = w.out, kk = w.in;
  const auto* bp = static_cast<const float*>(w.data);
  if (act == kernels::Activation::none) {
    gemm(rows, n, kk, x + r0 * kk, kk, bp, bias, y + r0 * n, n);
    return;
  }
  for (size_t c0 = 0; c0 < n; c0 += kCols) {
    const size_t cols = std::min(kCols, n - c0);
    float* yb = y + r0 * n + c0;
    gemm(rows, cols, kk, x + r0 * kk, kk, bp + c0 * kk, bias ? bias + c0 : nullptr, yb, n);
    k.bias_activation(yb, rows, cols, n, nullptr, act);
  }
}

// LayerNorm of rows as an orphaned `omp for` over 16-row chunks.
void layernorm_rows(const float* a, const float* b, const float* bias, const float* gamma, const float* beta, float eps,
                    size_t n, size_t h, float* out) {
  const kernels::KernelTable& k = kernels::active();
  const long chunks = static_cast<long>((n + 15) / 16);
#ifdef BERTRT_HAVE_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
  for (long c = 0; c < chunks; ++c) {
    const size_t r0 = static_cast<size_t>(c) * 16, rows = std::min<size_t>(16, n - r0);
    k.add_bias_layernorm(a + r0 * h, b + r0 * h, bias, gamma, beta, eps, rows, h, out + r0 * h);
  }
}

}  // namespace

bool encoder_packed(const Model& model) {
  auto ok = [](const WeightMatrix& w) { return w.packed && w.dtype == kernels::DType::f32; };
  for (const LayerWeights& l : model.layers())
    if (!ok(l.qkv) || !ok(l.attn_out) || !ok(l.ffn_up) || !ok(l.ffn_down)) return false;
  return true;
}

// One parallel region for the whole encoder. Per layer, two shapes of work:
// * chained (one thread, or at least 64 rows per thread): after attention, each row block goes
//   through attention output, LayerNorm, FFN up, FFN down, LayerNorm and the next layer's QKV on
//   one thread with no barrier in between (every step needs only its own rows); the barriers per
//   layer are the ends of attention and of the chain.
// * column-split (fewer rows: too few row blocks to share): every linear layer split by columns
//   as linear() does, LayerNorm by rows; a barrier after each step.
// Every output element is computed by the same kernel calls with the same k order in both, so
// the result is the same for any thread count.
void encode_packed(const Model& model, Workspace& ws, const float* x, size_t batch, size_t seq_len,
                   const uint8_t* key_valid, const KeySpan* spans, float* const* layer_out, float* attentions) {
  const ModelConfig& c = model.config();
  const size_t n = batch * seq_len, h = c.hidden_size, inter = c.intermediate_size, layers = c.num_layers;
  const size_t T = seq_len;
  if (layers == 0) return;
  // Threads by work: at least ~4 MFLOP per thread and layer.
  double computed = 0.0, attn = 0.0;
  for (size_t b = 0; b < batch; ++b) {
    computed += static_cast<double>(spans[b].end);
    attn += 4.0 * static_cast<double>(spans[b].end) * static_cast<double>(spans[b].end - spans[b].begin) * h;
  }
  const double layer_flops = 2.0 * computed * static_cast<double>(4 * h * h + 2 * h * inter) + attn;
  const int threads = static_cast<int>(std::max<long>(
      1, std::min<long>(thread_count(ws), 1 + static_cast<long>(layer_flops / 4e6))));
  const bool chained = threads == 1 || n >= 64 * static_cast<size_t>(threads);

  float* qkv = grow(ws.qkv, n * 3 * h);
  float* context = grow(ws.context, n * h);
  float* projected = grow(ws.projected, n * h);
  float* attn_norm = grow(ws.attn_norm, n * h);
  float* ffn = grow(ws.ffn, n * inter);
  const AttentionPlan plan = attention_plan(c, ws, batch, seq_len, threads);
  // Column-split row blocks (as linear_packed): computed rows of each sequence in 96-row steps.
  constexpr size_t kRows = 96;
  size_t* blocks = grow(ws.row_blocks, 2 * batch * ((T + kRows - 1) / kRows));
  size_t nblocks = 0;
  for (size_t b = 0; b < batch; ++b)
    for (size_t r0 = 0; r0 < spans[b].end; r0 += kRows) {
      blocks[2 * nblocks] = b * T + r0;
      blocks[2 * nblocks + 1] = std::min(kRows, spans[b].end - r0);
      ++nblocks;
    }
  // Chain row blocks over all rows: up to 96 rows, two per thread when blocks keep >= 48 rows.
  const size_t nchain = std::max<size_t>(
      {(n + kRows - 1) / kRows, std::min<size_t>(2 * static_cast<size_t>(threads), n / 48), 1});
  const size_t chain_rows = (n + nchain - 1) / nchain;
  const long jobs_attn = static_cast<long>(batch * c.num_heads);
  const long jobs_chain = static_cast<long>((n + chain_rows - 1) / chain_rows);
  const std::vector<LayerWeights>& lw = model.layers();
  const float eps = c.layer_norm_eps;

#ifdef BERTRT_HAVE_OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
  {
    int tid = 0;
#ifdef BERTRT_HAVE_OPENMP
    tid = omp_get_thread_num();
#endif
    linear_cols(x, lw[0].qkv, lw[0].qkv_bias, kernels::Activation::none, qkv, blocks, nblocks, T, batch, spans);
    const float* in = x;
    for (size_t l = 0; l < layers; ++l) {
      const LayerWeights& w = lw[l];
      float* out = layer_out[l];
      float* attn_l = attentions ? attentions + l * batch * c.num_heads * T * T : nullptr;
#ifdef BERTRT_HAVE_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
      for (long job = 0; job < jobs_attn; ++job)
        attention_job(c, plan, tid, static_cast<size_t>(job), qkv, T, key_valid, spans, context, attn_l);

      if (chained) {
        const LayerWeights* next = l + 1 < layers ? &lw[l + 1] : nullptr;
#ifdef BERTRT_HAVE_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (long job = 0; job < jobs_chain; ++job) {
          const size_t r0 = static_cast<size_t>(job) * chain_rows, r1 = std::min(n, r0 + chain_rows);
          auto zero = [&](float* y, size_t width) {
            return [=](size_t a, size_t rows) { std::memset(y + a * width, 0, rows * width * sizeof(float)); };
          };
          row_segments(r0, r1, T, spans,
                       [&](size_t a, size_t rows) {
                         linear_rows(context, w.attn_out, nullptr, kernels::Activation::none, projected, a, rows);
                       },
                       zero(projected, h));
          kernels::active().add_bias_layernorm(projected + r0 * h, in + r0 * h, w.attn_out_bias, w.attn_ln_gamma,
                                               w.attn_ln_beta, eps, r1 - r0, h, attn_norm + r0 * h);
          row_segments(r0, r1, T, spans,
                       [&](size_t a, size_t rows) {
                         linear_rows(attn_norm, w.ffn_up, w.ffn_up_bias, c.hidden_act, ffn, a, rows);
                         linear_rows(ffn, w.ffn_down, nullptr, kernels::Activation::none, projected, a, rows);
                       },
                       zero(projected, h));
          kernels::active().add_bias_layernorm(projected + r0 * h, attn_norm + r0 * h, w.ffn_down_bias,
                                               w.out_ln_gamma, w.out_ln_beta, eps, r1 - r0, h, out + r0 * h);
          if (next)
            row_segments(r0, r1, T, spans,
                         [&](size_t a, size_t rows) {
                           linear_rows(out, next->qkv, next->qkv_bias, kernels::Activation::none, qkv, a, rows);
                         },
                         zero(qkv, 3 * h));
        }
      } else {
        linear_cols(context, w.attn_out, nullptr, kernels::Activation::none, projected, blocks, nblocks, T, batch,
                    spans);
        layernorm_rows(projected, in, w.attn_out_bias, w.attn_ln_gamma, w.attn_ln_beta, eps, n, h, attn_norm);
        linear_cols(attn_norm, w.ffn_up, w.ffn_up_bias, c.hidden_act, ffn, blocks, nblocks, T, batch, spans);
        linear_cols(ffn, w.ffn_down, nullptr, kernels::Activation::none, projected, blocks, nblocks, T, batch, spans);
        layernorm_rows(projected, attn_norm, w.ffn_down_bias, w.out_ln_gamma, w.out_ln_beta, eps, n, h, out);
        if (l + 1 < layers)
          linear_cols(out, lw[l + 1].qkv, lw[l + 1].qkv_bias, kernels::Activation::none, qkv, blocks, nblocks, T,
                      batch, spans);
      }
      in = out;
    }
  }
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
