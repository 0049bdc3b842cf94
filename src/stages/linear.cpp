#include "stages/linear.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_packed.h"
#include "stages/stages.h"

namespace bertrt::core {
namespace {

// C[rows, cols] = A W[:, c0 : c0 + cols] + bias on the packed panels of w, widening f16 / bf16
// panels inside the micro-kernel.
void gemm_block(const WeightMatrix& w, size_t rows, size_t c0, size_t cols, const float* a, const float* bias,
                float* c, size_t ldc) {
  const kernels::KernelTable& k = kernels::active();
  const size_t kk = w.in;
  const float* b = bias ? bias + c0 : nullptr;
  switch (w.dtype) {
    case kernels::DType::f32:
      k.gemm_packed_f32(rows, cols, kk, a, kk, static_cast<const float*>(w.data) + c0 * kk, b, c, ldc);
      break;
    case kernels::DType::f16:
      k.gemm_packed_f16(rows, cols, kk, a, kk, static_cast<const uint16_t*>(w.data) + c0 * kk, b, c, ldc);
      break;
    case kernels::DType::bf16:
      k.gemm_packed_bf16(rows, cols, kk, a, kk, static_cast<const uint16_t*>(w.data) + c0 * kk, b, c, ldc);
      break;
  }
}

// The same for a panel_bf16x2 matrix on rows [r0, r0 + rows) of a (converted with k = w.in).
void gemm_block_bf16x2(const WeightMatrix& w, const Bf16Rows& a, size_t r0, size_t rows, size_t c0, size_t cols,
                       const float* bias, float* c, size_t ldc) {
  const auto* panels = static_cast<const uint16_t*>(w.data) + c0 * kernels::bf16_k2(w.in);  // c0 / 16 panels
  kernels::active().gemm_packed_bf16x2(rows, cols, w.in, a.a + r0 * a.ld, a.ld, panels, bias ? bias + c0 : nullptr, c,
                                       ldc);
}

}  // namespace

Bf16Rows bf16_rows(Workspace& ws, size_t n, size_t k) {
  const size_t ld = kernels::bf16_k2(k);
  return Bf16Rows{grow(ws.xbf16, n * ld), k, ld};
}

void convert_rows_bf16(const float* x, size_t r0, size_t rows, const Bf16Rows& br) {
  if (rows == 0) return;
  kernels::active().convert_rows_bf16(rows, br.k, x + r0 * br.k, br.k, br.a + r0 * br.ld, br.ld);
}

RowBlocks row_blocks(Workspace& ws, size_t batch, size_t seq_len, const KeySpan* spans) {
  return row_blocks_in(ws.row_blocks, batch, seq_len, spans, kRowBlock);
}

RowBlocks row_blocks_in(std::vector<size_t>& store, size_t batch, size_t seq_len, const KeySpan* spans,
                        size_t block) {
  RowBlocks rb;
  rb.batch = batch;
  rb.seq_len = seq_len;
  rb.spans = spans;
  const size_t T = seq_len, per_seq = (T + block - 1) / block;
  size_t* pairs = grow(store, 2 * (spans ? batch * per_seq : (batch * T + block - 1) / block));
  auto add = [&](size_t r0, size_t rows) {
    pairs[2 * rb.count] = r0;
    pairs[2 * rb.count + 1] = rows;
    rb.rows += rows;
    ++rb.count;
  };
  if (spans) {
    for (size_t b = 0; b < batch; ++b)
      for (size_t r0 = 0; r0 < spans[b].end; r0 += block) add(b * T + r0, std::min(block, spans[b].end - r0));
  } else {
    for (size_t r0 = 0; r0 < batch * T; r0 += block) add(r0, std::min(block, batch * T - r0));
  }
  rb.pairs = pairs;
  return rb;
}

LinearJobs::LinearJobs(const RowBlocks& rb, int parts, const float* x, const WeightMatrix& w, const float* bias,
                       kernels::Activation act, float* y, const QuantizedRows& xq, const Bf16Rows& xb)
    : rb_(rb), parts_(parts), x_(x), w_(w), bias_(bias), act_(act), y_(y), xq_(xq), xb_(xb),
      col_blocks_(static_cast<long>((w.out + kColBlock - 1) / kColBlock)) {}

long LinearJobs::share_begin(int q) const {
  if (q == parts_) return jobs();
  if (split_columns()) return static_cast<long>(rb_.count) * (col_blocks_ * q / parts_);
  return col_blocks_ * static_cast<long>(rows_begin(q));
}

double LinearJobs::flops() const { return 2.0 * static_cast<double>(rb_.rows) * static_cast<double>(w_.in * w_.out); }

void LinearJobs::zero_skipped_rows() const {
  if (!rb_.spans) return;
  const size_t T = rb_.seq_len, n = w_.out;
  for (size_t b = 0; b < rb_.batch; ++b)
    if (rb_.spans[b].end < T)
      std::memset(y_ + (b * T + rb_.spans[b].end) * n, 0, (T - rb_.spans[b].end) * n * sizeof(float));
}

void LinearJobs::run(long job, int q, long local) const {
  if (job == jobs() - 1) {
    zero_skipped_rows();
    return;
  }
  const size_t n = w_.out;
  size_t cb = 0, rb = 0;
  if (split_columns()) {  // jobs column block by column block, every row block in each
    cb = static_cast<size_t>(job) / rb_.count;
    rb = static_cast<size_t>(job) % rb_.count;
  } else {
    const size_t rb0 = rows_begin(q), nrb = rows_begin(q + 1) - rb0;
    cb = static_cast<size_t>(local) / nrb;
    rb = rb0 + static_cast<size_t>(local) % nrb;
  }
  const size_t c0 = cb * kColBlock, r0 = rb_.pairs[2 * rb], rows = rb_.pairs[2 * rb + 1];
  const size_t cols = std::min(kColBlock, n - c0);
  float* yb = y_ + r0 * n + c0;
  if (w_.int8) gemm_block_i8(w_, xq_, r0, rows, c0, cols, bias_, yb, n);
  else if (w_.bf16x2) gemm_block_bf16x2(w_, xb_, r0, rows, c0, cols, bias_, yb, n);
  else gemm_block(w_, rows, c0, cols, x_ + r0 * w_.in, bias_, yb, n);
  if (act_ != kernels::Activation::none) kernels::active().bias_activation(yb, rows, cols, n, nullptr, act_);
}

void linear(Workspace& ws, const float* x, size_t m, const WeightMatrix& w, const float* bias,
            kernels::Activation act, float* y, const RowBlocks* rows, int max_threads) {
  if (!w.packed) throw Error(BERTRT_ERROR_INTERNAL, "linear: weight matrix is not packed");
  const RowBlocks rb = rows ? *rows : row_blocks(ws, 1, m, nullptr);
  if (rb.count == 0) {
    LinearJobs(rb, 1, x, w, bias, act, y).run(0, 0, 0);  // only the zeroing job
    return;
  }
  const int probe = ws.parallel.threads_for(2.0 * static_cast<double>(rb.rows) * static_cast<double>(w.in * w.out),
                                            max_threads);
  const int threads = static_cast<int>(std::min<long>(probe, static_cast<long>(rb.count) *
                                                                  static_cast<long>((w.out + kColBlock - 1) / kColBlock)));
  const QuantizedRows xq = w.int8 ? quantized_rows(ws, rb.batch * rb.seq_len, w.in) : QuantizedRows{};
  const Bf16Rows xb = w.bf16x2 ? bf16_rows(ws, rb.batch * rb.seq_len, w.in) : Bf16Rows{};
  const LinearJobs jobs(rb, threads, x, w, bias, act, y, xq, xb);
  PhaseSync* sync = ws.parallel.counters(w.converts_input() ? 2 : 1, threads);
  auto body = [&](int tid) {
    PhaseWalker walk(sync, threads, tid);
    if (w.int8)
      walk.phase(static_cast<long>(rb.count), [&](long j) {
        quantize_rows(x, rb.pairs[2 * j], rb.pairs[2 * j + 1], xq);
      });
    if (w.bf16x2)
      walk.phase(static_cast<long>(rb.count), [&](long j) {
        convert_rows_bf16(x, rb.pairs[2 * j], rb.pairs[2 * j + 1], xb);
      });
    walk.phase(jobs.jobs(), [&](int q) { return jobs.share_begin(q); },
               [&](long j, int q, long i) { jobs.run(j, q, i); });
    walk.finish();
    ws.parallel.jobs_by_thread[static_cast<size_t>(tid)] = walk.jobs_run();
  };
  ws.parallel.run(threads, body);
}

}  // namespace bertrt::core
