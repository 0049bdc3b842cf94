// Linear layers y = act(x W + bias) on packed weight panels, as lists of jobs that a PhaseWalker
// phase (or the session's team, through linear()) runs on any number of threads.
//
// Work is cut into blocks of up to kRowBlock rows x kColBlock columns (panel-aligned); the bias is
// added in the micro-kernel's epilogue and the activation applied to each block while it is in
// cache. Each output element is computed by one kernel call in a fixed k order, so the result does
// not depend on the thread count or on which thread runs a block.
#pragma once

#include <cstddef>
#include <vector>

#include "model/model.h"
#include "stages/quantized.h"

namespace bertrt::core {

struct Workspace;
struct KeySpan;

inline constexpr size_t kRowBlock = 96, kColBlock = 64;

// Row blocks of a GEMM: (first row, rows) pairs. Over the sequences of a [batch, seq_len] input
// (spans set) each sequence's rows up to its last valid token, in kRowBlock steps; otherwise rows
// [0, batch * seq_len) in kRowBlock steps.
struct RowBlocks {
  const size_t* pairs = nullptr;  // 2 * count
  size_t count = 0;
  size_t rows = 0;  // rows computed
  size_t batch = 0, seq_len = 0;
  const KeySpan* spans = nullptr;
};
RowBlocks row_blocks(Workspace& ws, size_t batch, size_t seq_len, const KeySpan* spans);
// The same rows in blocks of up to `block` rows, the pairs kept in `store`.
RowBlocks row_blocks_in(std::vector<size_t>& store, size_t batch, size_t seq_len, const KeySpan* spans,
                        size_t block);

// Activation rows converted to bf16 for panel_bf16x2 matrices: a [rows, ld] bf16, ld = k
// rounded up to even (kernels/gemm_bf16.h). Converting a row depends on that row alone.
struct Bf16Rows {
  uint16_t* a = nullptr;
  size_t k = 0, ld = 0;
};
// Room in the workspace for n rows of k columns; grows ws.xbf16, so call it before a parallel run.
Bf16Rows bf16_rows(Workspace& ws, size_t n, size_t k);
// The same room viewed as rows of k columns (k no wider than the room was made for).
inline Bf16Rows bf16_rows_view(const Bf16Rows& room, size_t k) { return Bf16Rows{room.a, k, (k + 1) / 2 * 2}; }
// Rows [r0, r0 + rows) of x (row stride br.k) -> the same rows of br.
void convert_rows_bf16(const float* x, size_t r0, size_t rows, const Bf16Rows& br);

// One linear layer over row blocks, as jobs for `parts` shares. Job j < jobs() - 1 computes one
// (column block, row block); the last job zeroes the rows after each sequence's last valid token
// (so that every output is finite and independent of earlier calls). Share q holds the jobs of
// the q-th contiguous range of row blocks, column block by column block: a thread works on its own
// rows and one weight slice at a time. With fewer row blocks than shares (short inputs), share q
// holds the q-th contiguous range of column blocks instead, over every row block. An int8 matrix (w.int8) reads its input from xq, the rows
// of x quantized beforehand (quantized.h), a panel_bf16x2 matrix from xb, the rows of x converted
// to bf16 beforehand; x is then unused.
class LinearJobs {
 public:
  LinearJobs(const RowBlocks& rb, int parts, const float* x, const WeightMatrix& w, const float* bias,
             kernels::Activation act, float* y, const QuantizedRows& xq = {}, const Bf16Rows& xb = {});
  long jobs() const { return col_blocks_ * static_cast<long>(rb_.count) + 1; }
  long share_begin(int q) const;
  void run(long job, int q, long local) const;
  // FLOPs of the whole layer.
  double flops() const;

 private:
  size_t rows_begin(int q) const { return rb_.count * static_cast<size_t>(q) / static_cast<size_t>(parts_); }
  // Fewer row blocks than shares: the shares cut the columns instead (a thread then walks
  // adjacent column blocks, whose weights each kernel call prefetches for the next).
  bool split_columns() const { return rb_.count < static_cast<size_t>(parts_); }
  void zero_skipped_rows() const;
  RowBlocks rb_;
  int parts_;
  const float* x_;
  const WeightMatrix& w_;
  const float* bias_;
  kernels::Activation act_;
  float* y_;
  QuantizedRows xq_;
  Bf16Rows xb_;
  long col_blocks_;
};

// y[m, out] = act(x[m, in] W + bias) on the session's team. rows: when set, only rows up to each
// sequence's last valid token are computed and the rest of y is zeroed. max_threads > 0 caps the
// thread count below the session's. An int8 matrix quantizes the computed rows of x into the
// workspace first (a phase of its own, one job per row block), a panel_bf16x2 matrix converts them
// to bf16 likewise.
void linear(Workspace& ws, const float* x, size_t m, const WeightMatrix& w, const float* bias,
            kernels::Activation act, float* y, const RowBlocks* rows = nullptr, int max_threads = 0);

}  // namespace bertrt::core
