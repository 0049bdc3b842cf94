// The converter: every weight format gives the same model file; missing or misshapen tensors are
// errors that name the tensor; heads and buffers are skipped; sentence-transformers defaults.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fixtures.h"
#include "convert/checkpoint.h"
#include "convert/convert.h"
#include "format/model_file.h"
#include "model/model.h"

using namespace bertrt;
using namespace bertrt::testing;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_all(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// A copy of a fixture model directory without any weight file.
fs::path copy_without_weights(const std::string& model) {
  const fs::path dir = temp_dir("hf-" + model);
  for (const auto& e : fs::directory_iterator(fixtures_dir() / "models" / model)) {
    const std::string name = e.path().filename().string();
    if (name == "model.safetensors" || name == "pytorch_model.bin" || name == "tf_model.h5") continue;
    fs::copy_file(e.path(), dir / name);
    fs::permissions(dir / name, fs::perms::owner_write, fs::perm_options::add);
  }
  return dir;
}

void write_safetensors(const fs::path& path, const std::vector<convert::SourceTensor>& tensors) {
  nlohmann::ordered_json header;
  size_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype == convert::SourceDType::f32 ? "F32" : t.dtype == convert::SourceDType::i64 ? "I64" : "F16"},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream f(path, std::ios::binary);
  const uint64_t len = text.size();
  f.write(reinterpret_cast<const char*>(&len), 8);
  f << text;
  for (const auto& t : tensors) f.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
}

std::vector<uint8_t> convert_bytes(const fs::path& dir, format::TensorDType dtype = format::TensorDType::f32,
                                   bool heads = true) {
  convert::ConvertOptions o;
  o.dtype = dtype;
  o.heads = heads;
  return convert::build_model_file(dir.string(), o).serialize();
}

}  // namespace

TEST_CASE("safetensors, .bin and .h5 of the same weights give byte-identical model files") {
  for (const auto& m : fixture_models()) {
    const auto with_head = read_all(converted_model(m.name));
    // The .h5 reader takes the base model only: its file equals the others' converted without heads.
    const auto without_head = convert_bytes(fixtures_dir() / "models" / m.name, format::TensorDType::f32, false);
    for (const std::string& format : m.formats) {
      if (format == "safetensors") continue;
      const fs::path dir = copy_without_weights(m.name);
      const std::string file = format == "bin" ? "pytorch_model.bin" : "tf_model.h5";
      fs::copy_file(fixtures_dir() / "models" / m.name / file, dir / file);
      INFO(m.name << " from " << file);
      std::vector<uint8_t> bytes;
      try {
        bytes = convert_bytes(dir);
      } catch (const bertrt::Error& e) {
        if (e.status() == BERTRT_ERROR_UNSUPPORTED && format == "h5") {
          MESSAGE("built without HDF5: " << e.what());
          continue;
        }
        FAIL(e.what());
      }
      CHECK(bytes == (format == "h5" ? without_head : with_head));
    }
  }
}

TEST_CASE("a missing tensor is an error naming it") {
  auto tensors = convert::read_safetensors((fixtures_dir() / "models/tiny/model.safetensors").string());
  const fs::path dir = copy_without_weights("tiny");
  std::erase_if(tensors, [](const auto& t) { return t.name == "encoder.layer.1.intermediate.dense.bias"; });
  write_safetensors(dir / "model.safetensors", tensors);
  CHECK_THROWS_WITH_AS(convert_bytes(dir), doctest::Contains("missing tensor 'encoder.layer.1.intermediate.dense.bias'"),
                       bertrt::Error);
}

TEST_CASE("a tensor of the wrong shape is an error naming it and both shapes") {
  auto tensors = convert::read_safetensors((fixtures_dir() / "models/tiny/model.safetensors").string());
  const fs::path dir = copy_without_weights("tiny");
  for (auto& t : tensors)
    if (t.name == "encoder.layer.0.attention.self.key.weight") {
      t.shape = {16, 64};  // same element count, wrong shape
    }
  write_safetensors(dir / "model.safetensors", tensors);
  CHECK_THROWS_WITH_AS(convert_bytes(dir),
                       doctest::Contains("'encoder.layer.0.attention.self.key.weight' has shape [16, 64], expected [32, 32]"),
                       bertrt::Error);
}

TEST_CASE("a model without a pooler converts; pooler output is then unavailable") {
  auto tensors = convert::read_safetensors((fixtures_dir() / "models/tiny/model.safetensors").string());
  const fs::path dir = copy_without_weights("tiny");
  std::erase_if(tensors, [](const auto& t) { return t.name.rfind("pooler.", 0) == 0; });
  write_safetensors(dir / "model.safetensors", tensors);
  const auto bytes = convert_bytes(dir);
  const auto model = core::Model::from_memory(bytes.data(), bytes.size(), format::Verify::all);
  CHECK_FALSE(model->has_pooler());
}

