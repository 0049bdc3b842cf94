// The pipeline stages. Each is a few calls into kernels/; none knows which ISA runs.
// Shapes: N = B*T rows, H hidden, I intermediate. Inputs are validated by the caller (Session).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/aligned.h"
#include "model/model.h"

namespace bertrt::core {

// Job counters of one phase of encode_packed (its own cache line).
struct alignas(64) PhaseSync {
  std::atomic<long> next{0}, done{0};
};

// Helper threads of one Session, kept between calls. run(threads, fn, ctx) calls fn(ctx, 0) on
// the caller and fn(ctx, tid) on up to threads - 1 helpers (tid 1, 2, ...), and returns when every
// call that started has returned. The caller never waits for a helper that has not started: once
// the caller's own fn returns, the run is closed and a helper that wakes later skips it. So fn
// must be written so that the caller alone can finish the work (encode_packed's phases are).
// Idle helpers spin briefly, then sleep on a condition variable.
class Team {
 public:
  using Fn = void (*)(void* ctx, int tid);
  explicit Team(int helpers);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;
  int helpers() const { return static_cast<int>(workers_.size()); }
  void run(int threads, Fn fn, void* ctx);

 private:
  void work();
  static constexpr uint32_t kClosed = 1u << 31;
  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};  // bumped to start a run
  std::atomic<uint32_t> state_{kClosed};  // kClosed bit | helpers inside the current run
  std::atomic<int> next_tid_{1};
  std::atomic<int> caller_cpu_{-1};  // CPU of the thread in run(), for the helpers' placement
  int threads_ = 1;
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable started_, left_;
};

// Scratch memory owned by a Session. Buffers only grow, so calls at the same or a smaller
// shape allocate nothing.
struct Workspace {
  // Float buffers are cache-line aligned (common/aligned.h).
  AlignedVector<float> embedded;   // [N, H]  embedding output inside forward
  AlignedVector<float> qkv;        // [N, 3H]
  AlignedVector<float> context;    // [N, H]
  AlignedVector<float> projected;  // [N, H]
  AlignedVector<float> attn_norm;  // [N, H]  output of the attention block
  AlignedVector<float> ffn;        // [N, I]
  AlignedVector<float> ping, pong; // [N, H]  layer outputs when the caller keeps no hidden states
  AlignedVector<float> scores;     // [threads, T, T], then [threads, T] softmax 1 / row sums
  std::vector<size_t> row_blocks;  // (first row, rows) pairs of the packed GEMM's row blocks
  AlignedVector<float> attn_pack;  // [threads, 2, T rounded up to 16, head_dim] packed K^T and V
  AlignedVector<float> weights;    // widened f16/bf16 weight matrix [in, out]
  AlignedVector<float> pooled;     // [B, H]
  std::vector<int64_t> ids;      // [N] default position/type ids
  std::vector<uint8_t> key_valid;  // [B, T]
  std::vector<float*> layer_out;   // [L] destinations of the layers inside encode
  std::unique_ptr<PhaseSync[]> phases;  // encode_packed's phase counters
  size_t phase_capacity = 0;
  std::unique_ptr<Team> team;           // encode_packed's helper threads
  int threads = 0;               // 0: OpenMP default
};

template <typename T, typename A>
T* grow(std::vector<T, A>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Threads a stage may use: the session's count, or the OpenMP default when it is 0.
int thread_count(const Workspace& ws);

// y[M, out] = x[M, in] * W (+ bias) (then act). Packed f32 weights: own micro-kernels, bias and
// activation in the epilogue. Row-major weights: OpenBLAS (threads set to the session's count);
// f16/bf16 weights are widened into workspace.weights first.
struct KeySpan;
// rows: when set, only rows [b T, b T + spans[b].end) of each batch row b are computed (the
// right-padded tail of every sequence is skipped; those rows of y are left as they are).
struct RowSet {
  size_t batch = 0, seq_len = 0;
  const KeySpan* spans = nullptr;
};
// max_threads > 0 caps the threads below the session's count.
void linear(Workspace& ws, const float* x, size_t m, const WeightMatrix& w, const float* bias,
            kernels::Activation act, float* y, const RowSet* rows = nullptr, int max_threads = 0);

// Which keys of each row are valid, and the contiguous span that holds them.
struct KeySpan {
  size_t begin = 0, end = 0;  // valid keys lie in [begin, end)
  bool contiguous = true;     // every key in [begin, end) is valid
};

// Multi-head self-attention from a fused qkv [N, 3H] into context [N, H].
// key_valid [B, T] (1 = attend), spans [B]; attentions [B, heads, T, T] optional.
void attention(const ModelConfig& c, Workspace& ws, const float* qkv, size_t batch, size_t seq_len,
               const uint8_t* key_valid, const KeySpan* spans, float* context, float* attentions);

// Attention split into its parts, for callers that run the (batch, head) jobs inside their own
// parallel region. attention_plan grows the per-thread scratch for `threads` threads (call it
// outside any parallel region); attention_job runs job b * heads + head on thread tid's scratch.
struct AttentionPlan {
  float* scores = nullptr;  // [threads, T, T]
  float* inv_sums = nullptr;  // [threads, T] 1 / softmax row sums
  float* pack = nullptr;    // [threads, slice], 64-byte aligned
  size_t slice = 0, kt_floats = 0;
};
AttentionPlan attention_plan(const ModelConfig& c, Workspace& ws, size_t batch, size_t seq_len, int threads);
void attention_job(const ModelConfig& c, const AttentionPlan& plan, int tid, size_t job, const float* qkv,
                   size_t seq_len, const uint8_t* key_valid, const KeySpan* spans, float* context,
                   float* attentions);

// True when every encoder weight matrix is packed f32: encode_packed can run the model.
bool encoder_packed(const Model& model);

// All encoder layers in one parallel region (packed f32 weights only): x [N, H] -> layer_out[l]
// [N, H] for every layer l (none may alias x or another). attentions [L, B, heads, T, T] optional.
// Results are bitwise identical to encoder_layer's, for every thread count.
void encode_packed(const Model& model, Workspace& ws, const float* x, size_t batch, size_t seq_len,
                   const uint8_t* key_valid, const KeySpan* spans, float* const* layer_out, float* attentions);

// One encoder layer: x [N, H] -> out [N, H] (out must not alias x).
void encoder_layer(const Model& model, size_t layer, Workspace& ws, const float* x, size_t batch, size_t seq_len,
                   const uint8_t* key_valid, const KeySpan* spans, float* out, float* attentions);

void pool(const Model& model, Workspace& ws, const float* hidden, const int64_t* attention_mask, size_t batch,
          size_t seq_len, bertrt_pool_mode mode, bool normalize, float* out);

}  // namespace bertrt::core

namespace bertrt::core {

// inputs_embeds[n, H] = word_embeddings[input_ids[n]].
void lookup(const Model& model, const int64_t* input_ids, size_t n, float* out);

// out[N, H] = LayerNorm(word + position + type); word from inputs_embeds, or from the table by
// input_ids when inputs_embeds is null (the fused path of forward). Null ids take the defaults.
void embed(const Model& model, Workspace& ws, const float* inputs_embeds, const int64_t* input_ids,
           const int64_t* token_type_ids, const int64_t* position_ids, size_t batch, size_t seq_len, float* out);

}  // namespace bertrt::core
