#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#ifdef __linux__
#include <sched.h>
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

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

int capped_threads(const Workspace& ws, int max_threads) {
  return max_threads > 0 ? std::min(max_threads, thread_count(ws)) : thread_count(ws);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#endif
}

// Waits until ready(): spins briefly (the next run usually starts, and helpers usually leave,
// within microseconds), then sleeps on cv. Whoever makes ready() true notifies cv under m.
template <class Ready>
void spin_then_wait(std::mutex& m, std::condition_variable& cv, Ready&& ready) {
  for (int spins = 0; spins < 2000; ++spins) {
    if (ready()) return;
    cpu_relax();
  }
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, ready);
}

// y[m, N] = act(x[m, K] W + bias) on a packed W. Work is split into blocks of up to kRows rows x
// kCols columns (panel-aligned), column-block major so that one thread walks one weight slice;
// bias is added in the micro-kernel's epilogue and the activation applied to each block while it
// is in cache. Each output element is computed by one call in a fixed k order: the result does not
// depend on the thread count.
void linear_packed(Workspace& ws, const float* x, size_t m, const WeightMatrix& w, const float* bias,
                   kernels::Activation act, float* y, const RowSet* rowset, int max_threads) {
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
  const int threads = static_cast<int>(std::min<long>({capped_threads(ws, max_threads), jobs, by_work}));
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
            kernels::Activation act, float* y, const RowSet* rows, int max_threads) {
  if (w.packed) {
    linear_packed(ws, x, m, w, bias, act, y, rows, max_threads);
    return;
  }
  const kernels::KernelTable& k = kernels::active();
#ifdef BERTRT_HAVE_BLAS
  // The session's count (or the cap), never OpenBLAS's own default.
  openblas_set_num_threads(capped_threads(ws, max_threads));
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

// Job `job` of the packed linear split as linear_packed splits it, into (64-column block, row
// block) pairs over the computed rows' blocks; job number col_blocks * nblocks zeroes the skipped
// rows. linear_cols_jobs gives the count. For PhaseWalker's `parts` shares the row blocks are cut
// into `parts` ranges, share q holding range q's jobs (cols_share_begin), numbered column block
// by column block inside it: a thread works on its own rows, and one weight slice at a time.
// A job comes with its share q and its index `local` in the share.
constexpr size_t kColBlock = 64;
long linear_cols_jobs(const WeightMatrix& w, size_t nblocks) {
  return static_cast<long>((w.out + kColBlock - 1) / kColBlock * nblocks) + 1;
}
size_t rows_share_begin(size_t nblocks, int parts, int q) {
  return nblocks * static_cast<size_t>(q) / static_cast<size_t>(parts);
}
long cols_share_begin(const WeightMatrix& w, size_t nblocks, int parts, int q) {
  if (q == parts) return linear_cols_jobs(w, nblocks);
  return static_cast<long>((w.out + kColBlock - 1) / kColBlock * rows_share_begin(nblocks, parts, q));
}
void linear_cols_job(long job, int q, long local, const float* x, const WeightMatrix& w, const float* bias,
                     kernels::Activation act, float* y, const size_t* blocks, size_t nblocks, int parts,
                     size_t seq_len, size_t batch, const KeySpan* spans) {
  constexpr size_t kCols = kColBlock;
  const size_t n = w.out, kk = w.in;
  if (job == linear_cols_jobs(w, nblocks) - 1) {
    for (size_t b = 0; b < batch; ++b)
      if (spans[b].end < seq_len)
        std::memset(y + (b * seq_len + spans[b].end) * n, 0, (seq_len - spans[b].end) * n * sizeof(float));
    return;
  }
  const auto* bp = static_cast<const float*>(w.data);
  const size_t rb0 = rows_share_begin(nblocks, parts, q), nrb = rows_share_begin(nblocks, parts, q + 1) - rb0;
  const size_t cb = static_cast<size_t>(local) / nrb, rb = rb0 + static_cast<size_t>(local) % nrb;
  const size_t c0 = cb * kCols, r0 = blocks[2 * rb], rows = blocks[2 * rb + 1];
  const size_t cols = std::min(kCols, n - c0);
  float* yb = y + r0 * n + c0;
  kernels::packed_gemm()(rows, cols, kk, x + r0 * kk, kk, bp + c0 * kk, bias ? bias + c0 : nullptr, yb, n);
  if (act != kernels::Activation::none) kernels::active().bias_activation(yb, rows, cols, n, nullptr, act);
}

// Work shared by a team through counters instead of barriers. Every thread walks the same
// sequence of phases; in each it claims jobs until none are left, counting finished ones in
// `done`. A phase's jobs are cut into one contiguous share per thread, each with its own `next`
// counter: a thread claims from its own share first, then from the others' (so a thread that
// is descheduled on a busy machine loses its share to the rest, and the caller alone can always
// finish). Phases number their jobs in row order, so a thread mostly reads the rows it wrote in
// the phase before, from its own core's cache. A phase starts only when the previous one's jobs
// are all done, but nobody waits for a thread that has not arrived. Which thread runs a job never
// changes its bits.
void wait_done(const PhaseSync& s, long jobs) {
  for (int spins = 0; s.done.load(std::memory_order_acquire) < jobs; ++spins) {
    if (spins < 4000) cpu_relax();
    else std::this_thread::yield();
  }
}

class PhaseWalker {
 public:
  // sync: `parts` counters per phase (share q's `next`, counting from 0 within the share, at
  // sync[phase * parts + q]; the phase's `done` in share 0's).
  PhaseWalker(PhaseSync* sync, int parts, int tid) : sync_(sync), parts_(parts), tid_(tid) {}
  // Equal shares; fn(job).
  template <typename Fn>
  void phase(long jobs, Fn&& fn) {
    phase(jobs, [&](int q) { return jobs * q / parts_; }, [&](long job, int, long) { fn(job); });
  }
  // Share q is [share_begin(q), share_begin(q + 1)), share_begin(0) = 0, share_begin(parts) = jobs;
  // fn(job, q, i) runs job number `job`, the i-th of share q.
  template <typename Begin, typename Fn>
  void phase(long jobs, Begin&& share_begin, Fn&& fn) {
    PhaseSync* shares = sync_ + p_ * static_cast<size_t>(parts_);
    PhaseSync& s = shares[0];
    bool waited = false;
    for (int i = 0; i < parts_; ++i) {
      const int q = (tid_ + i) % parts_;
      const long begin = share_begin(q), size = share_begin(q + 1) - begin;
      std::atomic<long>& next = shares[q].next;
      if (next.load(std::memory_order_relaxed) >= size) continue;
      if (!waited && prev_) wait_done(*prev_, prev_jobs_);
      waited = true;
      for (;;) {
        const long j = next.fetch_add(1, std::memory_order_relaxed);
        if (j >= size) break;
        fn(begin + j, q, j);
        s.done.fetch_add(1, std::memory_order_release);
      }
    }
    prev_ = &s;
    prev_jobs_ = jobs;
    ++p_;
  }
  void finish() const {
    if (prev_) wait_done(*prev_, prev_jobs_);
  }

 private:
  PhaseSync* sync_;
  int parts_, tid_;
  const PhaseSync* prev_ = nullptr;
  long prev_jobs_ = 0;
  size_t p_ = 0;
};

}  // namespace

