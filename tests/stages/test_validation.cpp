// Bad input at the API boundary: each kind has its own status and a message naming the problem.
// Also padding invariance: a row padded in a batch gives the result it gives alone.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "bertrt/bertrt.h"
#include "common/fixtures.h"

using namespace bertrt::testing;

namespace {

struct Fixture {
  bertrt_model* model = nullptr;
  bertrt_session* session = nullptr;
  bertrt_config cfg{};
  Fixture() {
    REQUIRE(bertrt_model_open(converted_model("tiny").c_str(), nullptr, &model) == BERTRT_OK);
    REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
    REQUIRE(bertrt_session_create(model, &session) == BERTRT_OK);
  }
  ~Fixture() {
    bertrt_session_free(session);
    bertrt_model_free(model);
  }
  size_t H() const { return static_cast<size_t>(cfg.hidden_size); }
};

bool message_has(const char* needle) { return std::string(bertrt_last_error()).find(needle) != std::string::npos; }

std::vector<int64_t> random_ids(std::mt19937& rng, size_t n, int64_t vocab) {
  std::vector<int64_t> ids(n);
  for (auto& id : ids) id = std::uniform_int_distribution<int64_t>(1, vocab - 1)(rng);
  return ids;
}

}  // namespace

TEST_CASE("token ids outside the vocabulary") {
  Fixture f;
  std::vector<float> out(4 * f.H());
  for (int64_t bad : {int64_t{-1}, f.cfg.vocab_size, f.cfg.vocab_size + 1000, INT64_MAX, INT64_MIN}) {
    std::vector<int64_t> ids = {101, 5, bad, 102};
    CHECK(bertrt_session_lookup(f.session, ids.data(), 1, 4, out.data()) == BERTRT_ERROR_TOKEN_ID);
    CHECK(message_has("input_ids[0, 2]"));
    bertrt_forward_inputs in{};
    in.input_ids = ids.data();
    in.batch = 1;
    in.seq_len = 4;
    bertrt_forward_outputs o{};
    o.last_hidden_state = out.data();
    CHECK(bertrt_session_forward(f.session, &in, &o) == BERTRT_ERROR_TOKEN_ID);
  }
}

