// The session's thread team under real concurrency (built under ThreadSanitizer in CI):
// - one session (f32, f16, bf16 and int8 weights) at 1, 2, 3 and 4 threads on shapes where the
//   work really splits: bit-identical results, and more than one thread ran jobs; the same for a
//   packed batch (sequences of mixed lengths back to back);
// - 8 sessions x 4 threads on one model at once, every result equal to the single-threaded one;
// - sessions started and freed while other sessions run.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <string>
#include <random>
#include <thread>

#include "bertrt/bertrt.h"
#include "c_api_types.h"
#include "common/fixtures.h"
#include "common/forward_checks.h"
#include "threads/phases.h"

using namespace bertrt::testing;

namespace {

// Forwards on random_inputs (common/forward_checks.h): random ids, rows padded by different
// amounts (masked keys and skipped rows in every phase).
bertrt_status forward(bertrt_session* s, const RandomInputs& in, std::vector<float>& out) {
  bertrt_forward_inputs fi{};
  fi.input_ids = in.ids.data();
  fi.attention_mask = in.mask.data();
  fi.batch = in.batch;
  fi.seq_len = in.seq;
  bertrt_forward_outputs fo{};
  fo.last_hidden_state = out.data();
  return bertrt_session_forward(s, &fi, &fo);
}

// Threads that ran at least one job in the session's last parallel run.
int threads_that_worked(const bertrt_session* s) {
  int n = 0;
  for (long jobs : s->impl.jobs_by_thread()) n += jobs > 0 ? 1 : 0;
  return n;
}

struct Fixture {
  bertrt_model* model = nullptr;
  bertrt_config cfg{};
  explicit Fixture(const std::string& dtype = "f32") {
    REQUIRE(bertrt_model_open(converted_model("small", dtype).c_str(), nullptr, &model) == BERTRT_OK);
    REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
  }
  ~Fixture() { bertrt_model_free(model); }
  size_t hidden() const { return static_cast<size_t>(cfg.hidden_size); }
};

}  // namespace

TEST_CASE("one session at 1, 2, 3, 4 threads: bit-identical, and the work really splits") {
  for (const char* dtype : {"f32", "f16", "bf16", "int8"}) {
    CAPTURE(dtype);
    Fixture f(dtype);
    std::mt19937 rng(std::random_device{}());
    const RandomInputs in = random_inputs(f.cfg, 4, 128, rng);  // ~65 MFLOP per layer: splits at the default cut-off
    std::vector<float> expected(in.batch * in.seq * f.hidden());
    bertrt_session* s = nullptr;
    REQUIRE(bertrt_session_create(f.model, &s) == BERTRT_OK);
    REQUIRE(bertrt_session_set_threads(s, 1) == BERTRT_OK);
    REQUIRE(forward(s, in, expected) == BERTRT_OK);
    CHECK(threads_that_worked(s) == 1);
    for (int threads : {2, 3, 4}) {
      CAPTURE(threads);
      REQUIRE(bertrt_session_set_threads(s, threads) == BERTRT_OK);
      // A helper may wake after the caller has finished alone (the caller never waits for one):
      // repeat until a run shows more than one thread at work, comparing every result.
      int most = 0;
      for (int attempt = 0; attempt < 50 && most < 2; ++attempt) {
        std::vector<float> got(expected.size(), std::numeric_limits<float>::quiet_NaN());
        REQUIRE(forward(s, in, got) == BERTRT_OK);
        REQUIRE(got == expected);
        most = std::max(most, threads_that_worked(s));
      }
      CHECK(most >= 2);
    }
    bertrt_session_free(s);
  }
}

