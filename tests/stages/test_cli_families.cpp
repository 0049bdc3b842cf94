// Every case of the family fixtures (tests/data/fixtures-families/cases.json) through the
// command-line tool: bertrt convert (once per model and test process), bertrt info (the family),
// and bertrt run --stage lookup -> embed -> project -> encode (with --pool pooler where the model
// has a pooler), forward from the case's own inputs, and, for cases given as ids, forward from the
// looked-up vectors with the position ids the model derived. Every output file the case has a
// golden for (the head's logits.npy from forward included) is compared at the case's atol under the
// file's compare rule. meson runs this once per BERTRT_ISA level, which the tool inherits; under qemu-user the
// tool runs through BERTRT_CLI_WRAPPER (the emulator command line).
// Also ELECTRA's projection stage on bad input: clear errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <nlohmann/json.hpp>

#include "bertrt/bertrt.h"
#include "common/fixtures.h"
#include "common/isa.h"

using namespace bertrt::testing;
namespace fs = std::filesystem;
namespace npy = bertrt::npy;

namespace {

fs::path families_dir() { return data_dir() / "fixtures-families"; }
std::string quote(const std::string& s) { return "'" + s + "'"; }

const nlohmann::json& cases_json() {
  static const nlohmann::json doc = [] {
    std::ifstream f(families_dir() / "cases.json");
    return nlohmann::json::parse(f);
  }();
  return doc;
}

// Runs the tool; returns its exit status and, in *output, stdout and stderr.
int run(const std::string& args, std::string* output = nullptr) {
  const char* wrapper = std::getenv("BERTRT_CLI_WRAPPER");
  const std::string cmd = std::string(wrapper && *wrapper ? std::string(wrapper) + " " : "") + quote(BERTRT_CLI) +
                          " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string text;
  char buf[4096];
  for (size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, got);
  const int status = ::pclose(p);
  INFO("bertrt " << args << "\n" << text);
  if (output) *output = text;
  return status;
}

void run_ok(const std::string& args) {
  std::string text;
  const int status = run(args, &text);
  INFO("bertrt " << args << "\n" << text);
  REQUIRE(status == 0);
}

// The model file of a fixture model: converted by the tool once per test process; the tool's
// `info` must name the family.
std::string converted(const std::string& model) {
  static std::map<std::string, std::string> cache;
  if (auto it = cache.find(model); it != cache.end()) return it->second;
  const std::string out = (temp_dir("cli-fam-model") / (model + ".bertrt")).string();
  run_ok("convert " + quote((families_dir() / "models" / model).string()) + " -o " + quote(out));
  std::string info;
  REQUIRE(run("info " + quote(out), &info) == 0);
  const std::string family = cases_json()["models"][model]["model_type"].get<std::string>();
  INFO(info);
  CHECK(info.find("family: " + family) != std::string::npos);
  cache[model] = out;
  return out;
}

// The derived position ids of a case as a C-order int64 .npy (some are stored in Fortran order,
// which the tool's reader refuses, as numpy files given to it would be in C order).
std::string positions_c_order(const nlohmann::json& j, const fs::path& dir, const fs::path& tmp) {
  const std::string name = j["derived_position_ids"].get<std::string>();
  const auto shape = j["files"][name]["shape"].get<std::vector<size_t>>();
  REQUIRE(shape.size() == 2);
  std::ifstream f(dir / name, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t rows = shape[0], cols = shape[1], data_bytes = rows * cols * sizeof(int64_t);
  REQUIRE(bytes.size() > data_bytes);
  const std::string header = bytes.substr(0, bytes.size() - data_bytes);
  REQUIRE(header.find("'<i8'") != std::string::npos);
  const bool fortran = header.find("'fortran_order': True") != std::string::npos;
  std::vector<int64_t> raw(rows * cols), ids(rows * cols);
  std::memcpy(raw.data(), bytes.data() + header.size(), data_bytes);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) ids[r * cols + c] = fortran ? raw[c * rows + r] : raw[r * cols + c];
  const std::string out = (tmp / "position_ids.npy").string();
  npy::write_int64(out, ids.data(), {rows, cols});
  return out;
}

struct CliCase {
  const nlohmann::json& j;
  fs::path dir;
  std::string label;  // model/case
  std::vector<int64_t> mask;
  size_t batch = 0, seq_len = 0;

