// bertrt-make-demo DIR: writes a small BERT checkpoint in Hugging Face layout (config.json,
// vocab.txt, tokenizer_config.json, model.safetensors) with RANDOM weights from a fixed seed.
// It exists so that the whole pipeline can be tried without downloading anything; its outputs
// mean nothing.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kHidden = 64, kLayers = 2, kHeads = 4, kIntermediate = 128, kPositions = 128, kTypes = 2;

std::vector<std::string> demo_vocab() {
  std::vector<std::string> v = {"[PAD]"};
  for (int i = 1; i < 100; ++i) v.push_back("[unused" + std::to_string(i) + "]");
  for (const char* s : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"}) v.push_back(s);
  for (const char* s : {",", ".", "!", "?", "'", "-", "hello", "my", "dog", "is", "cute", "the", "a", "cat", "and", "bert",
                        "runs", "on", "cpu", "##s", "##ing", "##ed", "##ly"})
    v.push_back(s);
  for (char c = 'a'; c <= 'z'; ++c) v.push_back(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) v.push_back("##" + std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) v.push_back(std::string(1, c));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || !std::strcmp(argv[1], "--help")) {
    std::fprintf(stderr, "usage: bertrt-make-demo DIR\nWrites a small random-weight BERT checkpoint (Hugging Face layout) into DIR.\n");
    return argc == 2 ? 0 : 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  const std::vector<std::string> vocab = demo_vocab();
  {
    std::ofstream f(dir / "vocab.txt", std::ios::binary);
    for (const auto& t : vocab) f << t << '\n';
  }
  nlohmann::ordered_json config = {
      {"architectures", {"BertModel"}}, {"model_type", "bert"}, {"vocab_size", vocab.size()},
      {"hidden_size", kHidden}, {"num_hidden_layers", kLayers}, {"num_attention_heads", kHeads},
      {"intermediate_size", kIntermediate}, {"max_position_embeddings", kPositions}, {"type_vocab_size", kTypes},
      {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12}, {"pad_token_id", 0},
      {"position_embedding_type", "absolute"}};
  std::ofstream(dir / "config.json") << config.dump(2) << '\n';
  std::ofstream(dir / "tokenizer_config.json")
      << nlohmann::ordered_json{{"do_lower_case", true}, {"tokenizer_class", "BertTokenizer"},
                                {"model_max_length", kPositions}}.dump(2)
      << '\n';

  // Tensors in PyTorch BertModel naming and orientation (Linear weights [out, in]).
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> data;
  };
  std::mt19937 rng(20241126);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Tensor> tensors;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale, float offset) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    Tensor t{name, std::move(shape), std::vector<float>(n)};
    for (float& x : t.data) x = offset + scale * normal(rng);
    tensors.push_back(std::move(t));
  };
  const int64_t V = static_cast<int64_t>(vocab.size());
  add("embeddings.word_embeddings.weight", {V, kHidden}, 0.02f, 0.0f);
  add("embeddings.position_embeddings.weight", {kPositions, kHidden}, 0.02f, 0.0f);
  add("embeddings.token_type_embeddings.weight", {kTypes, kHidden}, 0.02f, 0.0f);
  add("embeddings.LayerNorm.weight", {kHidden}, 0.1f, 1.0f);
  add("embeddings.LayerNorm.bias", {kHidden}, 0.02f, 0.0f);
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* part : {"query", "key", "value"}) {
      add(p + "attention.self." + part + ".weight", {kHidden, kHidden}, 0.02f, 0.0f);
      add(p + "attention.self." + part + ".bias", {kHidden}, 0.02f, 0.0f);
    }
    add(p + "attention.output.dense.weight", {kHidden, kHidden}, 0.02f, 0.0f);
    add(p + "attention.output.dense.bias", {kHidden}, 0.02f, 0.0f);
    add(p + "attention.output.LayerNorm.weight", {kHidden}, 0.1f, 1.0f);
    add(p + "attention.output.LayerNorm.bias", {kHidden}, 0.02f, 0.0f);
    add(p + "intermediate.dense.weight", {kIntermediate, kHidden}, 0.02f, 0.0f);
    add(p + "intermediate.dense.bias", {kIntermediate}, 0.02f, 0.0f);
    add(p + "output.dense.weight", {kHidden, kIntermediate}, 0.02f, 0.0f);
    add(p + "output.dense.bias", {kHidden}, 0.02f, 0.0f);
    add(p + "output.LayerNorm.weight", {kHidden}, 0.1f, 1.0f);
    add(p + "output.LayerNorm.bias", {kHidden}, 0.02f, 0.0f);
  }
  add("pooler.dense.weight", {kHidden, kHidden}, 0.02f, 0.0f);
  add("pooler.dense.bias", {kHidden}, 0.02f, 0.0f);

  // safetensors: u64 header length, JSON header (padded with spaces to 8 bytes), raw data.
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  size_t offset = 0;
  for (const auto& t : tensors) {
    const size_t bytes = t.data.size() * 4;
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream f(dir / "model.safetensors", std::ios::binary);
  uint64_t len = text.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));
  f.write(reinterpret_cast<const char*>(len_bytes), 8);
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : tensors)
    f.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size() * 4));
  std::printf("wrote a random-weight demo BERT (hidden %d, %d layers, vocab %zu) to %s\n", kHidden, kLayers,
              vocab.size(), dir.string().c_str());
  return 0;
}
