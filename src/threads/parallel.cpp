#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "threads/phases.h"

namespace bertrt::core {
namespace {

// ~4 MFLOP: at the FMA rate of one core (~100-170 GFLOP/s) some 30 us, ten times a team's
// start-and-join (a few us when the helpers are spinning, tens when they sleep).
std::atomic<double> g_min_flops{4e6};

}  // namespace

double min_flops_per_thread() { return g_min_flops.load(std::memory_order_relaxed); }
void set_min_flops_per_thread(double flops) { g_min_flops.store(flops < 0.0 ? 0.0 : flops, std::memory_order_relaxed); }

int default_threads() {
  // BERTRT_NUM_THREADS, read once: 0 when unset or empty, -1 when it is not a count.
  static const long from_env = [] {
    const char* env = std::getenv("BERTRT_NUM_THREADS");
    if (env == nullptr || *env == '\0') return 0L;
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    return *end == '\0' && n >= 1 && n <= 4096 ? n : -1L;
  }();
  if (from_env < 0)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
                std::string("BERTRT_NUM_THREADS=") + std::getenv("BERTRT_NUM_THREADS") + " is not a thread count (1-4096)");
  return from_env > 0 ? static_cast<int>(from_env) : available_cpus();
}

int Parallel::allowed() const { return threads > 0 ? threads : default_threads(); }

int Parallel::threads_for(double flops, long cap) const {
  long n = allowed();
  if (cap > 0) n = std::min(n, cap);
  const double min = min_flops_per_thread();
  if (min > 0.0) n = std::min<long>(n, 1 + static_cast<long>(flops / min));
  return static_cast<int>(std::max<long>(1, n));
}

PhaseSync* Parallel::counters(size_t phases, int threads) {
  const size_t n = phases * static_cast<size_t>(threads);
  if (sync_capacity < n) {
    sync = std::make_unique<PhaseSync[]>(n);
    sync_capacity = n;
  }
  for (size_t i = 0; i < n; ++i) {
    sync[i].next.store(0, std::memory_order_relaxed);
    sync[i].done.store(0, std::memory_order_relaxed);
  }
  return sync.get();
}

}  // namespace bertrt::core
