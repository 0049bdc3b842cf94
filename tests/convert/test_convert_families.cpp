// The converter on the other families (tests/data/fixtures-families): every model directory
// converts from safetensors (roberta-tiny also from .bin, byte for byte the same file), the family
// is recorded, each family's names land on the canonical tensors, task heads are kept (skipped
// with a note when converted without heads), tokenizer files without vocab.txt are stored raw, and
// unsupported configs name the key.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fixtures.h"
#include "convert/convert.h"
#include "format/model_file.h"
#include "model/model.h"
#include "model/names.h"

using namespace bertrt;
using namespace bertrt::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path families_dir() { return data_dir() / "fixtures-families"; }

json read_json_file(const fs::path& p) {
  std::ifstream f(p);
  return json::parse(f);
}

// A writable copy of a family model directory, leaving out the files named in skip.
fs::path copy_model(const std::string& model, const std::vector<std::string>& skip = {}) {
  const fs::path dir = temp_dir("fam-" + model);
  for (const auto& e : fs::directory_iterator(families_dir() / "models" / model)) {
    const std::string name = e.path().filename().string();
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    fs::copy_file(e.path(), dir / name);
    fs::permissions(dir / name, fs::perms::owner_write, fs::perm_options::add);
  }
  return dir;
}

void edit_config(const fs::path& dir, const std::function<void(json&)>& edit) {
  json config = read_json_file(dir / "config.json");
  edit(config);
  std::ofstream(dir / "config.json") << config.dump(2);
}

struct Converted {
  std::vector<uint8_t> bytes;
  std::vector<std::string> notes;
  bool noted(const std::string& needle) const {
    for (const auto& n : notes)
      if (n.find(needle) != std::string::npos) return true;
    return false;
  }
};

Converted convert_dir(const fs::path& dir, bool heads = true) {
  Converted c;
  convert::ConvertOptions o;
  o.heads = heads;
  o.note = [&](const std::string& s) { c.notes.push_back(s); };
  c.bytes = convert::build_model_file(dir.string(), o).serialize();
  return c;
}

std::shared_ptr<const core::Model> open(const Converted& c) {
  return core::Model::from_memory(c.bytes.data(), c.bytes.size(), format::Verify::all);
}

}  // namespace

TEST_CASE("every family model converts from safetensors and records its family") {
  const json cases = read_json_file(families_dir() / "cases.json");
  REQUIRE(cases["models"].size() == 12);
  for (const auto& [name, m] : cases["models"].items()) {
    INFO(name);
    const Converted c = convert_dir(families_dir() / "models" / name);
    const auto model = open(c);
    const std::string family = m["model_type"].get<std::string>();  // cases.json groups XLM-R under "roberta"
    CHECK(std::string(core::family_name(model->config().family)) == family);
    CHECK(model->file().meta_string(names::kMetaFamily) == family);
    CHECK(model->has_pooler() == m["has_pooler"].get<bool>());
    // Head checkpoints keep their head (every head tensor used, none skipped); base models have none.
    const auto heads = m["head_tensors"].get<std::vector<std::string>>();
    CHECK((model->head().kind != core::HeadKind::none) == !heads.empty());
    CHECK(c.noted("task head: " + m["architecture"].get<std::string>()) == !heads.empty());
    CHECK_FALSE(c.noted("skipping"));
    if (!heads.empty()) CHECK(model->file().meta_string(names::kMetaHeadArchitecture) == m["architecture"]);
    // Converted without heads: every head tensor skipped with a note, no head.* tensor or key.
    const Converted bare = convert_dir(families_dir() / "models" / name, false);
    const auto bare_model = open(bare);
    CHECK(bare_model->head().kind == core::HeadKind::none);
    CHECK_FALSE(bare_model->file().meta_string(names::kMetaHeadKind).has_value());
    std::vector<std::string> kept, bare_names;
    for (const auto& t : model->file().tensors())
      if (t.name.rfind("head.", 0) != 0) kept.push_back(t.name);
    for (const auto& t : bare_model->file().tensors()) bare_names.push_back(t.name);
    CHECK(bare_names == kept);
    for (const std::string& h : heads) CHECK_MESSAGE(bare.noted("skipping '" + h + "' (task head: converted without heads)"), h);
    if (heads.empty()) CHECK(bare.bytes == c.bytes);
    const auto& cfg = model->config();
    CHECK(cfg.num_layers == 2);
    CHECK(cfg.hidden_size == 32);
    CHECK(model->layers().size() == 2);
  }
}

