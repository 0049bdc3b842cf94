#include "common/fixtures.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "convert/convert.h"

namespace bertrt::testing {
namespace fs = std::filesystem;

namespace {
nlohmann::json manifest() {
  std::ifstream f(fixtures_dir() / "manifest.json");
  return nlohmann::json::parse(f);
}

struct TempRoot {
  fs::path path;
  TempRoot() {
    path = fs::temp_directory_path() / ("bertrt-test-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
TempRoot& temp_root() {
  static TempRoot root;
  return root;
}
}  // namespace

std::vector<FixtureModel> fixture_models() {
  std::vector<FixtureModel> out;
  const nlohmann::json doc = manifest();
  for (const auto& [name, m] : doc["models"].items())
    out.push_back({name, fixtures_dir() / m["dir"].get<std::string>(), m["formats"].get<std::vector<std::string>>(),
                   m["weight_dtype"].get<std::string>()});
  return out;
}

std::vector<FixtureCase> fixture_cases() {
  std::vector<FixtureCase> out;
  const nlohmann::json doc = manifest();
  for (const auto& c : doc["cases"]) {
    FixtureCase fc;
    fc.model = c["model"];
    fc.name = c["case"];
    fc.dir = fixtures_dir() / c["dir"].get<std::string>();
    fc.inputs = c["inputs"].get<std::map<std::string, std::string>>();
    fc.outputs = c["outputs"].get<std::map<std::string, std::string>>();
    fc.atol = c["atol"].get<double>();
    out.push_back(fc);
  }
  return out;
}

fs::path temp_dir(const std::string& tag) {
  static int counter = 0;
  fs::path p = temp_root().path / (tag + "-" + std::to_string(counter++));
  fs::create_directories(p);
  return p;
}

std::string converted_model(const std::string& model, const std::string& dtype) {
  static std::map<std::string, std::string> cache;
  const std::string key = model + "@" + dtype;
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  convert::ConvertOptions o;
  o.dtype = dtype == "f16"                              ? format::TensorDType::f16
            : dtype == "bf16" || dtype == "bf16-storage" ? format::TensorDType::bf16
            : dtype == "int8"                            ? format::TensorDType::i8
                                                         : format::TensorDType::f32;
  o.bf16_dot = dtype != "bf16-storage";
  const std::string out = (temp_dir("model") / (model + "-" + dtype + ".bertrt")).string();
  convert::convert_directory((fixtures_dir() / "models" / model).string(), out, o);
  cache[key] = out;
  return out;
}

std::string compare_rule(const std::string& role) {
  if (role.rfind("attentions_", 0) == 0) return "valid_query_rows";
  if (role == "last_hidden_state" || (role.rfind("hidden_states_", 0) == 0 && role != "hidden_states_0"))
    return "valid_tokens";
  return "all";
}

double max_abs_diff(const std::vector<float>& got, const npy::Array& golden, const std::string& rule,
                    const std::vector<int64_t>& mask, size_t batch, size_t seq_len) {
  const std::vector<float> g = npy::as_float32(golden, "golden");
  if (g.size() != got.size()) return INFINITY;
  double worst = 0.0;
  const size_t n = g.size();
  for (size_t i = 0; i < n; ++i) {
    bool compared = true;
    if (rule == "valid_tokens" && !mask.empty()) {
      const size_t per_token = n / (batch * seq_len);
      compared = mask[i / per_token] != 0;
    } else if (rule == "valid_query_rows" && !mask.empty()) {
      // [B, heads, T, T]: element i belongs to batch b, query row q.
      const size_t per_batch = n / batch;
      const size_t b = i / per_batch;
      const size_t q = (i / seq_len) % seq_len;
      compared = mask[b * seq_len + q] != 0;
    }
    if (!compared) continue;
    const double d = std::fabs(static_cast<double>(got[i]) - g[i]);
    if (!(d <= worst)) worst = d;  // NaN propagates as the worst
  }
  return worst;
}

}  // namespace bertrt::testing
