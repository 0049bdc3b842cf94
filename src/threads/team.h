// The library's one threading mechanism: a session's team of helper threads. Nothing else in the
// library starts a thread (no OpenMP, no BLAS pool, no global pool).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace bertrt::core {

// CPUs this process may run on (its affinity mask; hardware_concurrency where that is unknown), >= 1.
int available_cpus();

// A pause hint for spin loops.
void cpu_relax();

// Helper threads of one Session, kept between calls. run(threads, fn, ctx) calls fn(ctx, 0) on
// the caller and fn(ctx, tid) on up to threads - 1 helpers (tid 1, 2, ...), and returns when every
// call that started has returned. The caller never waits for a helper that has not started: once
// the caller's own fn returns, the run is closed and a helper that wakes later skips it. So fn
// must be written so that the caller alone can finish the work (PhaseWalker's phases are).
// Idle helpers spin briefly (a few microseconds), then sleep on a condition variable; the
// destructor wakes and joins them.
class Team {
 public:
  using Fn = void (*)(void* ctx, int tid);
  explicit Team(int helpers);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;
  int helpers() const { return static_cast<int>(workers_.size()); }
  void run(int threads, Fn fn, void* ctx);
  // fn(tid) for a callable.
  template <typename F>
  void run(int threads, F& fn) {
    run(threads, [](void* ctx, int tid) { (*static_cast<F*>(ctx))(tid); }, &fn);
  }

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

}  // namespace bertrt::core
