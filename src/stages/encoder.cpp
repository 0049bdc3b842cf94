// The encoder layers, once, for every weight dtype: one run on the session's team per call, with
// no barrier inside it. Per layer seven phases (attention per (batch, head), attention output,
// LayerNorm, FFN up, FFN down, LayerNorm, next layer's QKV), each a list of jobs claimed through
// PhaseWalker's counters (threads/phases.h). Linear layers are cut as stages/linear.h cuts them
// (64-column blocks x 96-row blocks of the computed rows), LayerNorm in 16-row chunks, attention
// per (sequence, head). Every output element comes from the same kernel call with the same k order
// whatever thread runs it, so the result is the same for any thread count.
//
// int8 matrices read their input rows quantized (stages/quantized.h) into one workspace buffer:
// the LayerNorm jobs quantize the rows they write when the next matrix (FFN up, the next QKV) is
// int8; the layer input of the first QKV, the attention context and the FFN activations get a
// quantize phase of their own (one job per 4-row chunk), since no single job writes whole rows.
// panel_bf16x2 matrices read their input rows converted to bf16 (stages/linear.h, Bf16Rows) at
// the same places, into a buffer of their own.
#include <algorithm>

#include "format/model_file.h"
#include "kernels/gemm_packed.h"
#include "stages/stages.h"

namespace bertrt::core {

static_assert(kernels::kPackedPanel == format::kPanelWidth, "model file panel width must match the kernels");

namespace {

constexpr size_t kLayerNormRows = 16;
// Rows per job of a conversion phase (int8 quantization, bf16 rounding of the layer input, the
// attention context and the FFN activations): small enough that a 32-row input splits across
// threads (a whole 96-row block per job left one thread converting while the others waited).
constexpr size_t kConvertRows = 4;

// FLOPs of one layer over the rows that are computed (up to each sequence's last valid token).
double layer_flops(const ModelConfig& c, const Sequences& seqs) {
  const size_t h = c.hidden_size, inter = c.intermediate_size;
  double computed = 0.0, attn = 0.0;
  for (size_t b = 0; b < seqs.batch; ++b) {
    const KeySpan s = seqs.span(b);
    computed += static_cast<double>(s.end);
    attn += 4.0 * static_cast<double>(s.end) * static_cast<double>(s.end - s.begin) * h;
  }
  return 2.0 * computed * static_cast<double>(4 * h * h + 2 * h * inter) + attn;
}

// One call's encoder: buffers, the row blocks and the attention plan, shared by the threads of
// the run; walk(tid) is what each thread runs.
class EncoderRun {
 public:
  EncoderRun(const Model& model, Workspace& ws, int threads, const float* x, const Sequences& seqs,
             float* const* layer_out, float* attentions)
      : model_(model), c_(model.config()), ws_(ws), threads_(threads), x_(x), seqs_(seqs), n_(seqs.rows()),
        layer_out_(layer_out), attentions_(attentions) {
    const size_t h = c_.hidden_size;
    qkv_ = grow(ws.qkv, n_ * 3 * h);
    context_ = grow(ws.context, n_ * h);
    projected_ = grow(ws.projected, n_ * h);
    attn_norm_ = grow(ws.attn_norm, n_ * h);
    ffn_ = grow(ws.ffn, n_ * c_.intermediate_size);
    plan_ = attention_plan(c_, ws, seqs.batch, seqs.seq_len, threads);
    // Padded: each sequence's rows up to its last valid token; packed: every row, in blocks that
    // run across sequence boundaries.
    rows_ = seqs.packed() ? row_blocks(ws, 1, n_, nullptr) : row_blocks(ws, seqs.batch, seqs.seq_len, seqs.spans);
    chunks_ = seqs.packed() ? row_blocks_in(ws.row_chunks, 1, n_, nullptr, kConvertRows)
                            : row_blocks_in(ws.row_chunks, seqs.batch, seqs.seq_len, seqs.spans, kConvertRows);
    const bool int8 = any_int8();
    if (int8) xq_buffer_ = quantized_rows(ws, n_, std::max(h, c_.intermediate_size));
    const bool bf16 = any_bf16x2();
    if (bf16) xb_buffer_ = bf16_rows(ws, n_, std::max(h, c_.intermediate_size));
    // Phases: the first QKV, then seven per layer; int8 at most one quantize phase before the
    // first QKV and two per layer more.
    sync_ = ws.parallel.counters(1 + c_.num_layers * 7 + (int8 || bf16 ? 1 + c_.num_layers * 2 : 0), threads);
  }

  void walk(int tid) {
    PhaseWalker walk(sync_, threads_, tid);
    const std::vector<LayerWeights>& lw = model_.layers();
    if (lw[0].qkv.converts_input()) quantize(walk, x_, c_.hidden_size);
    linear(walk, x_, lw[0].qkv, lw[0].qkv_bias, kernels::Activation::none, qkv_);
    const float* in = x_;
    for (size_t l = 0; l < c_.num_layers; ++l) {
      layer(walk, tid, l, in);
      in = layer_out_[l];
    }
    walk.finish();
    ws_.parallel.jobs_by_thread[static_cast<size_t>(tid)] = walk.jobs_run();
  }