TEST_CASE("a packed batch at 1, 2, 3 threads: bit-identical, and the work really splits") {
  for (const char* dtype : {"f32", "bf16", "int8"}) {
    CAPTURE(dtype);
    Fixture f(dtype);
    std::mt19937 rng(std::random_device{}());
    // 6 sequences of 1..128 tokens back to back: row blocks cross sequence boundaries.
    std::vector<int64_t> offsets{0};
    for (size_t b = 0; b < 6; ++b)
      offsets.push_back(offsets.back() + (b == 0 ? 1 : std::uniform_int_distribution<int64_t>(2, 128)(rng)));
    const size_t n = static_cast<size_t>(offsets.back());
    std::vector<int64_t> ids(n);
    for (auto& id : ids) id = std::uniform_int_distribution<int64_t>(1, f.cfg.vocab_size - 1)(rng);
    bertrt_packed_inputs in{};
    in.input_ids = ids.data();
    in.offsets = offsets.data();
    in.batch = 6;
    auto run = [&](bertrt_session* s, std::vector<float>& out) {
      bertrt_forward_outputs fo{};
      fo.last_hidden_state = out.data();
      return bertrt_session_forward_packed(s, &in, &fo);
    };
    std::vector<float> expected(n * f.hidden());
    bertrt_session* s = nullptr;
    REQUIRE(bertrt_session_create(f.model, &s) == BERTRT_OK);
    REQUIRE(bertrt_session_set_threads(s, 1) == BERTRT_OK);
    REQUIRE(run(s, expected) == BERTRT_OK);
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      REQUIRE(bertrt_session_set_threads(s, threads) == BERTRT_OK);
      int most = 0;
      for (int attempt = 0; attempt < 50 && most < 2; ++attempt) {
        std::vector<float> got(expected.size(), std::numeric_limits<float>::quiet_NaN());
        REQUIRE(run(s, got) == BERTRT_OK);
        REQUIRE(got == expected);
        most = std::max(most, threads_that_worked(s));
      }
      CHECK(most >= 2);
    }
    bertrt_session_free(s);
  }
}

TEST_CASE("the work cut-off lifted: tiny shapes split too, with the same bits") {
  Fixture f;
  std::mt19937 rng(std::random_device{}());
  bertrt_session* s = nullptr;
  REQUIRE(bertrt_session_create(f.model, &s) == BERTRT_OK);
  // 3 x 11: three row blocks, one per thread; 1 x 40: one row block, so the threads share out the
  // column blocks instead (stages/linear.h).
  for (const auto& [batch, seq] : {std::pair<size_t, size_t>{3, 11}, {1, 40}}) {
    CAPTURE(batch);
    const RandomInputs in = random_inputs(f.cfg, batch, seq, rng);
    std::vector<float> expected(in.batch * in.seq * f.hidden());
    REQUIRE(bertrt_session_set_threads(s, 1) == BERTRT_OK);
    REQUIRE(forward(s, in, expected) == BERTRT_OK);
    REQUIRE(bertrt_session_set_threads(s, 3) == BERTRT_OK);
    bertrt::core::set_min_flops_per_thread(0.0);
    int most = 0;
    for (int attempt = 0; attempt < 50 && most < 2; ++attempt) {
      std::vector<float> got(expected.size(), std::numeric_limits<float>::quiet_NaN());
      REQUIRE(forward(s, in, got) == BERTRT_OK);
      CHECK(got == expected);
      most = std::max(most, threads_that_worked(s));
    }
    bertrt::core::set_min_flops_per_thread(4e6);
    CHECK(most >= 2);
  }
  bertrt_session_free(s);
}

TEST_CASE("8 sessions x 4 threads on one model at once: results equal the single-threaded ones") {
  Fixture f;
  constexpr int kSessions = 8;
  std::mt19937 rng(std::random_device{}());
  std::vector<RandomInputs> inputs;
  for (int k = 0; k < kSessions; ++k) inputs.push_back(random_inputs(f.cfg, 4, 96 + 4 * static_cast<size_t>(k), rng));
  std::vector<std::vector<float>> expected(kSessions);
  bertrt_session* single = nullptr;
  REQUIRE(bertrt_session_create(f.model, &single) == BERTRT_OK);
  REQUIRE(bertrt_session_set_threads(single, 1) == BERTRT_OK);
  for (int k = 0; k < kSessions; ++k) {
    expected[k].resize(inputs[k].ids.size() * f.hidden());
    REQUIRE(forward(single, inputs[k], expected[k]) == BERTRT_OK);
  }
  bertrt_session_free(single);

  std::vector<std::vector<float>> got(kSessions);
  std::vector<bertrt_status> status(kSessions, BERTRT_ERROR_INTERNAL);
  std::vector<int> most(kSessions, 0);
  std::vector<char> equal(kSessions, 1);
  std::vector<std::thread> threads;
  for (int k = 0; k < kSessions; ++k)
    threads.emplace_back([&, k] {
      bertrt_session* s = nullptr;
      if (bertrt_session_create(f.model, &s) != BERTRT_OK) return;
      bertrt_session_set_threads(s, 4);
      got[k].assign(expected[k].size(), std::numeric_limits<float>::quiet_NaN());
      for (int rep = 0; rep < 3 && (status[k] = forward(s, inputs[k], got[k])) == BERTRT_OK; ++rep) {
        equal[k] = equal[k] && got[k] == expected[k];
        most[k] = std::max(most[k], threads_that_worked(s));
      }
      bertrt_session_free(s);
    });
  for (auto& t : threads) t.join();
  int split = 0;
  for (int k = 0; k < kSessions; ++k) {
    CAPTURE(k);
    CHECK(status[k] == BERTRT_OK);
    CHECK(equal[k]);
    split += most[k] >= 2 ? 1 : 0;
  }
  MESSAGE(split << " of " << kSessions << " sessions ran jobs on more than one thread");
  CHECK(split >= 1);
}

