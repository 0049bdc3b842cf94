// The task-head commands (bertrt classify, rerank, tag, fill-mask, embed --sparse) on the family
// fixtures' head models, checked against `bertrt run --stage forward`'s logits.npy for the same
// tokens; the entity grouping, top-k, scores and sparsification as pure functions on hand-worked
// examples; bad input (no head, another head kind, no mask token, bad options) as clear errors.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>
#include <tuple>

#include "cli/task_heads.h"
#include "common/fixtures.h"

using namespace bertrt::testing;
namespace fs = std::filesystem;
namespace heads = bertrt::heads;
using json = nlohmann::json;

namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

struct Result {
  int status = 0;
  std::string out, err;
  std::vector<json> lines() const {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) v.push_back(json::parse(line));
    return v;
  }
};

Result cli(const std::string& args) {
  static int counter = 0;
  const fs::path dir = temp_dir("cli-verbs-io");
  const std::string out = (dir / ("out" + std::to_string(counter))).string();
  const std::string err = (dir / ("err" + std::to_string(counter++))).string();
  Result r;
  const int rc = std::system((quote(BERTRT_CLI) + " " + args + " > " + quote(out) + " 2> " + quote(err)).c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

fs::path families_dir() { return data_dir() / "fixtures-families"; }

std::string convert(const fs::path& dir, const std::string& extra = "") {
  static std::map<std::string, std::string> cache;
  const std::string key = dir.string() + extra;
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const std::string out = (temp_dir("cli-verbs-model") / (dir.filename().string() + ".bertrt")).string();
  const Result r = cli("convert " + quote(dir.string()) + " -o " + quote(out) + " " + extra);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  cache[key] = out;
  return out;
}
std::string model(const std::string& name) { return convert(families_dir() / "models" / name); }

// A copy of a fixture model whose classifier is edited: its first `keep` rows kept (0: all), its
// weights multiplied by `scale`; config.json's labels follow.
std::string derived(const std::string& source, const std::string& name, size_t keep, float scale) {
  static std::map<std::string, std::string> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const fs::path dir = temp_dir("cli-verbs-derived") / name;
  fs::copy(families_dir() / "models" / source, dir, fs::copy_options::recursive);
  std::ifstream in(dir / "model.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  in.close();
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const json header = json::parse(bytes.substr(8, n));
  const std::string data = bytes.substr(8 + n);
  json out_header = json::object();
  std::string out_data;
  for (const auto& [tensor, t] : header.items()) {
    if (tensor == "__metadata__") continue;
    REQUIRE(t["dtype"] == "F32");
    const size_t a = t["data_offsets"][0], b = t["data_offsets"][1];
    std::vector<size_t> shape = t["shape"];
    std::string bytes_of = data.substr(a, b - a);
    if (tensor == "classifier.weight" || tensor == "classifier.bias") {
      if (keep) {
        bytes_of.resize(bytes_of.size() / shape[0] * keep);  // the first rows
        shape[0] = keep;
      }
      for (size_t i = 0; tensor == "classifier.weight" && i < bytes_of.size(); i += 4) {
        float x;
        std::memcpy(&x, bytes_of.data() + i, 4);
        x *= scale;
        std::memcpy(bytes_of.data() + i, &x, 4);
      }
    }
    out_header[tensor] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {out_data.size(), out_data.size() + bytes_of.size()}}};
    out_data += bytes_of;
  }
  std::string text = out_header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t m = text.size();
  std::ofstream(dir / "model.safetensors", std::ios::binary)
      << std::string(reinterpret_cast<const char*>(&m), 8) << text << out_data;
  if (keep) {
    json config = json::parse(std::ifstream(dir / "config.json"));
    config["id2label"] = json::object();
    config["label2id"] = json::object();
    for (size_t i = 0; i < keep; ++i) {
      config["id2label"][std::to_string(i)] = "LABEL_" + std::to_string(i);
      config["label2id"]["LABEL_" + std::to_string(i)] = i;
    }
    std::ofstream(dir / "config.json") << config.dump(2);
  }
  return cache[name] = convert(dir);
}

// bert-tiny-cls cut to its first label: a cross-encoder whose score is the 3-label head's logit 0.
std::string cross_encoder() { return derived("bert-tiny-cls", "bert-tiny-rerank", 1, 1.0f); }

// What forward gives for the tokens `bertrt tokenize` makes of (text, pair): ids, mask, logits.
struct Forward {
  std::vector<int64_t> ids;
  std::vector<std::vector<int64_t>> offsets;
  std::vector<float> logits;  // [1, L], [1, T, L] or [1, T, V]
};
Forward forward(const std::string& model_path, const std::string& text, const std::string& pair = "",
                const std::string& tokenize_extra = "") {
  const Result tok = cli("tokenize " + quote(model_path) + " " + quote(text) +
                         (pair.empty() ? "" : " --pair " + quote(pair)) + " " + tokenize_extra);
  REQUIRE_MESSAGE(tok.status == 0, tok.err);
  const json j = tok.lines().at(0);
  Forward f;
  f.ids = j["ids"].get<std::vector<int64_t>>();
  f.offsets = j["offsets"].get<std::vector<std::vector<int64_t>>>();
  const std::vector<int64_t> types = j["token_type_ids"];
  const fs::path dir = temp_dir("cli-verbs-forward");
  bertrt::npy::write_int64((dir / "ids.npy").string(), f.ids.data(), {1, f.ids.size()});
  bertrt::npy::write_int64((dir / "types.npy").string(), types.data(), {1, types.size()});
  const Result run = cli("run " + quote(model_path) + " --stage forward --input-ids " + quote((dir / "ids.npy").string()) +
                         " --token-type-ids " + quote((dir / "types.npy").string()) + " --out " + quote(dir.string()));
  REQUIRE_MESSAGE(run.status == 0, run.err);
  f.logits = bertrt::npy::as_float32(bertrt::npy::read((dir / "logits.npy").string()), "logits");
  return f;
}

std::vector<double> softmax(const float* x, size_t n) {
  const double top = *std::max_element(x, x + n);
  std::vector<double> p(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp(x[i] - top);
  for (double& v : p) v /= sum;
  return p;
}

const std::vector<std::string> kWords = {"hello", "my", "dog", "is", "cute", "the", "a", "cat", "cats", "b", "c", ",", "."};
std::string random_text(std::mt19937& rng, size_t lo, size_t hi) {
  std::string s;
  const size_t n = lo + rng() % (hi - lo + 1);
  for (size_t i = 0; i < n; ++i) s += (i ? " " : "") + kWords[rng() % kWords.size()];
  return s;
}

}  // namespace

TEST_CASE("entities are grouped as the simple aggregation strategy groups them") {
  // "Ann Lee met Bob in New York Paris ok", worked by hand: I-PER after O and after I-LOC starts a
  // new PER; B-PER after I-PER starts another; O tokens form none; scores are the tokens' mean.
  const std::string text = "Ann Lee met Bob in New York Paris ok";
  const std::vector<heads::TokenTag> tokens = {
      {"B-PER", 0.9f, 0, 3},   {"I-PER", 0.7f, 4, 7},   {"O", 0.99f, 8, 11},  {"I-PER", 0.6f, 12, 15},
      {"O", 0.9f, 16, 18},     {"B-LOC", 0.8f, 19, 22}, {"I-LOC", 0.6f, 23, 27}, {"I-PER", 0.5f, 28, 33},
      {"B-PER", 0.4f, 34, 36}};
  const auto e = heads::group_entities(tokens, text);
  REQUIRE(e.size() == 5);
  const std::vector<std::tuple<std::string, std::string, int64_t, int64_t, float>> want = {
      {"PER", "Ann Lee", 0, 7, 0.8f}, {"PER", "Bob", 12, 15, 0.6f}, {"LOC", "New York", 19, 27, 0.7f},
      {"PER", "Paris", 28, 33, 0.5f}, {"PER", "ok", 34, 36, 0.4f}};
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(e[i].entity_group == std::get<0>(want[i]));
    CHECK(e[i].word == std::get<1>(want[i]));
    CHECK(e[i].start == std::get<2>(want[i]));
    CHECK(e[i].end == std::get<3>(want[i]));
    CHECK(e[i].score == doctest::Approx(std::get<4>(want[i])).epsilon(1e-6));
  }
  // A word piece continues its word ("cat" "##s"); a bare label is a continuation of its type;
  // an entity may start with I- at the first token.
  const std::string t2 = "cats b c d";
  const std::vector<heads::TokenTag> tokens2 = {{"I-LOC", 0.5f, 0, 3}, {"LOC", 0.3f, 3, 4}, {"B-LOC", 0.2f, 5, 6},
                                                {"MISC", 1.0f, 7, 8}, {"MISC", 0.5f, 9, 10}};
  const auto e2 = heads::group_entities(tokens2, t2);
  REQUIRE(e2.size() == 3);
  CHECK(e2[0].word == "cats");
  CHECK(e2[0].score == doctest::Approx(0.4));
  CHECK(e2[1].word == "b");
  CHECK(e2[2].entity_group == "MISC");
  CHECK(e2[2].word == "c d");
  CHECK(e2[2].score == doctest::Approx(0.75));
  CHECK(heads::group_entities({}, "").empty());
  CHECK(heads::group_entities(std::vector<heads::TokenTag>{{"O", 0.9f, 0, 1}}, "x").empty());
}

