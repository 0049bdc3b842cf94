// One Model shared by 8 threads, each with its own Session, running forward at once: every result
// equals the single-threaded one. Built under ThreadSanitizer in CI.
#include <doctest/doctest.h>

#include <random>
#include <thread>

#include "bertrt/bertrt.h"
#include "common/fixtures.h"

using namespace bertrt::testing;

TEST_CASE("8 threads, one model, a session each: results equal the single-threaded ones") {
  bertrt_model* model = nullptr;
  REQUIRE(bertrt_model_open(converted_model("small").c_str(), nullptr, &model) == BERTRT_OK);
  bertrt_config cfg{};
  REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
  const size_t B = 2, T = 24, H = static_cast<size_t>(cfg.hidden_size);
  constexpr int kThreads = 8;
  std::mt19937 rng(std::random_device{}());
  std::vector<std::vector<int64_t>> ids(kThreads, std::vector<int64_t>(B * T));
  std::vector<std::vector<int64_t>> masks(kThreads, std::vector<int64_t>(B * T, 1));
  for (int k = 0; k < kThreads; ++k) {
    for (auto& id : ids[k]) id = std::uniform_int_distribution<int64_t>(1, cfg.vocab_size - 1)(rng);
    for (size_t t = T - static_cast<size_t>(k); t < T; ++t) masks[k][T + t] = 0;  // row 1 padded by k
  }
  auto forward = [&](bertrt_session* s, int k, std::vector<float>& out) {
    bertrt_forward_inputs in{};
    in.input_ids = ids[k].data();
    in.attention_mask = masks[k].data();
    in.batch = B;
    in.seq_len = T;
    bertrt_forward_outputs o{};
    o.last_hidden_state = out.data();
    return bertrt_session_forward(s, &in, &o);
  };
  // Single-threaded reference, one session, sequentially.
  std::vector<std::vector<float>> expected(kThreads, std::vector<float>(B * T * H));
  bertrt_session* single = nullptr;
  REQUIRE(bertrt_session_create(model, &single) == BERTRT_OK);
  REQUIRE(bertrt_session_set_threads(single, 1) == BERTRT_OK);
  for (int k = 0; k < kThreads; ++k) REQUIRE(forward(single, k, expected[k]) == BERTRT_OK);
  bertrt_session_free(single);

  std::vector<std::vector<float>> got(kThreads, std::vector<float>(B * T * H));
  std::vector<bertrt_status> status(kThreads, BERTRT_ERROR_INTERNAL);
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k)
    threads.emplace_back([&, k] {
      bertrt_session* s = nullptr;
      if (bertrt_session_create(model, &s) != BERTRT_OK) return;
      bertrt_session_set_threads(s, 1);
      for (int rep = 0; rep < 3 && (status[k] = forward(s, k, got[k])) == BERTRT_OK; ++rep) {
      }
      bertrt_session_free(s);
    });
  for (auto& t : threads) t.join();
  for (int k = 0; k < kThreads; ++k) {
    CHECK(status[k] == BERTRT_OK);
    CHECK(got[k] == expected[k]);
  }
  bertrt_model_free(model);
}
