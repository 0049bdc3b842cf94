// Every golden fixture case through the command-line tool: bertrt convert, then bertrt run
// (lookup, and forward with hidden states, attentions and pooling), outputs read back as .npy.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

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