 private:
  bool any_int8() const {
    for (const LayerWeights& w : model_.layers())
      if (w.qkv.int8 || w.attn_out.int8 || w.ffn_up.int8 || w.ffn_down.int8) return true;
    return false;
  }
  bool any_bf16x2() const {
    for (const LayerWeights& w : model_.layers())
      if (w.qkv.bf16x2 || w.attn_out.bf16x2 || w.ffn_up.bf16x2 || w.ffn_down.bf16x2) return true;
    return false;
  }
  Bf16Rows xb(size_t k) const { return bf16_rows_view(xb_buffer_, k); }
  // Rows [r0, r0 + rows) of src [N, k] into the buffers the matrices read (int8, bf16 or both).
  void convert(const float* src, size_t r0, size_t rows, size_t k) const {
    if (xq_buffer_.q) quantize_rows(src, r0, rows, xq(k));
    if (xb_buffer_.a) convert_rows_bf16(src, r0, rows, xb(k));
  }

  // The buffer for rows of k columns.
  QuantizedRows xq(size_t k) const { return QuantizedRows{xq_buffer_.q, xq_buffer_.scale, xq_buffer_.zero, k}; }

  // xq(k) (and xb(k)) = the computed rows of src [N, k], one job per chunk of kConvertRows rows.
  void quantize(PhaseWalker& walk, const float* src, size_t k) {
    walk.phase(static_cast<long>(chunks_.count),
               [&](long j) { convert(src, chunks_.pairs[2 * j], chunks_.pairs[2 * j + 1], k); });
  }

  void linear(PhaseWalker& walk, const float* src, const WeightMatrix& w, const float* bias, kernels::Activation act,
              float* y) {
    const LinearJobs jobs(rows_, threads_, src, w, bias, act, y, xq(w.in), xb(w.in));
    walk.phase(jobs.jobs(), [&](int q) { return jobs.share_begin(q); },
               [&](long j, int q, long i) { jobs.run(j, q, i); });
  }

  // y = LayerNorm(a + b + bias) * gamma + beta, in 16-row chunks; each chunk also quantized into
  // xq(H) (or converted into xb(H)) when quantize_y is set (the next matrix is int8 or bf16x2).
  void layernorm(PhaseWalker& walk, const float* a, const float* b, const float* bias, const float* gamma,
                 const float* beta, float* y, bool quantize_y) {
    const size_t h = c_.hidden_size;
    const long jobs = static_cast<long>((n_ + kLayerNormRows - 1) / kLayerNormRows);
    walk.phase(jobs, [&](long j) {
      const size_t r0 = static_cast<size_t>(j) * kLayerNormRows, rows = std::min(kLayerNormRows, n_ - r0);
      kernels::active().add_bias_layernorm(a + r0 * h, b + r0 * h, bias, gamma, beta, c_.layer_norm_eps, rows, h,
                                           y + r0 * h);
      if (quantize_y) convert(y, r0, rows, h);
    });
  }

  // Layer l: in -> layer_out[l]; ends with the next layer's QKV.
  void layer(PhaseWalker& walk, int tid, size_t l, const float* in) {
    const LayerWeights& w = model_.layers()[l];
    float* out = layer_out_[l];
    const size_t B = seqs_.batch, T = seqs_.seq_len;
    float* attn_l = attentions_ ? attentions_ + l * B * c_.num_heads * T * T : nullptr;
    walk.phase(static_cast<long>(B * c_.num_heads), [&](long job) {
      attention_job(c_, plan_, tid, static_cast<size_t>(job), qkv_, seqs_, context_, attn_l);
    });
    const LayerWeights* next = l + 1 < c_.num_layers ? &model_.layers()[l + 1] : nullptr;
    // attn_norm = LayerNorm(context W_o + b_o + in)
    if (w.attn_out.converts_input()) quantize(walk, context_, c_.hidden_size);
    linear(walk, context_, w.attn_out, nullptr, kernels::Activation::none, projected_);
    layernorm(walk, projected_, in, w.attn_out_bias, w.attn_ln_gamma, w.attn_ln_beta, attn_norm_,
              w.ffn_up.converts_input());
    // out = LayerNorm(act(attn_norm W_i + b_i) W_d + b_d + attn_norm)
    linear(walk, attn_norm_, w.ffn_up, w.ffn_up_bias, c_.hidden_act, ffn_);
    if (w.ffn_down.converts_input()) quantize(walk, ffn_, c_.intermediate_size);
    linear(walk, ffn_, w.ffn_down, nullptr, kernels::Activation::none, projected_);
    layernorm(walk, projected_, attn_norm_, w.ffn_down_bias, w.out_ln_gamma, w.out_ln_beta, out,
              next && next->qkv.converts_input());
    if (next) linear(walk, out, next->qkv, next->qkv_bias, kernels::Activation::none, qkv_);
  }

  const Model& model_;
  const ModelConfig& c_;
  Workspace& ws_;
  int threads_;
  const float* x_;
  Sequences seqs_;
  size_t n_;
  float* const* layer_out_;
  float* attentions_;
  float *qkv_ = nullptr, *context_ = nullptr, *projected_ = nullptr, *attn_norm_ = nullptr, *ffn_ = nullptr;
  AttentionPlan plan_;
  RowBlocks rows_, chunks_;
  QuantizedRows xq_buffer_;
  Bf16Rows xb_buffer_;
  PhaseSync* sync_ = nullptr;
};

}  // namespace

void encode(const Model& model, Workspace& ws, const float* x, const Sequences& seqs, float* const* layer_out,
            float* attentions) {
  if (model.config().num_layers == 0) return;
  const int threads = ws.parallel.threads_for(layer_flops(model.config(), seqs));
  EncoderRun run(model, ws, threads, x, seqs, layer_out, attentions);
  ws.parallel.run(threads, [&](int tid) { run.walk(tid); });
}

}  // namespace bertrt::core
