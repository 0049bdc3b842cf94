// Every case of the family fixtures (RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA, and BERT, RoBERTa,
// DistilBERT, ELECTRA bodies of task-head checkpoints) through the C API, stage by stage: lookup,
// embed, encode with hidden states, pooler, forward from ids, forward from inputs_embeds, explicit
// position ids; every output but the head's logits at the case's atol under the file's compare rule.
// Also the calls a family cannot make, which must be clear errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bertrt/bertrt.h"
#include "common/fixtures.h"
#include "common/isa.h"
#include "convert/convert.h"

using namespace bertrt::testing;
namespace npy = bertrt::npy;
namespace fs = std::filesystem;

namespace {

fs::path families_dir() { return data_dir() / "fixtures-families"; }

const nlohmann::json& cases_json() {
  static const nlohmann::json doc = [] {
    std::ifstream f(families_dir() / "cases.json");
    return nlohmann::json::parse(f);
  }();
  return doc;
}

// A model converted from its fixture directory (or, for "bin", from pytorch_model.bin alone); cached.
std::string converted(const std::string& model, const std::string& weights = "safetensors") {
  static std::map<std::string, std::string> cache;
  const std::string key = model + "@" + weights;
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  fs::path src = families_dir() / "models" / model;
  if (weights == "bin") {
    const fs::path dir = temp_dir("bin-" + model);
    fs::copy_file(src / "config.json", dir / "config.json");
    fs::copy_file(src / "pytorch_model.bin", dir / "pytorch_model.bin");
    src = dir;
  }
  const std::string out = (temp_dir("model") / (model + ".bertrt")).string();
  bertrt::convert::convert_directory(src.string(), out, {});
  cache[key] = out;
  return out;
}

// An int64 [B, T] .npy in C or Fortran order (some derived_position_ids files are stored in
// Fortran order, which npy::read refuses), returned in C order.
std::vector<int64_t> read_ids_any_order(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  REQUIRE_MESSAGE((bytes.size() > 10 && bytes.compare(0, 6, "\x93NUMPY") == 0), path);
  const bool v1 = bytes[6] == 1;
  size_t header_len = static_cast<unsigned char>(bytes[8]) | static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
  size_t start = 10;
  if (!v1) {
    header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[10])) << 16 |
                  static_cast<size_t>(static_cast<unsigned char>(bytes[11])) << 24;
    start = 12;
  }
  const std::string header = bytes.substr(start, header_len);
  REQUIRE_MESSAGE(header.find("'<i8'") != std::string::npos, path << ": " << header);
  const bool fortran = header.find("'fortran_order': True") != std::string::npos;
  const size_t open = header.find("'shape': (") + 10, comma = header.find(',', open), close = header.find(')', open);
  const size_t rows = std::stoul(header.substr(open, comma - open)), cols = std::stoul(header.substr(comma + 1, close - comma - 1));
  REQUIRE(bytes.size() == start + header_len + rows * cols * 8);
  std::vector<int64_t> raw(rows * cols), out(rows * cols);
  std::memcpy(raw.data(), bytes.data() + start + header_len, raw.size() * 8);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) out[r * cols + c] = fortran ? raw[c * rows + r] : raw[r * cols + c];
  return out;
}

struct Case {
  const nlohmann::json& j;
  fs::path dir;
  std::string model, name;
  double atol;
  bool has(const std::string& role) const { return j["inputs"].contains(role); }
  std::vector<int64_t> ids(const std::string& role) const {
    if (!has(role)) return {};
    return npy::as_int64(npy::read((dir / j["inputs"][role].get<std::string>()).string()), role.c_str());
  }
  std::vector<int64_t> derived_positions() const {
    if (!j.contains("derived_position_ids")) return {};
    return read_ids_any_order(dir / j["derived_position_ids"].get<std::string>());
  }
};