TEST_CASE("roberta-tiny from pytorch_model.bin gives the same model file as from safetensors") {
  const Converted reference = convert_dir(families_dir() / "models/roberta-tiny");
  const fs::path dir = copy_model("roberta-tiny", {"model.safetensors"});
  const Converted from_bin = convert_dir(dir);
  CHECK(from_bin.noted("pytorch_model.bin"));
  CHECK(from_bin.bytes == reference.bytes);
}

TEST_CASE("family configs: positions, token types, embedding width, activation, eps") {
  const auto roberta = open(convert_dir(families_dir() / "models/roberta-tiny"));
  CHECK(roberta->config().max_positions == 34);
  CHECK(roberta->config().position_offset == 2);
  CHECK(roberta->config().max_seq_len == 32);
  CHECK(roberta->config().type_vocab_size == 1);
  CHECK(roberta->config().layer_norm_eps == doctest::Approx(1e-5));
  CHECK(roberta->file().meta_list(names::kMetaVocab) == nullptr);  // no tokenizer files in the folder

  const auto distil = open(convert_dir(families_dir() / "models/distilbert-tiny"));
  CHECK(distil->config().type_vocab_size == 0);
  CHECK(distil->file().find(names::kTokenTypeEmbeddings) == nullptr);
  CHECK(distil->config().intermediate_size == 64);
  CHECK(distil->config().num_heads == 2);
  CHECK(distil->config().max_seq_len == 40);
  CHECK(distil->config().layer_norm_eps == doctest::Approx(1e-12));
  CHECK(distil->file().meta_list(names::kMetaVocab) != nullptr);

  const auto electra = open(convert_dir(families_dir() / "models/electra-tiny"));
  CHECK(electra->config().embedding_size == 16);
  CHECK(electra->config().hidden_size == 32);
  REQUIRE(electra->has_projection());
  CHECK(electra->projection().in == 16);
  CHECK(electra->projection().out == 32);
  const auto* word = electra->file().find(names::kWordEmbeddings);
  REQUIRE(word != nullptr);
  CHECK(word->shape == std::vector<uint64_t>{128, 16});

  // DistilBERT's activation key.
  const fs::path relu = copy_model("distilbert-tiny");
  edit_config(relu, [](json& c) { c["activation"] = "relu"; });
  CHECK(open(convert_dir(relu))->config().hidden_act_name == "relu");
}

TEST_CASE("tokenizer files of a folder without vocab.txt are stored as they are") {
  const fs::path dir = copy_model("roberta-tiny", {"pytorch_model.bin"});
  const std::string tokenizer_json = R"({"version": "1.0", "model": {"type": "BPE", "vocab": {"<s>": 0}}})";
  const std::string vocab_json = R"({"<s>": 0, "<pad>": 1, "</s>": 2})";
  const std::string merges = "#version: 0.2\nĠ t\nh e\n";
  std::ofstream(dir / "tokenizer.json") << tokenizer_json;
  std::ofstream(dir / "vocab.json") << vocab_json;
  std::ofstream(dir / "merges.txt") << merges;
  const Converted c = convert_dir(dir);
  const auto model = open(c);
  CHECK(model->file().meta_string(names::kMetaTokenizerJson) == tokenizer_json);
  CHECK(model->file().meta_string(names::kMetaTokenizerVocabJson) == vocab_json);
  CHECK(model->file().meta_string(names::kMetaTokenizerMerges) == merges);
  CHECK(model->file().meta_list(names::kMetaVocab) == nullptr);
  CHECK(c.noted("no vocab.txt: tokenizer files stored as they are"));
  CHECK(model->tokenizer_data().cls_token == "<s>");
  CHECK(model->tokenizer_data().model_max_length == 32);
}