  bool has(const std::string& role) const { return j["inputs"].contains(role); }
  std::string input(const std::string& role) const { return (dir / j["inputs"][role].get<std::string>()).string(); }
  // " --option 'file'" for an input the case gives, else nothing.
  std::string option(const std::string& flag, const std::string& role) const {
    return has(role) ? " " + flag + " " + quote(input(role)) : std::string();
  }
  // Compares out_dir/file with the golden of role; the file must exist.
  void compare(const fs::path& out_dir, const std::string& file, const std::string& role, const std::string& via) const {
    const fs::path got_path = out_dir / file;
    INFO(label << ": " << via);
    REQUIRE_MESSAGE(fs::exists(got_path), via << " wrote no " << file);
    const auto got = npy::as_float32(npy::read(got_path.string()), role);
    const std::string golden = j["outputs"][role].get<std::string>();
    const double diff = max_abs_diff(got, npy::read((dir / golden).string()),
                                     j["files"][golden]["compare"].get<std::string>(), mask, batch, seq_len);
    size_t non_finite = 0;
    for (float v : got) non_finite += std::isfinite(v) ? 0 : 1;
    INFO(label << " " << role << " via " << via << ": max abs diff " << diff << ", " << non_finite
               << " elements not finite");
    CHECK(diff <= j["atol"].get<double>());
    CHECK(non_finite == 0);
  }
  // Every golden forward writes (lookup's inputs_embeds left out; a head's logits included).
  void compare_all(const fs::path& out_dir, const std::string& via) const {
    for (const auto& [role, file] : j["outputs"].items())
      if (role != "inputs_embeds") compare(out_dir, role + ".npy", role, via);
  }
};

void run_case(const CliCase& c, const std::string& model_file) {
  const std::string model = quote(model_file);
  const std::string types = c.option("--token-type-ids", "token_type_ids"),
                    mask = c.option("--attention-mask", "attention_mask");
  const fs::path tmp = temp_dir("cli-fam-case");
  auto out = [&](const char* stage) {
    const fs::path d = tmp / stage;
    return std::make_pair(d, " --out " + quote(d.string()));
  };
  // The position ids of the staged path: the case's own, else those the model derived (from ids
  // they depend on the padding, which embed cannot see).
  const std::string positions = c.has("position_ids") ? c.input("position_ids") : positions_c_order(c.j, c.dir, tmp);

  std::string embeds = c.has("inputs_embeds") ? c.input("inputs_embeds") : std::string();
  if (c.has("input_ids")) {
    const auto [dir, o] = out("lookup");
    run_ok("run " + model + " --stage lookup" + c.option("--input-ids", "input_ids") + o);
    c.compare(dir, "inputs_embeds.npy", "inputs_embeds", "run --stage lookup");
    embeds = (dir / "inputs_embeds.npy").string();
  }
  const auto [embed_dir, embed_o] = out("embed");
  run_ok("run " + model + " --stage embed --inputs-embeds " + quote(embeds) + types + " --position-ids " +
         quote(positions) + embed_o);
  c.compare(embed_dir, "embedding_output.npy", "embedding_output", "run --stage embed");

  const auto [project_dir, project_o] = out("project");
  run_ok("run " + model + " --stage project --embedding-output " + quote((embed_dir / "embedding_output.npy").string()) +
         project_o);
  c.compare(project_dir, "hidden_states_0.npy", "hidden_states_0", "run --stage project");

  const bool pooler = c.j["outputs"].contains("pooler_output");
  const auto [encode_dir, encode_o] = out("encode");
  run_ok("run " + model + " --stage encode --hidden " + quote((project_dir / "hidden_states_0.npy").string()) + mask +
         " --output-hidden-states" + (pooler ? " --pool pooler" : "") + encode_o);
  for (const auto& [role, file] : c.j["outputs"].items())
    if (role.rfind("hidden_states_", 0) == 0 || role == "last_hidden_state")
      c.compare(encode_dir, role + ".npy", role, "run --stage encode");
  if (pooler) c.compare(encode_dir, "pooled.npy", "pooler_output", "run --stage encode --pool pooler");

  // forward from what the case gives (ids: the model derives the positions itself).
  const std::string inputs = c.option("--input-ids", "input_ids") + c.option("--inputs-embeds", "inputs_embeds") +
                             mask + types + c.option("--position-ids", "position_ids");
  const auto [forward_dir, forward_o] = out("forward");
  run_ok("run " + model + " --stage forward" + inputs + " --output-hidden-states" + forward_o);
  c.compare_all(forward_dir, c.has("input_ids") ? "run --stage forward --input-ids" : "run --stage forward --inputs-embeds");
  if (c.has("input_ids")) {
    // forward from the looked-up vectors with explicit position ids: the same outputs.
    const auto [dir, o] = out("forward-embeds");
    run_ok("run " + model + " --stage forward --inputs-embeds " + quote(embeds) + mask + types + " --position-ids " +
           quote(positions) + " --output-hidden-states" + o);
    c.compare_all(dir, "run --stage forward --inputs-embeds --position-ids");
  }
}

// meson runs this test once per BERTRT_ISA level; on a CPU that lacks the level the tool cannot
// open a model, so the run is skipped with a note instead of failing.
CliCase make_case(const nlohmann::json& j) {
  CliCase c{j, families_dir() / j["dir"].get<std::string>(),
            j["model"].get<std::string>() + "/" + j["case"].get<std::string>(), {}, 0, 0};
  const npy::Array grid = npy::read(c.input(c.has("input_ids") ? "input_ids" : "inputs_embeds"));
  c.batch = grid.shape[0];
  c.seq_len = grid.shape[1];
  if (c.has("attention_mask")) c.mask = npy::as_int64(npy::read(c.input("attention_mask")), "attention_mask");
  return c;
}

// A float32 .npy of the given shape with fresh random values in [-1, 1).
std::string random_vectors(const fs::path& path, const std::vector<size_t>& shape, unsigned seed) {
  size_t n = 1;
  for (size_t s : shape) n *= s;
  std::vector<float> v(n);
  uint64_t x = 0x9e3779b97f4a7c15ULL ^ seed;
  for (float& f : v) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    f = static_cast<float>(static_cast<double>(x >> 40) / static_cast<double>(1ULL << 24) * 2.0 - 1.0);
  }
  npy::write_float32(path.string(), v.data(), shape);
  return path.string();
}

}  // namespace