const int64_t* ptr(const std::vector<int64_t>& v) { return v.empty() ? nullptr : v.data(); }
std::vector<float> poisoned(size_t n) { return std::vector<float>(n, std::nanf("")); }

struct Runner {
  const Case& c;
  size_t batch = 0, seq_len = 0;
  std::vector<int64_t> mask;

  // Compares got with the golden of role under the file's compare rule; every element must also
  // be finite (the library writes all of them, masked tokens included).
  void check(const std::string& role, const std::vector<float>& got, const std::string& via) const {
    REQUIRE_MESSAGE(c.j["outputs"].contains(role), c.model << "/" << c.name << ": no golden " << role);
    const std::string file = c.j["outputs"][role].get<std::string>();
    const std::string rule = c.j["files"][file]["compare"].get<std::string>();
    const npy::Array golden = npy::read((c.dir / file).string());
    const double diff = max_abs_diff(got, golden, rule, mask, batch, seq_len);
    size_t non_finite = 0;
    for (float v : got) non_finite += std::isfinite(v) ? 0 : 1;
    INFO(c.model << "/" << c.name << " " << role << " via " << via << ": max abs diff " << diff << ", "
                 << non_finite << " elements not written or not finite");
    CHECK(diff <= c.atol);
    CHECK(non_finite == 0);
  }
  std::vector<float> golden(const std::string& role) const {
    const std::string file = c.j["outputs"][role].get<std::string>();
    return npy::as_float32(npy::read((c.dir / file).string()), role.c_str());
  }
};

struct Forward {
  std::vector<float> last, emb, hidden, pooler;
};

Forward run_forward(bertrt_session* s, const bertrt_config& cfg, const Runner& r, const int64_t* ids,
                    const float* embeds, const int64_t* types, const int64_t* positions) {
  const size_t n = r.batch * r.seq_len, H = static_cast<size_t>(cfg.hidden_size),
               E = static_cast<size_t>(cfg.embedding_size), L = static_cast<size_t>(cfg.num_hidden_layers);
  Forward f{poisoned(n * H), poisoned(n * E), poisoned((L + 1) * n * H), poisoned(r.batch * H)};
  bertrt_forward_inputs in{};
  in.input_ids = ids;
  in.inputs_embeds = embeds;
  in.attention_mask = ptr(r.mask);
  in.token_type_ids = types;
  in.position_ids = positions;
  in.batch = r.batch;
  in.seq_len = r.seq_len;
  bertrt_forward_outputs out{};
  out.last_hidden_state = f.last.data();
  out.embedding_output = f.emb.data();
  out.hidden_states = f.hidden.data();
  out.pooler_output = cfg.has_pooler ? f.pooler.data() : nullptr;
  REQUIRE_MESSAGE(bertrt_session_forward(s, &in, &out) == BERTRT_OK, bertrt_last_error());
  return f;
}

void check_forward(const Runner& r, const bertrt_config& cfg, const Forward& f, const std::string& via) {
  const size_t nh = r.batch * r.seq_len * static_cast<size_t>(cfg.hidden_size);
  r.check("embedding_output", f.emb, via);
  r.check("last_hidden_state", f.last, via);
  for (size_t l = 0; l <= static_cast<size_t>(cfg.num_hidden_layers); ++l)
    r.check("hidden_states_" + std::to_string(l),
            std::vector<float>(f.hidden.begin() + static_cast<long>(l * nh),
                               f.hidden.begin() + static_cast<long>((l + 1) * nh)),
            via);
  if (cfg.has_pooler && r.c.j["outputs"].contains("pooler_output")) r.check("pooler_output", f.pooler, via);
}

// The position ids the model uses from inputs_embeds when none are given.
std::vector<int64_t> embeds_default_positions(const bertrt_config& cfg, size_t batch, size_t seq_len) {
  const std::string family = cfg.family;
  const bool roberta = family == "roberta" || family == "xlm-roberta" || family == "camembert";
  std::vector<int64_t> p(batch * seq_len);
  for (size_t i = 0; i < p.size(); ++i)
    p[i] = static_cast<int64_t>(i % seq_len) + (roberta ? cfg.pad_token_id + 1 : 0);
  return p;
}

