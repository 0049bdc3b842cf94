// The C++ layer (bertrt.hpp): RAII handles, span size checks (mismatched shapes are
// BERTRT_ERROR_SHAPE before anything runs), exceptions carrying the status, and the same results
// as the C API.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "common/fixtures.h"
#include "common/status.h"

using bertrt::testing::converted_model;
using bertrt::testing::status_of;

TEST_CASE("mismatched buffer sizes are shape errors") {
  bertrt::Model model(converted_model("tiny"));
  bertrt::Session session(model);
  const size_t H = model.hidden_size();
  std::vector<int64_t> ids = {101, 7, 8, 102};
  std::vector<float> out(4 * H), short_out(4 * H - 1);
  CHECK(status_of([&] { session.lookup(ids, 1, 4, out); }) == BERTRT_OK);
  CHECK(status_of([&] { session.lookup(ids, 1, 4, short_out); }) == BERTRT_ERROR_SHAPE);
  CHECK(status_of([&] { session.lookup(ids, 2, 4, out); }) == BERTRT_ERROR_SHAPE);
  std::vector<int64_t> short_mask = {1, 1, 1};
  CHECK(status_of([&] { session.encode(out, short_mask, 1, 4, out); }) == BERTRT_ERROR_SHAPE);
  std::vector<float> hidden_states(2 * 4 * H);  // needs (L + 1) * B * T * H
  CHECK(status_of([&] { session.encode(out, {}, 1, 4, out, hidden_states); }) == BERTRT_ERROR_SHAPE);
  // Errors from the C layer carry their status and message.
  ids[1] = 1 << 20;
  try {
    session.lookup(ids, 1, 4, out);
    FAIL("no exception");
  } catch (const bertrt::Error& e) {
    CHECK(e.status() == BERTRT_ERROR_TOKEN_ID);
    CHECK(std::string(e.what()).find("input_ids[0, 1]") != std::string::npos);
  }
  CHECK_THROWS_AS(bertrt::Model("/nonexistent.bertrt"), bertrt::Error);
}

TEST_CASE("the C++ seed workflow equals the C forward from the same embeddings") {
  bertrt::Model model(converted_model("small"));
  bertrt::Session session(model);
  bertrt::Tokenizer tokenizer(model);
  const bertrt::Encoding enc = tokenizer.encode("Hello, my dog is cute");
  const size_t T = enc.ids.size(), H = model.hidden_size();
  std::vector<float> embeds(T * H), hidden(T * H), last(T * H, NAN), via_forward(T * H, NAN);
  session.lookup(enc.ids, 1, T, embeds);
  for (float& x : embeds) x *= 1.5f;
  session.embed(embeds, enc.token_type_ids, {}, 1, T, hidden);
  session.encode(hidden, enc.attention_mask, 1, T, last);
  bertrt_forward_inputs in{};
  in.inputs_embeds = embeds.data();
  in.token_type_ids = enc.token_type_ids.data();
  in.attention_mask = enc.attention_mask.data();
  in.batch = 1;
  in.seq_len = T;
  bertrt_forward_outputs o{};
  o.last_hidden_state = via_forward.data();
  session.forward(in, o);
  CHECK(last == via_forward);
  CHECK(tokenizer.id_to_token(enc.ids.front()) == "[CLS]");
}
