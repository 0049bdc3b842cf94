// bertrt_session_project: ELECTRA's embeddings_project as a stage of its own, through the C and
// C++ APIs. On every electra-tiny fixture case it turns the golden embedding output into the
// golden hidden_states_0; on fresh random vectors it equals what forward computes (bit for bit,
// at any thread count); without a projection it copies; bad input is a clear error.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bertrt/bertrt.hpp"
#include "common/fixtures.h"
#include "common/isa.h"
#include "convert/convert.h"

using namespace bertrt::testing;
namespace npy = bertrt::npy;
namespace fs = std::filesystem;

namespace {

fs::path families_dir() { return data_dir() / "fixtures-families"; }

std::string converted(const std::string& model) {
  static std::map<std::string, std::string> cache;
  if (auto it = cache.find(model); it != cache.end()) return it->second;
  const std::string out = (temp_dir("project-model") / (model + ".bertrt")).string();
  bertrt::convert::convert_directory((families_dir() / "models" / model).string(), out, {});
  return cache[model] = out;
}

std::vector<float> random_vectors(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<float> read_floats(const fs::path& path) { return npy::as_float32(npy::read(path.string()), path.string()); }

}  // namespace

TEST_CASE("project turns every electra-tiny embedding output into the golden hidden_states_0") {
  if (isa_unavailable()) return;
  bertrt::Model model(converted("electra-tiny"));
  bertrt::Session session(model);
  CHECK(model.config().embedding_size == 16);
  CHECK(model.config().hidden_size == 32);
  std::ifstream f(families_dir() / "cases.json");
  const nlohmann::json doc = nlohmann::json::parse(f);
  size_t cases = 0;
  for (const auto& j : doc["cases"]) {
    if (j["model"] != "electra-tiny") continue;
    const fs::path dir = families_dir() / j["dir"].get<std::string>();
    const npy::Array golden = npy::read((dir / j["outputs"]["hidden_states_0"].get<std::string>()).string());
    const size_t B = golden.shape[0], T = golden.shape[1];
    const auto emb = read_floats(dir / j["outputs"]["embedding_output"].get<std::string>());
    std::vector<float> hidden(B * T * 32, std::nanf(""));
    session.project(emb, B, T, hidden);
    const double diff = max_abs_diff(hidden, golden, "all", {}, B, T);
    INFO(j["case"].get<std::string>() << ": max abs diff " << diff);
    CHECK(diff <= j["atol"].get<double>());
    ++cases;
  }
  CHECK(cases >= 5);
}

TEST_CASE("project is the step forward takes, bit for bit, at any thread count") {
  if (isa_unavailable()) return;
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  bertrt::Model model(converted("electra-tiny"));
  bertrt::Session session(model);
  const size_t B = 3, T = 11, E = 16, H = 32, L = 2;
  const auto embeds = random_vectors(B * T * E, rng);
  std::vector<float> emb(B * T * E), last(B * T * H), states((L + 1) * B * T * H);
  bertrt_forward_inputs in{};
  in.inputs_embeds = embeds.data();
  in.batch = B;
  in.seq_len = T;
  bertrt_forward_outputs out{};
  out.last_hidden_state = last.data();
  out.embedding_output = emb.data();
  out.hidden_states = states.data();
  session.forward(in, out);
  const std::vector<float> want(states.begin(), states.begin() + static_cast<long>(B * T * H));
  for (int threads : {1, 2, 3}) {
    session.set_threads(threads);
    std::vector<float> got(B * T * H, std::nanf(""));
    session.project(emb, B, T, got);
    INFO("threads " << threads);
    CHECK(got == want);
  }
  // Staged lookup -> embed -> project -> encode equals forward from ids.
  std::uniform_int_distribution<int64_t> id(0, model.config().vocab_size - 1);
  std::vector<int64_t> ids(B * T);
  for (auto& x : ids) x = id(rng);
  std::vector<float> looked(B * T * E), embedded(B * T * E), projected(B * T * H), staged(B * T * H);
  session.lookup(ids, B, T, looked);
  session.embed(looked, {}, {}, B, T, embedded);
  session.project(embedded, B, T, projected);
  session.encode(projected, {}, B, T, staged);
  in.inputs_embeds = nullptr;
  in.input_ids = ids.data();
  out.embedding_output = nullptr;
  out.hidden_states = nullptr;
  session.forward(in, out);
  CHECK(staged == last);
}

TEST_CASE("project copies where the model has no projection") {
  if (isa_unavailable()) return;
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (const char* name : {"roberta-tiny", "distilbert-tiny", "bert-tiny-cls"}) {
    bertrt::Model model(converted(name));
    bertrt::Session session(model);
    const size_t B = 2, T = 7, H = model.hidden_size();
    CHECK(static_cast<size_t>(model.config().embedding_size) == H);
    const auto x = random_vectors(B * T * H, rng);
    std::vector<float> y(B * T * H, std::nanf(""));
    session.project(x, B, T, y);
    INFO(name);
    CHECK(y == x);
  }
}

TEST_CASE("project: bad input is a clear error") {
  if (isa_unavailable()) return;
  std::mt19937 rng(std::random_device{}());
  bertrt::Model model(converted("electra-tiny"));
  bertrt::Session session(model);
  bertrt_session* s = session.get();
  const size_t B = 2, T = 4;
  auto x = random_vectors(B * T * 16, rng);
  std::vector<float> y(B * T * 32);
  CHECK(bertrt_session_project(s, x.data(), 0, T, y.data()) == BERTRT_ERROR_SHAPE);
  CHECK(bertrt_session_project(s, x.data(), B, 0, y.data()) == BERTRT_ERROR_SHAPE);
  std::vector<float> long_x(41 * 16, 0.5f), long_y(41 * 32);
  CHECK(bertrt_session_project(s, long_x.data(), 1, 41, long_y.data()) == BERTRT_ERROR_SEQUENCE_TOO_LONG);
  CHECK(bertrt_session_project(s, nullptr, B, T, y.data()) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_session_project(s, x.data(), B, T, nullptr) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(bertrt_last_error()).find("hidden_out") != std::string::npos);
  CHECK(bertrt_session_project(nullptr, x.data(), B, T, y.data()) == BERTRT_ERROR_INVALID_ARGUMENT);
  x[B * T * 16 - 3] = std::numeric_limits<float>::infinity();
  CHECK(bertrt_session_project(s, x.data(), B, T, y.data()) == BERTRT_ERROR_NON_FINITE);
  const std::string message = bertrt_last_error();
  CHECK(message.find("embedding_output") != std::string::npos);
  CHECK(message.find(std::to_string(B * T * 16 - 3)) != std::string::npos);
  x[B * T * 16 - 3] = std::nanf("");
  CHECK(bertrt_session_project(s, x.data(), B, T, y.data()) == BERTRT_ERROR_NON_FINITE);
  // C++: buffers shorter than the shape says are a shape error before any call.
  std::vector<float> short_x(B * T * 16 - 1, 0.5f);
  try {
    session.project(short_x, B, T, y);
    FAIL("no error");
  } catch (const bertrt::Error& e) {
    CHECK(e.status() == BERTRT_ERROR_SHAPE);
    CHECK(std::string(e.what()).find("embedding_output") != std::string::npos);
  }
  std::vector<float> short_y(B * T * 32 - 1);
  x.assign(B * T * 16, 0.5f);
  CHECK_THROWS_AS(session.project(x, B, T, short_y), bertrt::Error);
}