TEST_CASE("top-k, scores and sparsification") {
  const std::vector<float> v = {0.5f, 2.0f, -1.0f, 2.0f, 0.0f};
  CHECK(heads::top_k(v, 3) == std::vector<size_t>{1, 3, 0});
  CHECK(heads::top_k(v, 9).size() == 5);
  std::vector<float> p = {1.0f, 2.0f, 3.0f, 1000.0f, 1000.0f, 1000.0f};
  heads::apply_scores(p, 3, heads::ScoreFunction::softmax);
  const double z = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  CHECK(p[0] == doctest::Approx(std::exp(-2.0) / z));
  CHECK(p[2] == doctest::Approx(1.0 / z));
  CHECK(p[4] == doctest::Approx(1.0 / 3));
  std::vector<float> s = {0.0f, 2.0f};
  heads::apply_scores(s, 2, heads::ScoreFunction::sigmoid);
  CHECK(s[0] == doctest::Approx(0.5));
  CHECK(s[1] == doctest::Approx(1.0 / (1.0 + std::exp(-2.0))));
  const std::vector<float> dense = {0.0f, 0.3f, 0.0f, 1.2f, 0.3f, 0.05f};
  const heads::SparseVector all = heads::sparsify(dense, 0, 0.0f);
  CHECK(all.ids == std::vector<int64_t>{3, 1, 4, 5});
  CHECK(heads::sparsify(dense, 2, 0.0f).ids == std::vector<int64_t>{3, 1});
  CHECK(heads::sparsify(dense, 0, 0.1f).ids == std::vector<int64_t>{3, 1, 4});
}