TEST_CASE("token types and positions out of range, sequences too long, empty shapes") {
  Fixture f;
  const size_t T = 4;
  std::vector<float> embeds(T * f.H(), 0.25f), out(T * f.H());
  std::vector<int64_t> types = {0, 1, f.cfg.type_vocab_size, 0};
  CHECK(bertrt_session_embed(f.session, embeds.data(), types.data(), nullptr, 1, T, out.data()) == BERTRT_ERROR_TOKEN_TYPE);
  CHECK(message_has("token_type_ids[0, 2]"));
  types[2] = -1;
  CHECK(bertrt_session_embed(f.session, embeds.data(), types.data(), nullptr, 1, T, out.data()) == BERTRT_ERROR_TOKEN_TYPE);
  std::vector<int64_t> positions = {0, 1, 2, f.cfg.max_position_embeddings};
  CHECK(bertrt_session_embed(f.session, embeds.data(), nullptr, positions.data(), 1, T, out.data()) == BERTRT_ERROR_POSITION);
  CHECK(message_has("position_ids[0, 3]"));
  // T longer than the model allows.
  const size_t long_t = static_cast<size_t>(f.cfg.max_position_embeddings) + 1;
  std::vector<float> long_embeds(long_t * f.H(), 0.1f), long_out(long_t * f.H());
  CHECK(bertrt_session_embed(f.session, long_embeds.data(), nullptr, nullptr, 1, long_t, long_out.data()) ==
        BERTRT_ERROR_SEQUENCE_TOO_LONG);
  CHECK(bertrt_session_encode(f.session, long_embeds.data(), nullptr, 1, long_t, nullptr, long_out.data()) ==
        BERTRT_ERROR_SEQUENCE_TOO_LONG);
  // B or T zero.
  CHECK(bertrt_session_embed(f.session, embeds.data(), nullptr, nullptr, 0, T, out.data()) == BERTRT_ERROR_SHAPE);
  CHECK(bertrt_session_embed(f.session, embeds.data(), nullptr, nullptr, 1, 0, out.data()) == BERTRT_ERROR_SHAPE);
  // NULL buffers and handles.
  CHECK(bertrt_session_embed(f.session, nullptr, nullptr, nullptr, 1, T, out.data()) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_session_embed(f.session, embeds.data(), nullptr, nullptr, 1, T, nullptr) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_session_embed(nullptr, embeds.data(), nullptr, nullptr, 1, T, out.data()) == BERTRT_ERROR_INVALID_ARGUMENT);
  // forward needs exactly one of input_ids and inputs_embeds.
  bertrt_forward_inputs in{};
  in.batch = 1;
  in.seq_len = T;
  bertrt_forward_outputs o{};
  o.last_hidden_state = out.data();
  CHECK(bertrt_session_forward(f.session, &in, &o) == BERTRT_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("NaN and Inf in caller vectors are rejected (documented behaviour)") {
  Fixture f;
  const size_t T = 3;
  std::vector<float> v(T * f.H(), 0.5f), out(T * f.H());
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    v[f.H() + 3] = bad;
    CHECK(bertrt_session_embed(f.session, v.data(), nullptr, nullptr, 1, T, out.data()) == BERTRT_ERROR_NON_FINITE);
    CHECK(bertrt_session_encode(f.session, v.data(), nullptr, 1, T, nullptr, out.data()) == BERTRT_ERROR_NON_FINITE);
    std::vector<float> pooled(f.H());
    CHECK(bertrt_session_pool(f.session, v.data(), nullptr, 1, T, BERTRT_POOL_MEAN, 0, pooled.data()) ==
          BERTRT_ERROR_NON_FINITE);
  }
}

TEST_CASE("attention masks hold only 0 and 1; unknown pooling modes are rejected") {
  Fixture f;
  const size_t T = 3;
  std::vector<float> v(T * f.H(), 0.5f), out(T * f.H());
  std::vector<int64_t> mask = {1, 2, 0};
  CHECK(bertrt_session_encode(f.session, v.data(), mask.data(), 1, T, nullptr, out.data()) == BERTRT_ERROR_ATTENTION_MASK);
  std::vector<float> pooled(f.H());
  CHECK(bertrt_session_pool(f.session, v.data(), nullptr, 1, T, static_cast<bertrt_pool_mode>(42), 0, pooled.data()) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("a padded row gives the same result as the row alone") {
  Fixture f;
  std::mt19937 rng(std::random_device{}());
  const size_t H = f.H();
  for (size_t len : {size_t{1}, size_t{5}, size_t{11}}) {
    const size_t T = 16;
    const auto ids = random_ids(rng, len, f.cfg.vocab_size);
    // Alone.
    std::vector<float> alone(len * H);
    bertrt_forward_inputs in{};
    in.input_ids = ids.data();
    in.batch = 1;
    in.seq_len = len;
    bertrt_forward_outputs o{};
    o.last_hidden_state = alone.data();
    REQUIRE(bertrt_session_forward(f.session, &in, &o) == BERTRT_OK);
    // Right-padded in row 1 of a batch of 2 whose row 0 is full length.
    std::vector<int64_t> batch_ids = random_ids(rng, 2 * T, f.cfg.vocab_size), mask(2 * T, 1);
    for (size_t t = 0; t < T; ++t) {
      batch_ids[T + t] = t < len ? ids[t] : 0;
      mask[T + t] = t < len ? 1 : 0;
    }
    std::vector<float> batched(2 * T * H, std::nanf(""));
    in.input_ids = batch_ids.data();
    in.attention_mask = mask.data();
    in.batch = 2;
    in.seq_len = T;
    o.last_hidden_state = batched.data();
    REQUIRE(bertrt_session_forward(f.session, &in, &o) == BERTRT_OK);
    double worst = 0;
    for (size_t t = 0; t < len; ++t)
      for (size_t j = 0; j < H; ++j) worst = std::max(worst, std::fabs(double(batched[(T + t) * H + j]) - alone[t * H + j]));
    INFO("len " << len << ": max diff " << worst);
    CHECK(worst <= 1e-5);
    // Outputs at padded positions are finite.
    for (size_t i = (T + len) * H; i < 2 * T * H; ++i) REQUIRE(std::isfinite(batched[i]));
  }
}

TEST_CASE("a session reused at the same and smaller shapes gives the same results") {
  Fixture f;
  std::mt19937 rng(std::random_device{}());
  const size_t H = f.H();
  auto forward = [&](const std::vector<int64_t>& ids, size_t B, size_t T) {
    std::vector<float> out(B * T * H);
    bertrt_forward_inputs in{};
    in.input_ids = ids.data();
    in.batch = B;
    in.seq_len = T;
    bertrt_forward_outputs o{};
    o.last_hidden_state = out.data();
    REQUIRE(bertrt_session_forward(f.session, &in, &o) == BERTRT_OK);
    return out;
  };
  const auto big = random_ids(rng, 3 * 20, f.cfg.vocab_size);
  const auto small = random_ids(rng, 7, f.cfg.vocab_size);
  const auto first_small = forward(small, 1, 7);
  const auto first_big = forward(big, 3, 20);
  CHECK(forward(small, 1, 7) == first_small);
  CHECK(forward(big, 3, 20) == first_big);
}
