// Every golden fixture case through the command-line tool: bertrt convert, then bertrt run
// (lookup, and forward with hidden states, attentions and pooling), outputs read back as .npy.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "bertrt/bertrt.hpp"
#include "common/fixtures.h"

using namespace bertrt::testing;
namespace fs = std::filesystem;
namespace npy = bertrt::npy;

namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

int run(const std::string& args) {
  const std::string cmd = std::string(quote(BERTRT_CLI)) + " " + args + " > /dev/null 2>&1";
  return std::system(cmd.c_str());
}

std::string cli_model(const std::string& model) {
  static std::map<std::string, std::string> cache;
  if (auto it = cache.find(model); it != cache.end()) return it->second;
  const std::string out = (temp_dir("cli-model") / (model + ".bertrt")).string();
  REQUIRE(run("convert " + quote((fixtures_dir() / "models" / model).string()) + " -o " + quote(out)) == 0);
  cache[model] = out;
  return out;
}

void compare(const FixtureCase& c, const fs::path& out_dir, const std::string& file, const std::string& role,
             const std::vector<int64_t>& mask, size_t batch, size_t seq_len) {
  REQUIRE_MESSAGE(fs::exists(out_dir / file), c.model << "/" << c.name << ": bertrt run wrote no " << file);
  const auto got = npy::as_float32(npy::read((out_dir / file).string()), file);
  const auto golden = npy::read((c.dir / c.outputs.at(role)).string());
  const double diff = max_abs_diff(got, golden, compare_rule(role), mask, batch, seq_len);
  INFO(c.model << "/" << c.name << " " << file << " vs " << role << ": max abs diff " << diff);
  CHECK(diff <= c.atol);
}

}  // namespace

TEST_CASE("every fixture case matches its goldens through the CLI") {
  for (const auto& c : fixture_cases()) {
    SUBCASE((c.model + "/" + c.name).c_str()) {
      const std::string model = cli_model(c.model);
      std::string inputs;
      std::vector<int64_t> mask;
      size_t batch = 0, seq_len = 0;
      const std::map<std::string, std::string> flags = {{"input_ids", "--input-ids"},
                                                        {"attention_mask", "--attention-mask"},
                                                        {"token_type_ids", "--token-type-ids"},
                                                        {"position_ids", "--position-ids"},
                                                        {"inputs_embeds", "--inputs-embeds"}};
      for (const auto& [role, file] : c.inputs) {
        REQUIRE_MESSAGE(flags.count(role), "unknown input role " << role);
        inputs += " " + flags.at(role) + " " + quote((c.dir / file).string());
        const auto a = npy::read((c.dir / file).string());
        batch = a.shape[0];
        seq_len = a.shape[1];
        if (role == "attention_mask") mask = npy::as_int64(a, role);
      }
      const fs::path out = temp_dir("cli-out");
      REQUIRE(run("run " + quote(model) + " --stage forward --out " + quote(out.string()) + inputs +
                  " --output-hidden-states --output-attentions --pool mean") == 0);
      compare(c, out, "embedding_output.npy", "embedding_output", mask, batch, seq_len);
      compare(c, out, "last_hidden_state.npy", "last_hidden_state", mask, batch, seq_len);
      compare(c, out, "pooler_output.npy", "pooler_output", mask, batch, seq_len);
      compare(c, out, "pooled.npy", "pooled_mean", mask, batch, seq_len);
      for (const auto& [role, file] : c.outputs) {
        if (role.rfind("hidden_states_", 0) == 0 || role.rfind("attentions_", 0) == 0)
          compare(c, out, role + ".npy", role, mask, batch, seq_len);
      }
      // The embed and encode stages on their own, fed with the golden inputs of each stage.
      auto opt = [&](const char* role, const char* flag) {
        return c.inputs.count(role) ? std::string(" ") + flag + " " + quote((c.dir / c.inputs.at(role)).string()) : std::string();
      };
      const std::string embeds_file = c.inputs.count("inputs_embeds") ? c.inputs.at("inputs_embeds") : c.outputs.at("inputs_embeds");
      const fs::path emb = temp_dir("cli-embed");
      REQUIRE(run("run " + quote(model) + " --stage embed --out " + quote(emb.string()) + " --inputs-embeds " +
                  quote((c.dir / embeds_file).string()) + opt("token_type_ids", "--token-type-ids") +
                  opt("position_ids", "--position-ids")) == 0);
      compare(c, emb, "embedding_output.npy", "embedding_output", mask, batch, seq_len);
      const fs::path enc = temp_dir("cli-encode");
      REQUIRE(run("run " + quote(model) + " --stage encode --out " + quote(enc.string()) + " --hidden " +
                  quote((c.dir / c.outputs.at("hidden_states_0")).string()) + opt("attention_mask", "--attention-mask") +
                  " --pool max") == 0);
      compare(c, enc, "last_hidden_state.npy", "last_hidden_state", mask, batch, seq_len);
      compare(c, enc, "pooled.npy", "pooled_max", mask, batch, seq_len);
      if (c.inputs.count("input_ids")) {
        const fs::path look = temp_dir("cli-lookup");
        REQUIRE(run("run " + quote(model) + " --stage lookup --out " + quote(look.string()) + " --input-ids " +
                    quote((c.dir / c.inputs.at("input_ids")).string())) == 0);
        compare(c, look, "inputs_embeds.npy", "inputs_embeds", mask, batch, seq_len);
      }
    }
  }
}

