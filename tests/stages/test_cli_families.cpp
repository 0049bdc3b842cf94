// The command-line tool on the family fixtures: bertrt convert, bertrt info (the family), and
// bertrt run --stage lookup|embed|encode|forward on a RoBERTa and an ELECTRA case (ELECTRA's
// lookup and embed are embedding_size wide, encode takes the projected hidden_size vectors).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/fixtures.h"

using namespace bertrt::testing;
namespace fs = std::filesystem;
namespace npy = bertrt::npy;

namespace {

fs::path families_dir() { return data_dir() / "fixtures-families"; }
std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs the tool; returns its exit status and, in *output, stdout and stderr.
int run(const std::string& args, std::string* output = nullptr) {
  const std::string cmd = std::string(quote(BERTRT_CLI)) + " " + args + " 2>&1";
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

struct CliCase {
  nlohmann::json j;
  fs::path dir;
  std::string model_file;
  std::vector<int64_t> mask;
  size_t batch = 0, seq_len = 0;

  std::string input(const std::string& role) const { return (dir / j["inputs"][role].get<std::string>()).string(); }
  std::string output(const std::string& role) const { return (dir / j["outputs"][role].get<std::string>()).string(); }
  void compare(const fs::path& out_dir, const std::string& role, const std::string& via) const {
    const fs::path got_path = out_dir / (role + ".npy");
    REQUIRE_MESSAGE(fs::exists(got_path), via << " wrote no " << role << ".npy");
    const auto got = npy::as_float32(npy::read(got_path.string()), role.c_str());
    const std::string file = j["outputs"][role].get<std::string>();
    const double diff = max_abs_diff(got, npy::read((dir / file).string()), j["files"][file]["compare"].get<std::string>(),
                                     mask, batch, seq_len);
    INFO(j["model"].get<std::string>() << "/" << j["case"].get<std::string>() << " " << role << " via " << via
                                        << ": max abs diff " << diff);
    CHECK(diff <= j["atol"].get<double>());
  }
};

CliCase load_case(const std::string& model, const std::string& name) {
  std::ifstream f(families_dir() / "cases.json");
  const nlohmann::json doc = nlohmann::json::parse(f);
  for (const auto& j : doc["cases"])
    if (j["model"] == model && j["case"] == name) {
      CliCase c{j, families_dir() / j["dir"].get<std::string>(), {}, {}, 0, 0};
      c.model_file = (temp_dir("cli-fam") / (model + ".bertrt")).string();
      REQUIRE(run("convert " + quote((families_dir() / "models" / model).string()) + " -o " + quote(c.model_file)) == 0);
      const auto ids = npy::read(c.input("input_ids"));
      c.batch = ids.shape[0];
      c.seq_len = ids.shape[1];
      if (j["inputs"].contains("attention_mask")) c.mask = npy::as_int64(npy::read(c.input("attention_mask")), "mask");
      return c;
    }
  FAIL("no case " << model << "/" << name);
  return {};
}

void run_stages(const CliCase& c, const std::string& family) {
  std::string info;
  REQUIRE(run("info " + quote(c.model_file), &info) == 0);
  CHECK(info.find("family: " + family) != std::string::npos);

  std::string extra;  // mask and types for the stages that take them
  if (c.j["inputs"].contains("token_type_ids")) extra += " --token-type-ids " + quote(c.input("token_type_ids"));
  const std::string mask = c.j["inputs"].contains("attention_mask")
                               ? " --attention-mask " + quote(c.input("attention_mask"))
                               : std::string();
  const std::string model = quote(c.model_file);

  const fs::path lookup = temp_dir("cli-lookup");
  REQUIRE(run("run " + model + " --stage lookup --input-ids " + quote(c.input("input_ids")) + " --out " +
              quote(lookup.string())) == 0);
  c.compare(lookup, "inputs_embeds", "run --stage lookup");

  // embed from the looked-up vectors: RoBERTa with the positions the model derived from the ids
  // (embed alone sees no padding), ELECTRA with its defaults 0..T-1.
  const std::string positions =
      family == "roberta" ? " --position-ids " + quote((c.dir / c.j["derived_position_ids"].get<std::string>()).string())
                          : std::string();
  const fs::path embed = temp_dir("cli-embed");
  REQUIRE(run("run " + model + " --stage embed --inputs-embeds " + quote((lookup / "inputs_embeds.npy").string()) +
              positions + extra + " --out " + quote(embed.string())) == 0);
  c.compare(embed, "embedding_output", "run --stage embed");

  const fs::path encode = temp_dir("cli-encode");
  REQUIRE(run("run " + model + " --stage encode --hidden " + quote(c.output("hidden_states_0")) + mask +
              " --output-hidden-states --out " + quote(encode.string())) == 0);
  c.compare(encode, "last_hidden_state", "run --stage encode");
  c.compare(encode, "hidden_states_2", "run --stage encode");

  const fs::path forward = temp_dir("cli-forward");
  REQUIRE(run("run " + model + " --stage forward --input-ids " + quote(c.input("input_ids")) + mask + extra +
              " --output-hidden-states --out " + quote(forward.string())) == 0);
  for (const char* role : {"embedding_output", "hidden_states_0", "hidden_states_1", "last_hidden_state"})
    c.compare(forward, role, "run --stage forward");
  if (c.j["outputs"].contains("pooler_output")) c.compare(forward, "pooler_output", "run --stage forward");
}

}  // namespace

TEST_CASE("bertrt run, every stage, on a padded RoBERTa batch") {
  run_stages(load_case("roberta-tiny", "padded_batch"), "roberta");
}

TEST_CASE("bertrt run, every stage, on a padded ELECTRA batch with token types") {
  const CliCase c = load_case("electra-tiny", "padded_batch");
  run_stages(c, "electra");
  // inputs_embeds of hidden_size width are not ELECTRA's embeddings: a clear error.
  std::string out;
  CHECK(run("run " + quote(c.model_file) + " --stage embed --inputs-embeds " + quote(c.output("hidden_states_0")) +
                " --out " + quote(temp_dir("cli-bad").string()),
            &out) != 0);
  CHECK(out.find("embedding_size") != std::string::npos);
}
