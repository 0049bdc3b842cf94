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

void Batcher::run_batch(size_t worker, std::vector<Item>& batch) {
  auto len = [](const Item& it) { return it.job->inputs_[it.index].size(); };
  std::stable_sort(batch.begin(), batch.end(), [&](const Item& a, const Item& b) { return len(a) > len(b); });
  size_t start = 0;
  while (start < batch.size()) {
    // Rows of similar length: stop where padding would pass a quarter of the pass.
    const size_t longest = len(batch[start]);
    size_t end = start + 1, real = longest;
    while (end < batch.size()) {
      const size_t rows = end - start + 1;
      if (rows * longest > std::max(config_.max_batch_tokens, longest)) break;
      if (4 * (real + len(batch[end])) < 3 * rows * longest) break;
      real += len(batch[end]);
      ++end;
    }
    run_group(worker, batch.data() + start, end - start);
    start = end;
  }
}

void Batcher::run_group(size_t worker, const Item* items, size_t count) {
  const auto t0 = std::chrono::steady_clock::now();
  Session& session = *sessions_[worker];
  Scratch& s = scratch_[worker];
  const size_t T = items[0].job->inputs_[items[0].index].size(), H = hidden_;
  size_t real = 0;
  try {
    s.ids.assign(count * T, config_.pad_id);
    s.mask.assign(count * T, 0);
    for (size_t r = 0; r < count; ++r) {
      const std::vector<int64_t>& in = items[r].job->inputs_[items[r].index];
      std::copy(in.begin(), in.end(), s.ids.begin() + static_cast<ptrdiff_t>(r * T));
      std::fill_n(s.mask.begin() + static_cast<ptrdiff_t>(r * T), in.size(), 1);
      real += in.size();
    }
    s.last.resize(count * T * H);
    bertrt_forward_inputs fin{};
    fin.input_ids = s.ids.data();
    fin.attention_mask = s.mask.data();
    fin.batch = count;
    fin.seq_len = T;
    bertrt_forward_outputs fout{};
    fout.last_hidden_state = s.last.data();
    session.forward(fin, fout);
    for (size_t r = 0; r < count; ++r) {
      Job& job = *items[r].job;
      const size_t n = job.inputs_[items[r].index].size();
      std::vector<float>& out = job.results_[items[r].index];
      const std::span<const float> row(s.last.data() + r * T * H, T * H);
      if (job.spec_.tokens) {
        out.assign(row.begin(), row.begin() + static_cast<ptrdiff_t>(n * H));
      } else {
        out.resize(H);
        session.pool(row, std::span<const int64_t>(s.mask.data() + r * T, T), 1, T, job.spec_.pool,
                     job.spec_.normalize, out);
      }
    }
  } catch (const Error& e) {
    for (size_t r = 0; r < count; ++r) items[r].job->fail(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    for (size_t r = 0; r < count; ++r) items[r].job->fail(BERTRT_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  metrics_.observe_batch(count, count * T, real, seconds_since(t0));
  for (size_t r = 0; r < count; ++r) items[r].job->finish_one();
}

}  // namespace bertrt::serve