void run_case(const Case& c, const std::string& model_path, const std::string& family) {
  bertrt_model* model = nullptr;
  REQUIRE_MESSAGE(bertrt_model_open(model_path.c_str(), nullptr, &model) == BERTRT_OK, bertrt_last_error());
  bertrt_config cfg{};
  REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
  CHECK(std::string(cfg.family) == family);
  bertrt_session* s = nullptr;
  REQUIRE(bertrt_session_create(model, &s) == BERTRT_OK);

  Runner r{c, 0, 0, {}};
  const auto input_ids = c.ids("input_ids"), types = c.ids("token_type_ids"), positions = c.ids("position_ids");
  r.mask = c.ids("attention_mask");
  std::vector<float> embeds;
  {
    const npy::Array a = npy::read((c.dir / c.j["inputs"][c.has("input_ids") ? "input_ids" : "inputs_embeds"]
                                                .get<std::string>()).string());
    r.batch = a.shape[0];
    r.seq_len = a.shape[1];
    if (!c.has("input_ids")) embeds = npy::as_float32(a, "inputs_embeds");
  }
  const size_t n = r.batch * r.seq_len, H = static_cast<size_t>(cfg.hidden_size),
               E = static_cast<size_t>(cfg.embedding_size), L = static_cast<size_t>(cfg.num_hidden_layers);
  // Explicit positions when the case gives them, else the ids the model derived (from input_ids
  // they depend on the padding, which embed cannot see).
  const std::vector<int64_t> stage_positions = positions.empty() ? c.derived_positions() : positions;

  if (!input_ids.empty()) {
    embeds = poisoned(n * E);
    REQUIRE_MESSAGE(bertrt_session_lookup(s, input_ids.data(), r.batch, r.seq_len, embeds.data()) == BERTRT_OK,
                    bertrt_last_error());
    r.check("inputs_embeds", embeds, "lookup");
  }
  std::vector<float> emb = poisoned(n * E);
  REQUIRE_MESSAGE(bertrt_session_embed(s, embeds.data(), ptr(types), ptr(stage_positions), r.batch, r.seq_len,
                                       emb.data()) == BERTRT_OK,
                  bertrt_last_error());
  r.check("embedding_output", emb, "embed");
  if (positions.empty() && stage_positions == embeds_default_positions(cfg, r.batch, r.seq_len)) {
    // Where the derived ids are the inputs_embeds rule, embed's own defaults must give the same.
    std::vector<float> emb_default = poisoned(n * E);
    REQUIRE(bertrt_session_embed(s, embeds.data(), ptr(types), nullptr, r.batch, r.seq_len, emb_default.data()) ==
            BERTRT_OK);
    r.check("embedding_output", emb_default, "embed(default positions)");
  }

  // encode's input is hidden_states_0: the embedding output, or for ELECTRA its projection to H.
  const std::vector<float> encoder_in = E == H ? emb : r.golden("hidden_states_0");
  std::vector<float> last = poisoned(n * H), hidden_states = poisoned((L + 1) * n * H);
  bertrt_encode_outputs extra{hidden_states.data(), nullptr};
  REQUIRE_MESSAGE(bertrt_session_encode(s, encoder_in.data(), ptr(r.mask), r.batch, r.seq_len, &extra,
                                        last.data()) == BERTRT_OK,
                  bertrt_last_error());
  r.check("last_hidden_state", last, "encode");
  for (size_t l = 0; l <= L; ++l)
    r.check("hidden_states_" + std::to_string(l),
            std::vector<float>(hidden_states.begin() + static_cast<long>(l * n * H),
                               hidden_states.begin() + static_cast<long>((l + 1) * n * H)),
            "encode(hidden_states)");

  std::vector<float> pooled = poisoned(r.batch * H);
  const bertrt_status pool = bertrt_session_pool(s, last.data(), ptr(r.mask), r.batch, r.seq_len,
                                                 BERTRT_POOL_POOLER, 0, pooled.data());
  if (cfg.has_pooler) {
    REQUIRE_MESSAGE(pool == BERTRT_OK, bertrt_last_error());
    if (c.j["outputs"].contains("pooler_output")) r.check("pooler_output", pooled, "pool(pooler)");
  } else {
    CHECK(pool == BERTRT_ERROR_NO_POOLER);
    CHECK_FALSE(c.j["outputs"].contains("pooler_output"));
  }

  // forward from what the case gives (ids: the model derives positions itself).
  check_forward(r, cfg, run_forward(s, cfg, r, ptr(input_ids), input_ids.empty() ? embeds.data() : nullptr,
                                    ptr(types), ptr(positions)),
                input_ids.empty() ? "forward(inputs_embeds)" : "forward(input_ids)");
  if (!input_ids.empty()) {
    // forward from the looked-up vectors with the positions the ids gave, and from ids with those
    // positions explicit: the same outputs.
    check_forward(r, cfg, run_forward(s, cfg, r, nullptr, embeds.data(), ptr(types), ptr(stage_positions)),
                  "forward(inputs_embeds, position_ids)");
    check_forward(r, cfg, run_forward(s, cfg, r, input_ids.data(), nullptr, ptr(types), ptr(stage_positions)),
                  "forward(input_ids, position_ids)");
  }
  bertrt_session_free(s);
  bertrt_model_free(model);
}

