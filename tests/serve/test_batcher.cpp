// The server's dynamic batcher (tools/serve/batcher.h) with real threads on the `small` fixture
// model: inputs of many requests packed into shared forward passes give each input's vector as a
// lone forward pass does; the token budget bounds every pass; a full queue refuses; stop drains.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "common/fixtures.h"
#include "serve/batcher.h"
#include "serve/metrics.h"

using bertrt::serve::Batcher;
using bertrt::serve::BatcherConfig;
using bertrt::serve::Job;
using bertrt::serve::Metrics;
using bertrt::serve::OutputSpec;

namespace {

const bertrt::Model& small_model() {
  static const bertrt::Model model(bertrt::testing::converted_model("small"));
  return model;
}

// [CLS] random ids [SEP], len tokens in all.
std::vector<int64_t> random_input(std::mt19937& rng, size_t len) {
  std::vector<int64_t> ids(len);
  std::uniform_int_distribution<int64_t> id(105, 511);
  for (auto& x : ids) x = id(rng);
  ids.front() = 101;
  ids.back() = 102;
  return ids;
}

// The input run alone: forward at its own length, then pooled (or all its token vectors).
std::vector<float> alone(bertrt::Session& session, const std::vector<int64_t>& ids, const OutputSpec& spec) {
  const size_t T = ids.size(), H = small_model().hidden_size();
  std::vector<float> last(T * H), out(spec.tokens ? T * H : H);
  bertrt_forward_inputs in{};
  in.input_ids = ids.data();
  in.batch = 1;
  in.seq_len = T;
  bertrt_forward_outputs o{};
  o.last_hidden_state = last.data();
  session.forward(in, o);
  if (spec.tokens) return last;
  session.pool(last, {}, 1, T, spec.pool, spec.normalize, out);
  return out;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
  return d;
}

// A sample's value in the rendered metrics ("name{labels}" or "name"), -1 when absent.
double sample(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("batched inputs from concurrent requests equal each input run alone") {
  const bertrt::Model& model = small_model();
  Metrics metrics;
  BatcherConfig config;
  config.workers = 2;
  config.threads = 1;
  config.max_batch_tokens = 600;
  Batcher batcher(model, config, metrics);
  constexpr int kThreads = 8, kJobs = 12;
  std::vector<std::shared_ptr<Job>> jobs(kThreads * kJobs);
  std::vector<OutputSpec> specs(jobs.size());
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int j = 0; j < kJobs; ++j) {
        const size_t k = static_cast<size_t>(t * kJobs + j);
        std::vector<std::vector<int64_t>> inputs(1 + rng() % 4);
        for (auto& in : inputs) in = random_input(rng, 2 + rng() % 100);
        specs[k].tokens = rng() % 4 == 0;
        specs[k].pool = static_cast<bertrt_pool_mode>(rng() % 4);
        specs[k].normalize = rng() % 2 == 0;
        jobs[k] = std::make_shared<Job>(std::move(inputs), specs[k]);
        if (!batcher.submit(jobs[k])) ++refused;
        else jobs[k]->wait();
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(refused == 0);
  bertrt::Session session(model);
  session.set_threads(1);
  size_t checked = 0;
  double worst = 0;
  for (size_t k = 0; k < jobs.size(); ++k) {
    Job& job = *jobs[k];
    REQUIRE_FALSE(job.failed());
    for (size_t i = 0; i < job.inputs().size(); ++i, ++checked) {
      const std::vector<float> want = alone(session, job.inputs()[i], specs[k]);
      const double d = max_diff(job.results()[i], want);
      INFO("job " << k << " input " << i << " (" << job.inputs()[i].size() << " tokens, pool " << specs[k].pool
                  << (specs[k].tokens ? ", token vectors" : "") << "): max abs diff " << d);
      CHECK(d <= 1e-5);
      worst = std::max(worst, d);
    }
  }
  MESSAGE(checked << " inputs, worst max abs diff " << worst);
  const std::string text = metrics.render(batcher.gauges());
  // Some pass held more than one input (8 threads submitting at once; 2 workers).
  CHECK(sample(text, "bertrt_batch_rows_bucket{le=\"1\"}") < sample(text, "bertrt_batch_rows_bucket{le=\"+Inf\"}"));
}

TEST_CASE("the token budget bounds every forward pass") {
  Metrics metrics;
  BatcherConfig config;
  config.workers = 1;
  config.threads = 1;
  config.max_batch_tokens = 10;
  Batcher batcher(small_model(), config, metrics);
  std::mt19937 rng(7);
  std::vector<std::vector<int64_t>> inputs(40);
  for (auto& in : inputs) in = random_input(rng, 4);
  auto job = std::make_shared<Job>(std::move(inputs), OutputSpec{});
  REQUIRE(batcher.submit(job));
  job->wait();
  REQUIRE_FALSE(job->failed());
  const std::string text = metrics.render(batcher.gauges());
  // 40 inputs of 4 tokens, at most 10 real tokens a batch: two inputs a pass, 20 passes.
  CHECK(sample(text, "bertrt_batches_total") == 20);
  CHECK(sample(text, "bertrt_batch_rows_bucket{le=\"2\"}") == 20);
  CHECK(sample(text, "bertrt_batch_tokens_total") == 160);
}

TEST_CASE("a full queue refuses, a task runs alone, and stop drains what is queued") {
  Metrics metrics;
  BatcherConfig config;
  config.workers = 1;
  config.threads = 1;
  config.max_queue = 3;
  Batcher batcher(small_model(), config, metrics);
  std::mutex m;
  std::condition_variable cv;
  bool release = false, started = false;
  auto blocker = std::make_shared<Job>([&](bertrt::Session&) {
    std::unique_lock lock(m);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  REQUIRE(batcher.submit(blocker));
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return started; });  // the worker holds the blocker: the queue is empty
  }
  std::mt19937 rng(3);
  std::vector<std::shared_ptr<Job>> queued;
  for (int i = 0; i < 3; ++i) {
    queued.push_back(std::make_shared<Job>(std::vector<std::vector<int64_t>>{random_input(rng, 8)}, OutputSpec{}));
    CHECK(batcher.submit(queued.back()));
  }
  CHECK(batcher.gauges().requests == 3);
  CHECK(batcher.gauges().inputs == 3);
  auto refused = std::make_shared<Job>(std::vector<std::vector<int64_t>>{random_input(rng, 8)}, OutputSpec{});
  CHECK_FALSE(batcher.submit(refused));
  auto failing = std::make_shared<Job>([](bertrt::Session&) { throw bertrt::Error(BERTRT_ERROR_SHAPE, "bad shape"); });
  CHECK_FALSE(batcher.submit(failing));  // still full
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  batcher.stop();  // drains the three queued jobs, then joins
  for (auto& job : queued) {
    job->wait();
    CHECK_FALSE(job->failed());
    CHECK(job->results()[0].size() == small_model().hidden_size());
  }
  CHECK_FALSE(batcher.submit(refused));  // stopped
}

TEST_CASE("a task's error is its job's") {
  Metrics metrics;
  BatcherConfig config;
  config.threads = 1;
  Batcher batcher(small_model(), config, metrics);
  auto failing = std::make_shared<Job>([](bertrt::Session&) { throw bertrt::Error(BERTRT_ERROR_SHAPE, "bad shape"); });
  REQUIRE(batcher.submit(failing));
  failing->wait();
  CHECK(failing->failed());
  CHECK(failing->error_status() == BERTRT_ERROR_SHAPE);
  CHECK(failing->error() == "bad shape");
}
