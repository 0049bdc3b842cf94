#include "serve/batcher.h"

#include <algorithm>
#include <exception>
#include <new>
#include <span>

namespace bertrt::serve {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Job::Job(std::vector<std::vector<int64_t>> inputs, OutputSpec spec)
    : inputs_(std::move(inputs)), spec_(spec), results_(inputs_.size()), remaining_(inputs_.size()) {}

Job::Job(std::function<void(Session&)> task) : task_(std::move(task)), remaining_(1) {}

void Job::wait() {
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return remaining_ == 0; });
}

void Job::finish_one() {
  std::lock_guard lock(mutex_);
  if (--remaining_ == 0) done_cv_.notify_all();
}

void Job::fail(bertrt_status status, const std::string& message) {
  std::lock_guard lock(mutex_);
  if (!failed_) {
    failed_ = true;
    error_status_ = status;
    error_ = message;
  }
}

Batcher::Batcher(const Model& model, const BatcherConfig& config, Metrics& metrics)
    : config_(config), metrics_(metrics), hidden_(model.hidden_size()) {
  config_.workers = std::max<size_t>(config_.workers, 1);
  config_.max_batch_size = std::max<size_t>(config_.max_batch_size, 1);
  for (size_t w = 0; w < config_.workers; ++w) {
    sessions_.push_back(std::make_unique<Session>(model));
    if (config_.threads > 0) sessions_.back()->set_threads(config_.threads);
  }
  scratch_.resize(config_.workers);
  for (size_t w = 0; w < config_.workers; ++w) threads_.emplace_back([this, w] { worker_main(w); });
}

Batcher::~Batcher() { stop(); }

bool Batcher::submit(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= config_.max_queue) return false;
    job->queued_at_ = std::chrono::steady_clock::now();
    queue_.push_back(job);
    queued_inputs_ += job->inputs_.size();
  }
  work_cv_.notify_one();
  return true;
}

void Batcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

QueueGauges Batcher::gauges() const {
  std::lock_guard lock(mutex_);
  return {queue_.size(), queued_inputs_};
}

std::shared_ptr<Job> Batcher::take(std::vector<Item>& batch, std::vector<std::shared_ptr<Job>>& holders) {
  size_t tokens = 0;
  while (!queue_.empty()) {
    const std::shared_ptr<Job>& job = queue_.front();
    if (job->task_) {
      if (!batch.empty()) break;  // a task runs alone, after the batch ahead of it
      std::shared_ptr<Job> task = job;
      queue_.pop_front();
      metrics_.observe_queue_wait(seconds_since(task->queued_at_));
      return task;
    }
    if (job->next_ == 0) metrics_.observe_queue_wait(seconds_since(job->queued_at_));
    holders.push_back(job);
    while (job->next_ < job->inputs_.size()) {
      const size_t len = job->inputs_[job->next_].size();
      if (!batch.empty() && (tokens + len > config_.max_batch_tokens || batch.size() >= config_.max_batch_size))
        return nullptr;
      batch.push_back({job.get(), job->next_});
      tokens += len;
      ++job->next_;
      --queued_inputs_;
    }
    queue_.pop_front();
  }
  return nullptr;
}

void Batcher::worker_main(size_t worker) {
  std::vector<Item> batch;
  std::vector<std::shared_ptr<Job>> holders;
  for (;;) {
    std::shared_ptr<Job> task;
    batch.clear();
    holders.clear();
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing is left
      task = take(batch, holders);
      if (!queue_.empty()) work_cv_.notify_one();  // more work for another worker
    }
    if (task) run_task(*sessions_[worker], *task);
    else run_batch(worker, batch);
  }
}

void Batcher::run_task(Session& session, Job& job) {
  try {
    job.task_(session);
  } catch (const Error& e) {
    job.fail(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    job.fail(BERTRT_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    job.fail(BERTRT_ERROR_INTERNAL, e.what());
  }
  job.finish_one();
}

// The batch as one packed forward pass: the inputs back to back, no padding (the library runs the
// linear layers over all rows and attention per input), then each input's rows pooled alone or
// copied out.
void Batcher::run_batch(size_t worker, std::vector<Item>& batch) {
  const auto t0 = std::chrono::steady_clock::now();
  Session& session = *sessions_[worker];
  Scratch& s = scratch_[worker];
  const size_t H = hidden_, count = batch.size();
  auto input = [&](size_t r) -> const std::vector<int64_t>& { return batch[r].job->inputs_[batch[r].index]; };
  s.ids.clear();
  s.offsets.assign(1, 0);
  try {
    for (size_t r = 0; r < count; ++r) {
      s.ids.insert(s.ids.end(), input(r).begin(), input(r).end());
      s.offsets.push_back(static_cast<int64_t>(s.ids.size()));
    }
    s.last.resize(s.ids.size() * H);
    bertrt_packed_inputs in{};
    in.input_ids = s.ids.data();
    in.offsets = s.offsets.data();
    in.batch = count;
    bertrt_forward_outputs out{};
    out.last_hidden_state = s.last.data();
    session.forward_packed(in, out);
    for (size_t r = 0; r < count; ++r) {
      Job& job = *batch[r].job;
      const size_t n = input(r).size();
      std::vector<float>& result = job.results_[batch[r].index];
      const std::span<const float> rows(s.last.data() + static_cast<size_t>(s.offsets[r]) * H, n * H);
      if (job.spec_.tokens) {
        result.assign(rows.begin(), rows.end());
      } else {
        result.resize(H);
        session.pool(rows, {}, 1, n, job.spec_.pool, job.spec_.normalize, result);
      }
    }
  } catch (const Error& e) {
    for (size_t r = 0; r < count; ++r) batch[r].job->fail(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    for (size_t r = 0; r < count; ++r) batch[r].job->fail(BERTRT_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  metrics_.observe_batch(count, s.ids.size(), seconds_since(t0));
  for (size_t r = 0; r < count; ++r) batch[r].job->finish_one();
}

}  // namespace bertrt::serve
