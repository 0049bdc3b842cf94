// Dynamic batching: requests are queued, and worker threads, each with its own session, pack the
// queued inputs of many requests into forward passes by a token budget.
//
// A worker takes inputs in arrival order (the oldest request first) until the next one would pass
// --max-batch-tokens tokens or --max-batch-size inputs, and runs them as one packed forward pass
// (bertrt_session_forward_packed: inputs back to back, no padding; attention stays within each
// input), so an input's vector does not depend on what it was batched with beyond float32 rounding. A worker never waits for a batch to
// fill: an idle server runs a lone request at once, a busy one batches what queued meanwhile.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "serve/metrics.h"

namespace bertrt::serve {

// What a batched input returns.
struct OutputSpec {
  bool tokens = false;  // every token's last hidden state [T, H]; else one pooled vector [H]
  bertrt_pool_mode pool = BERTRT_POOL_MEAN;
  bool normalize = false;
};

// One request's work: inputs (token id sequences) to batch with others' inputs, or a task that a
// worker runs alone with its session (the staged endpoints). The HTTP thread waits for it.
class Job {
 public:
  Job(std::vector<std::vector<int64_t>> inputs, OutputSpec spec);
  explicit Job(std::function<void(Session&)> task);

  // Blocks until every input is done (or the task ran).
  void wait();
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  bertrt_status error_status() const { return error_status_; }
  // Per input: [H] pooled, or [T, H] token vectors.
  std::vector<std::vector<float>>& results() { return results_; }
  const std::vector<std::vector<int64_t>>& inputs() const { return inputs_; }

 private:
  friend class Batcher;
  void finish_one();
  void fail(bertrt_status status, const std::string& message);

  std::vector<std::vector<int64_t>> inputs_;
  OutputSpec spec_;
  std::function<void(Session&)> task_;
  std::vector<std::vector<float>> results_;
  size_t next_ = 0;  // first input not yet handed to a worker (under the batcher's lock)
  std::chrono::steady_clock::time_point queued_at_;

  std::mutex mutex_;
  std::condition_variable done_cv_;
  size_t remaining_ = 0;  // inputs not finished (a task counts as one)
  bool failed_ = false;
  bertrt_status error_status_ = BERTRT_OK;
  std::string error_;
};

struct BatcherConfig {
  size_t workers = 1;            // sessions, one thread each
  int threads = 0;               // threads per session (bertrt_session_set_threads)
  size_t max_batch_tokens = 16384;  // real tokens per batch a worker takes
  size_t max_batch_size = 256;   // inputs per batch
  size_t max_queue = 1024;       // requests waiting; more are refused
};

class Batcher {
 public:
  Batcher(const Model& model, const BatcherConfig& config, Metrics& metrics);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues a job; false when the queue already holds max_queue requests (nothing is queued).
  bool submit(const std::shared_ptr<Job>& job);
  // Lets the workers finish what is queued, then joins them. Later submits are refused.
  void stop();
  QueueGauges gauges() const;

 private:
  struct Item {
    Job* job;
    size_t index;
  };
  void worker_main(size_t worker);
  // Under the lock: the next task, or the next batch of inputs.
  std::shared_ptr<Job> take(std::vector<Item>& batch, std::vector<std::shared_ptr<Job>>& holders);
  void run_batch(size_t worker, std::vector<Item>& batch);
  void run_task(Session& session, Job& job);

  BatcherConfig config_;
  Metrics& metrics_;
  size_t hidden_;
  std::vector<std::unique_ptr<Session>> sessions_;
  struct Scratch {
    std::vector<int64_t> ids, offsets;
    std::vector<float> last;
  };
  std::vector<Scratch> scratch_;
  std::vector<std::thread> threads_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  size_t queued_inputs_ = 0;
  bool stopping_ = false;
};

}  // namespace bertrt::serve