TEST_CASE("sessions started and freed while other sessions run") {
  Fixture f;
  std::mt19937 rng(std::random_device{}());
  const RandomInputs in = random_inputs(f.cfg, 2, 64, rng);
  std::vector<float> expected(in.ids.size() * f.hidden());
  bertrt_session* single = nullptr;
  REQUIRE(bertrt_session_create(f.model, &single) == BERTRT_OK);
  REQUIRE(bertrt_session_set_threads(single, 1) == BERTRT_OK);
  REQUIRE(forward(single, in, expected) == BERTRT_OK);
  bertrt_session_free(single);

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<long> runs{0};
  auto check = [&](bertrt_session* s) {
    std::vector<float> got(expected.size());
    if (forward(s, in, got) != BERTRT_OK || got != expected) failures.fetch_add(1);
    runs.fetch_add(1);
  };
  std::vector<std::thread> threads;
  // Two long-lived sessions keep running ...
  for (int k = 0; k < 2; ++k)
    threads.emplace_back([&] {
      bertrt_session* s = nullptr;
      if (bertrt_session_create(f.model, &s) != BERTRT_OK) return void(failures.fetch_add(1));
      bertrt_session_set_threads(s, 3);
      while (!stop.load()) check(s);
      bertrt_session_free(s);
    });
  // ... while three threads create a session, run it (or not), and free it, over and over.
  std::vector<std::thread> churn;
  for (int k = 0; k < 3; ++k)
    churn.emplace_back([&, k] {
      for (int i = 0; i < 12; ++i) {
        bertrt_session* s = nullptr;
        if (bertrt_session_create(f.model, &s) != BERTRT_OK) return void(failures.fetch_add(1));
        bertrt_session_set_threads(s, 2 + (i + k) % 3);
        if (i % 3 != 2) check(s);  // every third session is freed without a run
        bertrt_session_free(s);
      }
    });
  for (auto& t : churn) t.join();
  stop.store(true);
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  CHECK(runs.load() >= 24);
}

// Run by meson with BERTRT_NUM_THREADS=1 and with BERTRT_NUM_THREADS=abc (tests/stages/meson.build);
// without the variable it checks nothing of it.
TEST_CASE("BERTRT_NUM_THREADS sets the default thread count, and a bad value is an error") {
  const char* env = std::getenv("BERTRT_NUM_THREADS");
  if (env == nullptr) return;
  Fixture f;
  std::mt19937 rng(std::random_device{}());
  const RandomInputs in = random_inputs(f.cfg, 4, 128, rng);
  std::vector<float> out(in.ids.size() * f.hidden(), std::numeric_limits<float>::quiet_NaN());
  bertrt_session* s = nullptr;
  REQUIRE(bertrt_session_create(f.model, &s) == BERTRT_OK);  // threads 0: the default
  if (std::string(env) == "1") {
    for (int i = 0; i < 3; ++i) {
      REQUIRE(forward(s, in, out) == BERTRT_OK);
      CHECK(threads_that_worked(s) == 1);
    }
    REQUIRE(bertrt_session_set_threads(s, 2) == BERTRT_OK);  // an explicit count still wins
    int most = 0;
    for (int attempt = 0; attempt < 50 && most < 2; ++attempt) {
      REQUIRE(forward(s, in, out) == BERTRT_OK);
      most = std::max(most, threads_that_worked(s));
    }
    CHECK(most == 2);
  } else {
    CHECK(forward(s, in, out) == BERTRT_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(bertrt_last_error()).find("BERTRT_NUM_THREADS") != std::string::npos);
  }
  bertrt_session_free(s);
}