// meson runs this test once per BERTRT_ISA level; on a CPU that lacks the level, opening a model
// is an error (BERTRT_ERROR_UNSUPPORTED), so the run is skipped with a note instead of failing.
struct Opened {
  bertrt_model* model = nullptr;
  bertrt_session* session = nullptr;
  bertrt_config cfg{};
  explicit Opened(const std::string& path) {
    REQUIRE_MESSAGE(bertrt_model_open(path.c_str(), nullptr, &model) == BERTRT_OK, bertrt_last_error());
    REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
    REQUIRE(bertrt_session_create(model, &session) == BERTRT_OK);
  }
  ~Opened() {
    bertrt_session_free(session);
    bertrt_model_free(model);
  }
};

}  // namespace

TEST_CASE("every family fixture case matches its goldens through the C API, stage by stage") {
  if (isa_unavailable()) return;
  const auto& doc = cases_json();
  REQUIRE(doc["cases"].size() == 68);
  for (const auto& j : doc["cases"]) {
    const Case c{j, families_dir() / j["dir"].get<std::string>(), j["model"].get<std::string>(),
                 j["case"].get<std::string>(), j["atol"].get<double>()};
    const std::string family = doc["models"][c.model]["model_type"].get<std::string>();
    SUBCASE((c.model + "/" + c.name).c_str()) { run_case(c, converted(c.model), family); }
  }
}

TEST_CASE("roberta-tiny converted from pytorch_model.bin matches the goldens") {
  if (isa_unavailable()) return;
  for (const auto& j : cases_json()["cases"]) {
    if (j["model"] != "roberta-tiny") continue;
    const Case c{j, families_dir() / j["dir"].get<std::string>(), "roberta-tiny", j["case"].get<std::string>(),
                 j["atol"].get<double>()};
    SUBCASE(c.name.c_str()) { run_case(c, converted("roberta-tiny", "bin"), "roberta"); }
  }
}

