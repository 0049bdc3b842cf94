#include "threads/team.h"

#ifdef __linux__
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace bertrt::core {

int available_cpus() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

namespace {

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

}  // namespace bertrt::core
