// Work shared by a team through counters instead of barriers (PhaseWalker), and the per-session
// threading state (Parallel): the thread count, the team, the counters and what the last run did.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "threads/team.h"

namespace bertrt::core {

// Job counters of one share of one phase (its own cache line).
struct alignas(64) PhaseSync {
  std::atomic<long> next{0}, done{0};
};

// Waits until `jobs` jobs of a phase are done: spins, then yields.
inline void wait_done(const PhaseSync& s, long jobs) {
  for (int spins = 0; s.done.load(std::memory_order_acquire) < jobs; ++spins) {
    if (spins < 4000) cpu_relax();
    else std::this_thread::yield();
  }
}

// Every thread of a run walks the same sequence of phases; in each it claims jobs until none are
// left, counting finished ones in `done`. A phase's jobs are cut into one contiguous share per
// thread, each with its own `next` counter: a thread claims from its own share first, then from
// the others' (so a thread that is descheduled on a busy machine loses its share to the rest, and
// the caller alone can always finish). Phases number their jobs in row order, so a thread mostly
// reads the rows it wrote in the phase before, from its own core's cache. A phase starts only when
// the previous one's jobs are all done, but nobody waits for a thread that has not arrived. Which
// thread runs a job never changes its bits.
class PhaseWalker {
 public:
  // sync: `parts` counters per phase (share q's `next`, counting from 0 within the share, at
  // sync[phase * parts + q]; the phase's `done` in share 0's), zeroed before the run.
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
        ++ran_;
        s.done.fetch_add(1, std::memory_order_release);
      }
    }
    prev_ = &s;
    prev_jobs_ = jobs;
    ++p_;
  }
  // Waits for the last phase's jobs (run by any thread) to finish.
  void finish() const {
    if (prev_) wait_done(*prev_, prev_jobs_);
  }
  long jobs_run() const { return ran_; }

 private:
  PhaseSync* sync_;
  int parts_, tid_;
  const PhaseSync* prev_ = nullptr;
  long prev_jobs_ = 0;
  size_t p_ = 0;
  long ran_ = 0;
};

// Work below this many FLOPs per thread runs on fewer threads (a fork/join costs more than it
// saves). Tests set it to 0 to split any work (set_min_flops_per_thread).
double min_flops_per_thread();
void set_min_flops_per_thread(double flops);

// Threads a session with threads = 0 uses: BERTRT_NUM_THREADS when set (a count, 1-4096; anything
// else is BERTRT_ERROR_INVALID_ARGUMENT), else available_cpus() at each call.
int default_threads();

// A session's threading state. threads = 0: default_threads().
struct Parallel {
  int threads = 0;
  std::unique_ptr<Team> team;
  std::unique_ptr<PhaseSync[]> sync;
  size_t sync_capacity = 0;
  // Jobs each thread ran in the last run (slot tid), for tests and diagnostics.
  std::vector<long> jobs_by_thread;

  // The thread count allowed now (>= 1).
  int allowed() const;
  // Threads for `flops` of work, at most allowed() and at most cap when cap > 0.
  int threads_for(double flops, long cap = 0) const;
  // Zeroed counters for `phases` phases of `threads` shares each.
  PhaseSync* counters(size_t phases, int threads);
  // Runs fn(tid) on the caller (tid 0) and up to threads - 1 helpers; returns when all are done.
  // Starts (or grows) the team on first need.
  template <typename F>
  void run(int threads, F&& fn) {
    if (jobs_by_thread.size() < static_cast<size_t>(threads)) jobs_by_thread.resize(static_cast<size_t>(threads));
    for (long& j : jobs_by_thread) j = 0;
    if (threads <= 1) {
      fn(0);
      return;
    }
    if (!team || team->helpers() < threads - 1) {
      team.reset();
      team = std::make_unique<Team>(threads - 1);
    }
    team->run(threads, fn);
  }
  // One phase of `jobs` equal shares, fn(job), on `threads` threads.
  template <typename Fn>
  void for_jobs(int threads, long jobs, Fn&& fn) {
    PhaseSync* sync_now = counters(1, threads);
    auto body = [&](int tid) {
      PhaseWalker walk(sync_now, threads, tid);
      walk.phase(jobs, fn);
      walk.finish();
      jobs_by_thread[static_cast<size_t>(tid)] = walk.jobs_run();
    };
    run(threads, body);
  }
};

}  // namespace bertrt::core