TEST_CASE("the CLI reports bad input with a nonzero exit status") {
  const std::string model = cli_model("tiny");
  const fs::path out = temp_dir("cli-bad");
  const auto ids = fixtures_dir() / "cases/tiny/single/input_ids.npy";
  CHECK(run("run " + quote(model) + " --stage nonsense --out " + quote(out.string())) != 0);
  CHECK(run("run " + quote(model) + " --stage lookup --out " + quote(out.string())) != 0);
  CHECK(run("run /nonexistent.bertrt --stage lookup --out " + quote(out.string()) + " --input-ids " + quote(ids.string())) != 0);
  // A float array where ids are expected.
  const auto floats = fixtures_dir() / "cases/tiny/single/inputs_embeds.npy";
  CHECK(run("run " + quote(model) + " --stage lookup --out " + quote(out.string()) + " --input-ids " + quote(floats.string())) != 0);
  CHECK(run("convert /nonexistent -o " + quote((out / "x.bertrt").string())) != 0);
}

namespace {

// Runs the tool with env (may be empty) in front; stdout and stderr go to files read back.
struct Run {
  int status = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

Run run_captured(const std::string& args, const std::string& env = "") {
  static int counter = 0;
  const fs::path dir = temp_dir("cli-run-" + std::to_string(counter++));
  const std::string cmd = env + " " + quote(BERTRT_CLI) + " " + args + " > " + quote((dir / "out").string()) +
                          " 2> " + quote((dir / "err").string());
  Run r;
  const int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

}  // namespace

TEST_CASE("bertrt embed prints the vectors bertrt_session_encode_texts computes") {
  const std::string model_path = cli_model("small");
  const std::vector<std::string> texts = {"Hello, my dog is cute", "the cat", "", "über naïve 東京"};
  std::string args = "embed " + quote(model_path) + " --pool max --normalize --batch-size 2";
  for (const auto& t : texts) {
    args += ' ';
    args += quote(t);
  }
  const Run r = run_captured(args);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  bertrt::Model model(model_path);
  bertrt::Session session(model);
  bertrt::Tokenizer tok(model);
  bertrt_encode_texts_options o{};
  o.pool = BERTRT_POOL_MAX;
  o.normalize = 1;
  o.batch_size = 2;
  std::vector<float> want(texts.size() * model.hidden_size(), NAN);
  session.encode_texts(tok, texts, want, &o);
  std::istringstream lines(r.out);
  std::string line;
  size_t row = 0;
  while (std::getline(lines, line)) {
    REQUIRE(row < texts.size());
    for (char& ch : line)
      if (ch == '[' || ch == ']' || ch == ',') ch = ' ';
    std::istringstream values(line);
    float v = 0;
    size_t col = 0;
    while (values >> v) {
      REQUIRE(col < model.hidden_size());
      CHECK(v == want[row * model.hidden_size() + col]);  // %.9g gives back the float exactly
      ++col;
    }
    CHECK(col == model.hidden_size());
    ++row;
  }
  CHECK(row == texts.size());
}

TEST_CASE("bertrt info, embed and tokenize report bad options and an unusable BERTRT_ISA") {
  const std::string model = cli_model("tiny");
  const Run bad_pool = run_captured("embed " + quote(model) + " --pool median hello");
  CHECK(bad_pool.status == 2);
  CHECK(bad_pool.err.find("cls, mean, max or pooler") != std::string::npos);
  const Run info = run_captured("info " + quote(model));
  REQUIRE(info.status == 0);
  CHECK(info.out.find("tensors: " + std::to_string(bertrt::Model(model).file_info().tensor_count)) != std::string::npos);
  CHECK(info.out.find(std::string("kernels: ") + bertrt_kernel_isa()) != std::string::npos);
  const Run bad_isa = run_captured("info " + quote(model), "BERTRT_ISA=no-such-isa");
  CHECK(bad_isa.status == 1);
  CHECK(bad_isa.out.find("BERTRT_ISA: ") != std::string::npos);  // the kernel list still says why
  CHECK(bad_isa.err.find("BERTRT_ERROR_UNSUPPORTED") != std::string::npos);
  const Run tokens = run_captured("tokenize " + quote(model) + " 'hello world'");
  REQUIRE(tokens.status == 0);
  bertrt::Model m(model);
  bertrt::Tokenizer tok(m);
  std::string ids;
  for (int64_t id : tok.encode("hello world").ids) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(id);
  }
  CHECK(tokens.out.find("\"ids\":[" + ids + "]") != std::string::npos);
}

TEST_CASE("bertrt convert --dtype bf16 --bf16-storage-only: bf16 weights, f32 arithmetic, the goldens of bf16 weights") {
  // small-bf16's weights are bfloat16 values: stored as bf16 and computed in f32 they give the
  // goldens within their tolerance (the bf16x2 files round activations too: test_bf16).
  const std::string model = (temp_dir("cli-bf16s") / "small-bf16.bertrt").string();
  REQUIRE(run("convert " + quote((fixtures_dir() / "models" / "small-bf16").string()) + " -o " + quote(model) +
              " --dtype bf16 --bf16-storage-only") == 0);
  int cases = 0;
  for (const auto& c : fixture_cases()) {
    if (c.model != "small-bf16" || !c.inputs.count("input_ids")) continue;
    ++cases;
    INFO(c.name);
    std::string inputs;
    std::vector<int64_t> mask;
    size_t batch = 0, seq_len = 0;
    for (const auto& [role, file] : c.inputs) {
      const auto a = npy::read((c.dir / file).string());
      batch = a.shape[0];
      seq_len = a.shape[1];
      if (role == "input_ids") inputs += " --input-ids " + quote((c.dir / file).string());
      if (role == "attention_mask") {
        inputs += " --attention-mask " + quote((c.dir / file).string());
        mask = npy::as_int64(a, role);
      }
      if (role == "token_type_ids") inputs += " --token-type-ids " + quote((c.dir / file).string());
      if (role == "position_ids") inputs += " --position-ids " + quote((c.dir / file).string());
    }
    const fs::path out = temp_dir("cli-bf16s-out");
    REQUIRE(run("run " + quote(model) + " --stage forward --out " + quote(out.string()) + inputs) == 0);
    compare(c, out, "last_hidden_state.npy", "last_hidden_state", mask, batch, seq_len);
    compare(c, out, "pooler_output.npy", "pooler_output", mask, batch, seq_len);
  }
  CHECK(cases > 0);
  // The option belongs to bf16 files only.
  CHECK(run("convert " + quote((fixtures_dir() / "models" / "small").string()) + " -o " +
            quote((temp_dir("cli-bf16s") / "x.bertrt").string()) + " --bf16-storage-only") != 0);
}