TEST_CASE("heads and buffers are skipped with a note; prefixed names and legacy gamma/beta map") {
  convert::ConvertOptions o;
  std::vector<std::string> notes;
  o.note = [&](const std::string& s) { notes.push_back(s); };
  convert::build_model_file((fixtures_dir() / "models/tiny-prefixed").string(), o);
  auto noted = [&](const std::string& needle) {
    for (const auto& n : notes)
      if (n.find(needle) != std::string::npos) return true;
    return false;
  };
  CHECK(noted("bert.embeddings.position_ids"));
  CHECK(noted("cls.seq_relationship.weight"));
}

TEST_CASE("sentence-transformers modules set the default pooling and normalization") {
  const fs::path dir = copy_without_weights("tiny");
  fs::copy_file(fixtures_dir() / "models/tiny/model.safetensors", dir / "model.safetensors");
  std::ofstream(dir / "modules.json") << R"([
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])";
  fs::create_directories(dir / "1_Pooling");
  fs::create_directories(dir / "2_Normalize");
  std::ofstream(dir / "1_Pooling/config.json")
      << R"({"word_embedding_dimension": 32, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false})";
  const auto bytes = convert_bytes(dir);
  const auto model = core::Model::from_memory(bytes.data(), bytes.size(), format::Verify::all);
  CHECK(model->config().default_pool == BERTRT_POOL_CLS);
  CHECK(model->config().default_normalize);
}

TEST_CASE("config errors name the field") {
  const fs::path dir = copy_without_weights("tiny");
  fs::copy_file(fixtures_dir() / "models/tiny/model.safetensors", dir / "model.safetensors");
  std::ofstream(dir / "config.json") << R"({"model_type": "bert", "vocab_size": 120, "hidden_size": 32})";
  CHECK_THROWS_WITH_AS(convert_bytes(dir), doctest::Contains("num_hidden_layers"), bertrt::Error);
  std::ofstream(dir / "config.json") << R"({"model_type": "gpt2"})";
  CHECK_THROWS_WITH_AS(convert_bytes(dir), doctest::Contains("gpt2"), bertrt::Error);
  std::ofstream(dir / "config.json") << "{not json";
  CHECK_THROWS_WITH_AS(convert_bytes(dir), doctest::Contains("not valid JSON"), bertrt::Error);
}

TEST_CASE("f16/bf16 rounding is round-to-nearest-even with inf, nan and subnormals") {
  CHECK(convert::f32_to_f16(1.0f) == 0x3c00);
  CHECK(convert::f32_to_f16(-2.0f) == 0xc000);
  CHECK(convert::f32_to_f16(65504.0f) == 0x7bff);
  CHECK(convert::f32_to_f16(65520.0f) == 0x7c00);
  CHECK(convert::f32_to_f16(INFINITY) == 0x7c00);
  CHECK((convert::f32_to_f16(std::nanf("")) & 0x7c00) == 0x7c00);
  CHECK((convert::f32_to_f16(std::nanf("")) & 0x3ff) != 0);
  CHECK(convert::f32_to_f16(5.960464477539063e-08f) == 0x0001);  // smallest subnormal
  CHECK(convert::f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);       // tie -> even
  CHECK(convert::f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);       // tie -> even (up)
  CHECK(convert::f32_to_bf16(1.0f) == 0x3f80);
  CHECK(convert::f32_to_bf16(1.0f + 1.0f / 256) == 0x3f80);        // tie -> even
  CHECK(convert::f32_to_bf16(1.0f + 3.0f / 256) == 0x3f82);
}

TEST_CASE("sharded safetensors (model.safetensors.index.json) give the same model file") {
  auto tensors = convert::read_safetensors((fixtures_dir() / "models/tiny/model.safetensors").string());
  const fs::path dir = copy_without_weights("tiny");
  std::vector<convert::SourceTensor> first, second;
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  for (size_t i = 0; i < tensors.size(); ++i) {
    const bool in_first = i % 2 == 0;
    index["weight_map"][tensors[i].name] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    (in_first ? first : second).push_back(tensors[i]);
  }
  write_safetensors(dir / "model-00001-of-00002.safetensors", first);
  write_safetensors(dir / "model-00002-of-00002.safetensors", second);
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  CHECK(convert_bytes(dir) == read_all(converted_model("tiny")));
  // An index naming a file outside the directory is refused.
  index["weight_map"][tensors[0].name] = "../elsewhere.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  CHECK_THROWS_WITH_AS(convert_bytes(dir), doctest::Contains("outside the directory"), bertrt::Error);
}