TEST_CASE("unsupported or broken family configs are errors naming the key") {
  struct Bad {
    const char* model;
    std::function<void(json&)> edit;
    const char* needle;
    bertrt_status status;
  };
  const Bad bad[] = {
      {"distilbert-tiny", [](json& c) { c["sinusoidal_pos_embds"] = true; }, "sinusoidal_pos_embds",
       BERTRT_ERROR_UNSUPPORTED},
      {"distilbert-tiny", [](json& c) { c.erase("dim"); }, "'dim'", BERTRT_ERROR_FORMAT},
      {"distilbert-tiny", [](json& c) { c.erase("n_layers"); }, "'n_layers'", BERTRT_ERROR_FORMAT},
      {"roberta-tiny", [](json& c) { c["model_type"] = "gpt2"; }, "gpt2", BERTRT_ERROR_UNSUPPORTED},
      {"roberta-tiny", [](json& c) { c["pad_token_id"] = 33; }, "pad_token_id", BERTRT_ERROR_FORMAT},
      {"roberta-tiny", [](json& c) { c["position_embedding_type"] = "relative_key"; }, "absolute",
       BERTRT_ERROR_UNSUPPORTED},
      {"electra-tiny", [](json& c) { c["embedding_size"] = 24; }, "embeddings.word_embeddings.weight",
       BERTRT_ERROR_FORMAT},
      {"xlmr-tiny", [](json& c) { c["max_position_embeddings"] = 40; }, "embeddings.position_embeddings.weight",
       BERTRT_ERROR_FORMAT},
  };
  for (const Bad& b : bad) {
    const fs::path dir = copy_model(b.model, {"pytorch_model.bin"});
    edit_config(dir, b.edit);
    INFO(b.model << ": expecting '" << b.needle << "'");
    try {
      convert_dir(dir);
      FAIL("converted without an error");
    } catch (const bertrt::Error& e) {
      CHECK(std::string(e.what()).find(b.needle) != std::string::npos);
      CHECK(e.status() == b.status);
    }
  }
}

// The serialized file with its model.family key renamed (same length, same sort position) and the
// header checksum recomputed: a file as converters before families wrote it.
std::vector<uint8_t> without_family_key(std::vector<uint8_t> bytes) {
  const std::string key = names::kMetaFamily;
  auto it = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
  REQUIRE(it != bytes.end());
  *(it + 7) = 'x';  // "model.fxmily"
  uint64_t h[4];
  std::memcpy(h, bytes.data() + 24, sizeof h);
  const uint64_t sum = format::structure_checksum(bytes.data(), h[0], h[1], h[2], h[3]);
  std::memcpy(bytes.data() + 56, &sum, 8);
  return bytes;
}

TEST_CASE("a model file without a family key is a BERT model; an unknown family is refused") {
  const Converted bert = convert_dir(fixtures_dir() / "models/tiny");
  CHECK(open(bert)->file().meta_string(names::kMetaFamily) == "bert");
  const std::vector<uint8_t> old = without_family_key(bert.bytes);
  const auto model = core::Model::from_memory(old.data(), old.size(), format::Verify::all);
  CHECK_FALSE(model->file().meta_string(names::kMetaFamily).has_value());
  CHECK(model->config().family == core::Family::bert);
  CHECK(model->config().max_seq_len == model->config().max_positions);
  CHECK(core::parse_family("electra") == core::Family::electra);
  CHECK_THROWS_WITH_AS(core::parse_family("gpt2"), doctest::Contains("gpt2"), bertrt::Error);
}