namespace {

// A helper thread can end up on the CPU of the thread that calls run() (placed there when it is
// created or woken, or pulled there while it spins), and then the two share one CPU until the
// load balancer separates them. Measured on a 2-vCPU VM: in 3 of 5 bench runs of MiniLM 1x8 at 2
// threads the helper sat on the caller's vCPU for the whole run (2.1-2.4 ms per forward instead
// of 1.4 ms). So a helper that finds itself on the caller's CPU when it enters a run steps off it:
// its affinity briefly excludes that CPU, which migrates it at once, then it takes back every CPU
// it was allowed -- a placement, not a pinning. Nothing happens when only one CPU is allowed or
// the calls fail.
void step_off_cpu(int cpu) {
#ifdef __linux__
  cpu_set_t allowed;
  if (cpu < 0 || sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  if (!CPU_ISSET(cpu, &allowed) || CPU_COUNT(&allowed) < 2) return;
  cpu_set_t others = allowed;
  CPU_CLR(cpu, &others);
  if (sched_setaffinity(0, sizeof others, &others) != 0) return;
  sched_setaffinity(0, sizeof allowed, &allowed);
#else
  (void)cpu;
#endif
}

int current_cpu() {
#ifdef __linux__
  return sched_getcpu();
#else
  return -1;
#endif
}

}  // namespace

Team::Team(int helpers) {
  workers_.reserve(static_cast<size_t>(helpers));
  for (int i = 0; i < helpers; ++i) workers_.emplace_back([this] { work(); });
}

Team::~Team() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  started_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void Team::run(int threads, Fn fn, void* ctx) {
  caller_cpu_.store(current_cpu(), std::memory_order_relaxed);
  fn_ = fn;
  ctx_ = ctx;
  threads_ = threads;
  next_tid_.store(1, std::memory_order_relaxed);
  state_.store(0, std::memory_order_release);  // open: helpers may enter from here on
  {
    // Under the mutex: a helper checks the generation under it before it sleeps (no lost wake-up).
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  started_.notify_all();
  fn(ctx, 0);
  // Close the run, then wait for the helpers inside it.
  state_.fetch_or(kClosed, std::memory_order_acq_rel);
  spin_then_wait(mutex_, left_, [&] { return state_.load(std::memory_order_acquire) == kClosed; });
}

void Team::work() {
  // Generation 0 is the one before the first run: a helper that starts late still sees every
  // later bump (the first run's, or the destructor's).
  uint32_t seen = 0;
  for (;;) {
    spin_then_wait(mutex_, started_, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    // Enter the run unless it is closed already.
    uint32_t s = state_.load(std::memory_order_relaxed);
    bool entered = false;
    while (!(s & kClosed)) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        entered = true;
        break;
      }
    }
    if (!entered) continue;
    const int tid = next_tid_.fetch_add(1, std::memory_order_relaxed);
    if (tid < threads_) {
      const int caller_cpu = caller_cpu_.load(std::memory_order_relaxed);
      if (caller_cpu >= 0 && current_cpu() == caller_cpu) step_off_cpu(caller_cpu);
      fn_(ctx_, tid);
    }
    // The caller cannot start another run before this helper leaves: the generation read here is
    // this run's, so the helper cannot enter it twice.
    seen = generation_.load(std::memory_order_acquire);
    if (state_.fetch_sub(1, std::memory_order_acq_rel) - 1 == kClosed) {
      { std::lock_guard<std::mutex> lock(mutex_); }  // the caller is either before its check or asleep
      left_.notify_all();
    }
  }
}

bool encoder_packed(const Model& model) {
  auto ok = [](const WeightMatrix& w) { return w.packed && w.dtype == kernels::DType::f32; };
  for (const LayerWeights& l : model.layers())
    if (!ok(l.qkv) || !ok(l.attn_out) || !ok(l.ffn_up) || !ok(l.ffn_down)) return false;
  return true;
}

// The whole encoder in one parallel region, with no barrier inside it: per layer, seven phases
// (attention per (batch, head), attention output, LayerNorm, FFN up, FFN down, LayerNorm, next
// layer's QKV), each a list of jobs claimed through PhaseWalker's counters. Linear layers are split
// as linear_packed splits them (64-column blocks x 96-row blocks of the computed rows), LayerNorm
// in 16-row chunks. Every output element comes from the same kernel call with the same k order
// whatever thread runs it, so the result is the same for any thread count, and the same as
// encoder_layer's.
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
  const long jobs_attn = static_cast<long>(batch * c.num_heads);
  const std::vector<LayerWeights>& lw = model.layers();
  const float eps = c.layer_norm_eps;