TEST_CASE("classify: probabilities are the softmax of forward's logits") {
  std::mt19937 rng(std::random_device{}());
  const std::string path = model("bert-tiny-cls");
  std::vector<std::string> texts, pairs;
  std::string args;
  for (int i = 0; i < 4; ++i) {
    texts.push_back(random_text(rng, 1, 9));
    pairs.push_back(random_text(rng, 1, 6));
    args.append(" ").append(quote(texts.back())).append(" --pair ").append(quote(pairs.back()));
  }
  const Result r = cli("classify " + quote(path) + args + " --batch-size 3");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto lines = r.lines();
  REQUIRE(lines.size() == texts.size());
  const std::vector<std::string> names = {"negative", "neutral", "positive"};
  for (size_t i = 0; i < texts.size(); ++i) {
    const Forward f = forward(path, texts[i], pairs[i]);
    const std::vector<double> p = softmax(f.logits.data(), 3);
    double sum = 0;
    for (const json& l : lines[i]["labels"]) {
      const size_t j = std::find(names.begin(), names.end(), l["label"].get<std::string>()) - names.begin();
      REQUIRE(j < 3);
      CHECK(l["score"].get<double>() == doctest::Approx(p[j]).epsilon(1e-5));
      sum += l["score"].get<double>();
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(lines[i]["label"] == names[std::max_element(p.begin(), p.end()) - p.begin()]);
  }
}

TEST_CASE("rerank: scores are the cross-encoder's logits, best first, raw or through a sigmoid") {
  std::mt19937 rng(std::random_device{}());
  const std::string path = cross_encoder();
  const std::string query = random_text(rng, 2, 5);
  std::vector<std::string> docs;
  std::string args;
  for (int i = 0; i < 6; ++i) {
    docs.push_back(random_text(rng, 1, i == 5 ? 60 : 12));  // the last may pass max length: cut
    args.append(" ").append(quote(docs.back()));
  }
  std::vector<double> logit(docs.size());
  for (size_t i = 0; i < docs.size(); ++i)
    logit[i] = forward(path, query, docs[i], "--max-length 40 --truncation only_second").logits.at(0);
  for (const bool sig : {false, true}) {
    const Result r = cli("rerank " + quote(path) + " --query " + quote(query) + args + " --batch-size 4" +
                         (sig ? " --sigmoid" : ""));
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const auto lines = r.lines();
    REQUIRE(lines.size() == docs.size());
    std::vector<bool> seen(docs.size());
    for (size_t k = 0; k < lines.size(); ++k) {
      const size_t i = lines[k]["index"];
      REQUIRE(i < docs.size());
      seen[i] = true;
      const double want = sig ? 1.0 / (1.0 + std::exp(-logit[i])) : logit[i];
      CHECK(lines[k]["score"].get<double>() == doctest::Approx(want).epsilon(1e-5));
      if (k) CHECK(lines[k - 1]["score"].get<double>() >= lines[k]["score"].get<double>());
    }
    CHECK(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
  }
  const Result top = cli("rerank " + quote(path) + " --query " + quote(query) + args + " --top-k 2");
  CHECK(top.lines().size() == 2);
}

TEST_CASE("tag: each token's best label, grouped into entities") {
  std::mt19937 rng(std::random_device{}());
  // The fixture's random head says O almost everywhere; with its classifier scaled up the labels
  // vary from token to token and the texts hold entities of every kind.
  const std::vector<std::string> labels = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
  size_t entities = 0;
  for (int round = 0; round < 6; ++round) {
    const std::string path = round < 2 ? model("bert-tiny-ner") : derived("bert-tiny-ner", "bert-tiny-ner-sharp", 0, 40.0f);
    const std::string text = random_text(rng, 4, 14);
    const Result r = cli("tag " + quote(path) + " " + quote(text));
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const json line = r.lines().at(0);
    const Forward f = forward(path, text);
    std::vector<heads::TokenTag> tags;
    size_t k = 0;
    for (size_t t = 0; t < f.ids.size(); ++t) {
      if (f.offsets[t][1] == 0) continue;  // special tokens
      REQUIRE(k < line["tokens"].size());
      const json& tok = line["tokens"][k++];
      const std::vector<double> p = softmax(f.logits.data() + t * 5, 5);
      const size_t best = std::max_element(p.begin(), p.end()) - p.begin();
      CHECK(tok["label"] == labels[best]);
      CHECK(tok["score"].get<double>() == doctest::Approx(p[best]).epsilon(1e-5));
      CHECK(tok["start"] == f.offsets[t][0]);
      CHECK(tok["end"] == f.offsets[t][1]);
      tags.push_back({labels[best], tok["score"].get<float>(), f.offsets[t][0], f.offsets[t][1]});
    }
    CHECK(k == line["tokens"].size());
    const auto want = heads::group_entities(tags, text);
    REQUIRE(line["entities"].size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CHECK(line["entities"][i]["entity_group"] == want[i].entity_group);
      CHECK(line["entities"][i]["word"] == want[i].word);
      CHECK(line["entities"][i]["word"] == text.substr(want[i].start, want[i].end - want[i].start));
      CHECK(line["entities"][i]["score"].get<double>() == doctest::Approx(want[i].score).epsilon(1e-5));
    }
    entities += want.size();
  }
  CHECK(entities > 0);
}

TEST_CASE("fill-mask: the top k are the argsort of the masked-LM logits at the mask") {
  std::mt19937 rng(std::random_device{}());
  const std::string path = model("bert-tiny-mlm");
  for (int round = 0; round < 3; ++round) {
    std::string text = random_text(rng, 2, 6) + " [MASK] " + random_text(rng, 1, 4);
    if (round == 2) text += " [MASK] .";
    const size_t k = 1 + rng() % 9;
    const Result r = cli("fill-mask " + quote(path) + " " + quote(text) + " --top-k " + std::to_string(k));
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const json masks = r.lines().at(0)["masks"];
    const Forward f = forward(path, text);
    size_t m = 0;
    for (size_t t = 0; t < f.ids.size(); ++t) {
      if (f.ids[t] != 103) continue;
      REQUIRE(m < masks.size());
      const std::vector<double> p = softmax(f.logits.data() + t * 128, 128);
      std::vector<size_t> order(128);
      std::iota(order.begin(), order.end(), size_t{0});
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
      REQUIRE(masks[m].size() == k);
      for (size_t i = 0; i < k; ++i) {
        CHECK(masks[m][i]["token"] == order[i]);
        CHECK(masks[m][i]["score"].get<double>() == doctest::Approx(p[order[i]]).epsilon(1e-5));
      }
      ++m;
    }
    CHECK(m == masks.size());
  }
}

TEST_CASE("embed --sparse: SPLADE weights from the full masked-LM logits") {
  std::mt19937 rng(std::random_device{}());
  const std::string path = model("bert-tiny-mlm");
  std::vector<std::string> texts;
  const fs::path dir = temp_dir("cli-verbs-sparse");
  std::ofstream corpus(dir / "corpus.txt");
  for (int i = 0; i < 5; ++i) {
    texts.push_back(random_text(rng, 1, 20));
    corpus << texts.back() << '\n';
  }
  corpus.close();
  const Result r = cli("embed " + quote(path) + " --sparse --input " + quote((dir / "corpus.txt").string()) +
                       " --output " + quote((dir / "csr").string()) + " --batch-size 2");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto indices = bertrt::npy::as_int64(bertrt::npy::read((dir / "csr/indices.npy").string()), "indices");
  const auto values = bertrt::npy::as_float32(bertrt::npy::read((dir / "csr/values.npy").string()), "values");
  const auto offsets = bertrt::npy::as_int64(bertrt::npy::read((dir / "csr/offsets.npy").string()), "offsets");
  REQUIRE(offsets.size() == texts.size() + 1);
  for (size_t i = 0; i < texts.size(); ++i) {
    const Forward f = forward(path, texts[i]);
    std::vector<float> dense(128, 0.0f);
    for (size_t t = 0; t < f.ids.size(); ++t)
      for (size_t v = 0; v < 128; ++v)
        dense[v] = std::max(dense[v], static_cast<float>(std::log1p(std::max(0.0, double(f.logits[t * 128 + v])))));
    size_t expected = 0;
    for (float w : dense) expected += w > 0 ? 1 : 0;
    REQUIRE(static_cast<size_t>(offsets[i + 1] - offsets[i]) == expected);
    for (int64_t j = offsets[i]; j < offsets[i + 1]; ++j) {
      CHECK(std::abs(values[j] - dense[indices[j]]) <= 1e-5);
      if (j > offsets[i]) CHECK(values[j - 1] >= values[j]);
    }
  }
  const Result top = cli("embed " + quote(path) + " --sparse --top-k 3 " + quote(texts[0]));
  REQUIRE_MESSAGE(top.status == 0, top.err);
  const json line = top.lines().at(0);
  CHECK(line["ids"].size() == 3);
  CHECK(line["ids"][0] == indices[0]);
}

TEST_CASE("the head commands refuse what they cannot do, with a clear message") {
  const std::string cls = model("bert-tiny-cls"), mlm = model("bert-tiny-mlm"), ner = model("bert-tiny-ner");
  const std::string base = convert(families_dir() / "models" / "bert-tiny-cls", "--no-heads");
  auto fails = [](const Result& r, const std::string& words) {
    CHECK(r.status != 0);
    CHECK_MESSAGE(r.err.find(words) != std::string::npos, r.err);
  };
  fails(cli("classify " + quote(mlm) + " 'a dog'"), "sequence head");
  fails(cli("classify " + quote(base) + " 'a dog'"), "no task head");
  fails(cli("rerank " + quote(cls) + " --query q 'a dog'"), "one label");
  fails(cli("rerank " + quote(cls) + " 'a dog'"), "--query");
  fails(cli("tag " + quote(cls) + " 'a dog'"), "token head");
  fails(cli("fill-mask " + quote(ner) + " 'a [MASK]'"), "masked_lm head");
  fails(cli("fill-mask " + quote(mlm) + " 'a dog'"), "no mask token");
  fails(cli("fill-mask " + quote(mlm) + " 'a [MASK]' --top-k 0"), "--top-k");
  fails(cli("embed " + quote(cls) + " --sparse 'a dog'"), "masked_lm head");
  fails(cli("embed " + quote(mlm) + " --top-k 3 'a dog'"), "--sparse");
  fails(cli("embed " + quote(mlm) + " --sparse --threshold abc 'a dog'"), "--threshold");
  fails(cli("classify " + quote(cls)), "TEXT");
  fails(cli("classify " + quote(cls) + " a b c --pair x --pair y"), "--pair");
}