TEST_CASE("every family fixture case through bertrt run, stage by stage and forward") {
  if (isa_unavailable()) return;
  size_t cases = 0;
  for (const auto& j : cases_json()["cases"]) {
    const CliCase c = make_case(j);
    SUBCASE(c.label.c_str()) { run_case(c, converted(j["model"].get<std::string>())); }
    ++cases;
  }
  CHECK(cases == cases_json()["cases"].size());
  CHECK(cases >= 60);
}

TEST_CASE("bertrt run --stage project: ELECTRA's projection and its errors") {
  if (isa_unavailable()) return;
  const std::string electra = quote(converted("electra-tiny")), roberta = quote(converted("roberta-tiny"));
  const fs::path tmp = temp_dir("cli-project");
  const unsigned seed = static_cast<unsigned>(std::random_device{}());
  INFO("seed " << seed);

  // Random E-wide vectors: project equals forward's hidden_states_0 from the same embedding output.
  const std::string embeds = random_vectors(tmp / "embeds.npy", {2, 5, 16}, seed);
  run_ok("run " + electra + " --stage forward --inputs-embeds " + quote(embeds) + " --output-hidden-states --out " +
         quote((tmp / "fw").string()));
  run_ok("run " + electra + " --stage project --embedding-output " + quote((tmp / "fw" / "embedding_output.npy").string()) +
         " --out " + quote((tmp / "pr").string()));
  const auto want = npy::read((tmp / "fw" / "hidden_states_0.npy").string());
  const auto got = npy::read((tmp / "pr" / "hidden_states_0.npy").string());
  CHECK(got.shape == std::vector<size_t>{2, 5, 32});
  CHECK(got.data == want.data);  // the code forward runs: bit-identical

  // Without a projection (E == H): an unchanged copy.
  const std::string wide = random_vectors(tmp / "wide.npy", {3, 4, 32}, seed + 1);
  run_ok("run " + roberta + " --stage project --embedding-output " + quote(wide) + " --out " + quote((tmp / "id").string()));
  CHECK(npy::read((tmp / "id" / "hidden_states_0.npy").string()).data == npy::read(wide).data);

  std::string text;
  // hidden_size-wide vectors are not ELECTRA's embedding output.
  CHECK(run("run " + electra + " --stage project --embedding-output " + quote(wide) + " --out " +
                quote((tmp / "bad").string()),
            &text) != 0);
  CHECK(text.find("embedding_size is 16") != std::string::npos);
  // NaN in the input.
  std::vector<float> v(2 * 3 * 16, 0.25f);
  v[17] = std::nanf("");
  npy::write_float32((tmp / "nan.npy").string(), v.data(), {2, 3, 16});
  CHECK(run("run " + electra + " --stage project --embedding-output " + quote((tmp / "nan.npy").string()) + " --out " +
                quote((tmp / "bad").string()),
            &text) != 0);
  CHECK(text.find("NaN") != std::string::npos);
  // The stage takes its own input only, and needs it.
  CHECK(run("run " + electra + " --stage project --hidden " + quote(wide) + " --out " + quote((tmp / "bad").string()),
            &text) != 0);
  CHECK(text.find("--embedding-output") != std::string::npos);
  CHECK(run("run " + electra + " --stage project --out " + quote((tmp / "bad").string()), &text) != 0);
  CHECK(text.find("needs --embedding-output") != std::string::npos);
  // inputs_embeds of hidden_size width are not ELECTRA's embeddings either.
  CHECK(run("run " + electra + " --stage embed --inputs-embeds " + quote(wide) + " --out " + quote((tmp / "bad").string()),
            &text) != 0);
  CHECK(text.find("embedding_size") != std::string::npos);
}
