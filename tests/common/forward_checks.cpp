#include "common/forward_checks.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/fixtures.h"
#include "common/npy.h"

namespace bertrt::testing {

namespace fs = std::filesystem;

std::vector<GoldenCase> golden_cases(const fs::path& root) {
  std::ifstream f(root / "manifest.json");
  const nlohmann::json doc = nlohmann::json::parse(f);
  std::vector<GoldenCase> out;
  for (const auto& c : doc["cases"])
    out.push_back({c["model"], c["case"], root / c["dir"].get<std::string>(),
                   c["inputs"].get<std::map<std::string, std::string>>(),
                   c["outputs"].get<std::map<std::string, std::string>>()});
  return out;
}

std::string converted_with(const fs::path& model_dir, const std::string& tag,
                           const bertrt::convert::ConvertOptions& o) {
  static std::map<std::string, std::string> cache;
  const std::string variant = std::to_string(static_cast<int>(o.dtype)) + (o.pack_matrices ? "" : "-row-major") +
                              (o.bf16_dot ? "" : "-storage") + (o.heads ? "" : "-no-heads");
  const std::string key = model_dir.string() + "@" + variant;
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const std::string out = (temp_dir("golden-cosine") / (tag + "-" + variant + ".bertrt")).string();
  bertrt::convert::convert_directory(model_dir.string(), out, o);
  cache[key] = out;
  return out;
}

double cosine(const float* a, const float* b, size_t n) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

namespace {

// Least and mean cosine and max abs difference over rows.
struct Figures {
  double min_cos = 1.0, sum_cos = 0.0, max_abs = 0.0;
  size_t count = 0;
  void add(const float* got, const float* want, size_t n) {
    const double cos = cosine(got, want, n);
    min_cos = std::isnan(cos) ? -1.0 : std::min(min_cos, cos);
    sum_cos += cos;
    ++count;
    for (size_t i = 0; i < n; ++i) max_abs = std::max(max_abs, static_cast<double>(std::fabs(got[i] - want[i])));
  }
  double mean() const { return count ? sum_cos / static_cast<double>(count) : 0.0; }
};

std::vector<int64_t> ids_input(const GoldenCase& c, const char* role) {
  auto it = c.inputs.find(role);
  if (it == c.inputs.end()) return {};
  return npy::as_int64(npy::read((c.dir / it->second).string()), role);
}

const int64_t* ptr(const std::vector<int64_t>& v) { return v.empty() ? nullptr : v.data(); }

std::vector<float> golden(const GoldenCase& c, const char* role, size_t size) {
  std::vector<float> g = npy::as_float32(npy::read((c.dir / c.outputs.at(role)).string()), role);
  REQUIRE(g.size() == size);
  return g;
}

}  // namespace

void check_golden_cosine(const GoldenCase& c, const std::string& model_path, const std::string& dtype,
                         CosineBars bars, const std::function<void(bertrt_model*)>& inspect) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  bertrt_model* model = nullptr;
  REQUIRE_MESSAGE(bertrt_model_open(model_path.c_str(), nullptr, &model) == BERTRT_OK, bertrt_last_error());
  bertrt_config cfg{};
  REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
  CHECK(std::string(cfg.weight_dtype) == dtype);
  if (inspect) inspect(model);
  bertrt_session* session = nullptr;
  REQUIRE(bertrt_session_create(model, &session) == BERTRT_OK);
  const auto ids = ids_input(c, "input_ids"), mask = ids_input(c, "attention_mask"),
             types = ids_input(c, "token_type_ids"), positions = ids_input(c, "position_ids");
  std::vector<float> embeds;
  const npy::Array shape_src = npy::read((c.dir / c.inputs.at(ids.empty() ? "inputs_embeds" : "input_ids")).string());
  const size_t B = shape_src.shape[0], T = shape_src.shape[1], H = static_cast<size_t>(cfg.hidden_size);
  if (ids.empty()) embeds = npy::as_float32(shape_src, "inputs_embeds");
  const bool pooler = cfg.has_pooler && c.outputs.count("pooler_output");
  std::vector<float> last(B * T * H, kNaN), pooled(B * H, kNaN);
  bertrt_forward_inputs in{};
  in.input_ids = ptr(ids);
  in.inputs_embeds = ids.empty() ? embeds.data() : nullptr;
  in.attention_mask = ptr(mask);
  in.token_type_ids = ptr(types);
  in.position_ids = ptr(positions);
  in.batch = B;
  in.seq_len = T;
  bertrt_forward_outputs out{};
  out.last_hidden_state = last.data();
  out.pooler_output = pooler ? pooled.data() : nullptr;
  REQUIRE_MESSAGE(bertrt_session_forward(session, &in, &out) == BERTRT_OK, bertrt_last_error());

  bool finite = true;
  for (float v : last) finite = finite && std::isfinite(v);
  CHECK_MESSAGE(finite, c.model << "/" << c.name << ": an element of last_hidden_state is not finite (unwritten?)");
  const std::vector<float> gl = golden(c, "last_hidden_state", last.size());
  Figures tokens;
  for (size_t r = 0; r < B * T; ++r)
    if (mask.empty() || mask[r] != 0) tokens.add(&last[r * H], &gl[r * H], H);
  std::ostringstream line;
  line << c.model << "/" << c.name << " (" << dtype << "): last_hidden_state cosine min " << tokens.min_cos << " mean "
       << tokens.mean() << " over " << tokens.count << " tokens, max abs diff " << tokens.max_abs;
  CHECK_MESSAGE(tokens.min_cos >= bars.token, line.str());
  if (pooler) {
    const std::vector<float> gp = golden(c, "pooler_output", pooled.size());
    Figures rows;
    for (size_t b = 0; b < B; ++b) rows.add(&pooled[b * H], &gp[b * H], H);
    line << "; pooler_output cosine min " << rows.min_cos << " mean " << rows.mean() << ", max abs diff "
         << rows.max_abs;
    CHECK_MESSAGE(rows.min_cos >= bars.pooler, line.str());
  }
  MESSAGE(line.str());
  bertrt_session_free(session);
  bertrt_model_free(model);
}

RandomInputs random_inputs(const bertrt_config& cfg, size_t batch, size_t seq, std::mt19937& rng) {
  RandomInputs in{batch, seq, std::vector<int64_t>(batch * seq), std::vector<int64_t>(batch * seq, 1)};
  for (auto& id : in.ids) id = std::uniform_int_distribution<int64_t>(1, cfg.vocab_size - 1)(rng);
  for (size_t b = 1; b < batch; ++b) {
    const size_t pad = std::uniform_int_distribution<size_t>(1, seq / 2)(rng);
    for (size_t t = seq - pad; t < seq; ++t) in.mask[b * seq + t] = 0;
  }
  return in;
}

std::vector<float> forward_outputs(bertrt_session* s, const RandomInputs& in, size_t hidden, bool pooler) {
  const size_t rows = in.batch * in.seq + (pooler ? in.batch : 0);
  std::vector<float> out(rows * hidden, std::numeric_limits<float>::quiet_NaN());
  bertrt_forward_inputs fi{};
  fi.input_ids = in.ids.data();
  fi.attention_mask = in.mask.data();
  fi.batch = in.batch;
  fi.seq_len = in.seq;
  bertrt_forward_outputs fo{};
  fo.last_hidden_state = out.data();
  fo.pooler_output = pooler ? out.data() + in.batch * in.seq * hidden : nullptr;
  REQUIRE_MESSAGE(bertrt_session_forward(s, &fi, &fo) == BERTRT_OK, bertrt_last_error());
  return out;
}

bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

}  // namespace bertrt::testing