TEST_CASE("family configs through the C API: widths, usable length, token types, pooler") {
  if (isa_unavailable()) return;
  {
    Opened m(converted("roberta-tiny"));
    CHECK(std::string(m.cfg.family) == "roberta");
    CHECK(m.cfg.max_position_embeddings == 34);
    CHECK(m.cfg.max_sequence_length == 32);
    CHECK(m.cfg.embedding_size == 32);
    CHECK(m.cfg.has_pooler == 1);
    // T = 33 needs position 34: too long.
    std::vector<int64_t> ids(33, 5);
    std::vector<float> last(33 * 32);
    bertrt_forward_inputs in{};
    in.input_ids = ids.data();
    in.batch = 1;
    in.seq_len = 33;
    bertrt_forward_outputs out{};
    out.last_hidden_state = last.data();
    CHECK(bertrt_session_forward(m.session, &in, &out) == BERTRT_ERROR_SEQUENCE_TOO_LONG);
    CHECK(std::string(bertrt_last_error()).find("32") != std::string::npos);
    // No tokenizer files in the folder: tokenizing through the model is a clear error.
    bertrt_tokenizer* tok = nullptr;
    CHECK(bertrt_tokenizer_from_model(m.model, &tok) != BERTRT_OK);
    CHECK(tok == nullptr);
    CHECK(std::string(bertrt_last_error()).find("tokenizer") != std::string::npos);
  }
  {
    Opened m(converted("xlmr-tiny"));
    CHECK(std::string(m.cfg.family) == "xlm-roberta");
    CHECK(m.cfg.max_sequence_length == 32);
  }
  {
    Opened m(converted("electra-tiny"));
    CHECK(std::string(m.cfg.family) == "electra");
    CHECK(m.cfg.embedding_size == 16);
    CHECK(m.cfg.hidden_size == 32);
    CHECK(m.cfg.max_sequence_length == 40);
    CHECK(m.cfg.has_pooler == 0);
  }
  {
    Opened m(converted("bert-tiny-cls"));
    CHECK(std::string(m.cfg.family) == "bert");
    CHECK(m.cfg.has_pooler == 1);
  }
}

TEST_CASE("DistilBERT has no token types: nonzero token_type_ids are an error, zeros are accepted") {
  if (isa_unavailable()) return;
  Opened m(converted("distilbert-tiny"));
  CHECK(std::string(m.cfg.family) == "distilbert");
  CHECK(m.cfg.type_vocab_size == 0);
  CHECK(m.cfg.has_pooler == 0);
  const size_t B = 2, T = 5, H = 32;
  std::vector<int64_t> ids = {101, 7, 9, 11, 102, 101, 13, 15, 102, 0}, zeros(B * T, 0), types(B * T, 0);
  types[7] = 1;
  std::vector<float> embeds(B * T * H), a(B * T * H), b(B * T * H, std::nanf("")), last(B * T * H),
      pooled(B * H);
  REQUIRE(bertrt_session_lookup(m.session, ids.data(), B, T, embeds.data()) == BERTRT_OK);
  CHECK(bertrt_session_embed(m.session, embeds.data(), types.data(), nullptr, B, T, a.data()) ==
        BERTRT_ERROR_TOKEN_TYPE);
  const std::string message = bertrt_last_error();
  CHECK(message.find("token_type_ids[1, 2]") != std::string::npos);
  CHECK(message.find("distilbert") != std::string::npos);
  REQUIRE(bertrt_session_embed(m.session, embeds.data(), nullptr, nullptr, B, T, a.data()) == BERTRT_OK);
  REQUIRE(bertrt_session_embed(m.session, embeds.data(), zeros.data(), nullptr, B, T, b.data()) == BERTRT_OK);
  CHECK(a == b);
  bertrt_forward_inputs in{};
  in.input_ids = ids.data();
  in.token_type_ids = types.data();
  in.batch = B;
  in.seq_len = T;
  bertrt_forward_outputs out{};
  out.last_hidden_state = last.data();
  CHECK(bertrt_session_forward(m.session, &in, &out) == BERTRT_ERROR_TOKEN_TYPE);
  // No pooler: asking for it is an error.
  in.token_type_ids = nullptr;
  out.pooler_output = pooled.data();
  CHECK(bertrt_session_forward(m.session, &in, &out) == BERTRT_ERROR_NO_POOLER);
}