  // Phases: the first QKV, then seven per layer.
  const size_t nphases = 1 + layers * 7;
  const size_t ncounters = nphases * static_cast<size_t>(threads);
  if (ws.phase_capacity < ncounters) {
    ws.phases = std::make_unique<PhaseSync[]>(ncounters);
    ws.phase_capacity = ncounters;
  }
  for (size_t i = 0; i < ncounters; ++i) {
    ws.phases[i].next.store(0, std::memory_order_relaxed);
    ws.phases[i].done.store(0, std::memory_order_relaxed);
  }
  PhaseSync* sync = ws.phases.get();
  const long ln_jobs = static_cast<long>((n + 15) / 16);

  auto run = [&](int tid) {
    PhaseWalker walk(sync, threads, tid);
    auto cols = [&](const float* src, const WeightMatrix& wm, const float* bias, kernels::Activation act, float* y) {
      walk.phase(
          linear_cols_jobs(wm, nblocks), [&](int q) { return cols_share_begin(wm, nblocks, threads, q); },
          [&](long j, int q, long i) {
            linear_cols_job(j, q, i, src, wm, bias, act, y, blocks, nblocks, threads, T, batch, spans);
          });
    };
    auto layernorm = [&](const float* a, const float* b, const float* bias, const float* gamma, const float* beta,
                         float* y) {
      walk.phase(ln_jobs, [&](long j) {
        const size_t r0 = static_cast<size_t>(j) * 16, rows = std::min<size_t>(16, n - r0);
        kernels::active().add_bias_layernorm(a + r0 * h, b + r0 * h, bias, gamma, beta, eps, rows, h, y + r0 * h);
      });
    };
    cols(x, lw[0].qkv, lw[0].qkv_bias, kernels::Activation::none, qkv);
    const float* in = x;
    for (size_t l = 0; l < layers; ++l) {
      const LayerWeights& w = lw[l];
      float* out = layer_out[l];
      float* attn_l = attentions ? attentions + l * batch * c.num_heads * T * T : nullptr;
      walk.phase(jobs_attn, [&](long job) {
        attention_job(c, plan, tid, static_cast<size_t>(job), qkv, T, key_valid, spans, context, attn_l);
      });
      cols(context, w.attn_out, nullptr, kernels::Activation::none, projected);
      layernorm(projected, in, w.attn_out_bias, w.attn_ln_gamma, w.attn_ln_beta, attn_norm);
      cols(attn_norm, w.ffn_up, w.ffn_up_bias, c.hidden_act, ffn);
      cols(ffn, w.ffn_down, nullptr, kernels::Activation::none, projected);
      layernorm(projected, attn_norm, w.ffn_down_bias, w.out_ln_gamma, w.out_ln_beta, out);
      if (l + 1 < layers) cols(out, lw[l + 1].qkv, lw[l + 1].qkv_bias, kernels::Activation::none, qkv);
      in = out;
    }
    walk.finish();
  };

  if (threads > 1) {
    if (!ws.team || ws.team->helpers() < threads - 1) {
      ws.team.reset();
      ws.team = std::make_unique<Team>(threads - 1);
    }
    ws.team->run(threads, [](void* ctx, int tid) { (*static_cast<decltype(run)*>(ctx))(tid); }, &run);
    return;
  }
  run(0);
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
