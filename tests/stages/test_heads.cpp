// Task heads (tests/data/fixtures-families): every head model's every case through the C API —
// forward's logits from input_ids / inputs_embeds against the golden logits, the head stage alone on
// the golden last_hidden_state and on forward's own, masked-LM and token heads at random positions
// against the full logits' rows; the head's config (kind, labels, problem type); --no-heads
// conversions (no head, every other output unchanged); f16 / bf16 conversions; heads the fixtures
// lack (DistilBERT and ELECTRA masked LMs, RoBERTa token classification, an untied decoder) against a
// float64 reference; errors; thread counts; the CLI's run --stage forward / head and info.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bertrt/bertrt.h"
#include "common/fixtures.h"
#include "common/isa.h"
#include "convert/convert.h"
#include "threads/phases.h"

using namespace bertrt::testing;
namespace npy = bertrt::npy;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path families_dir() { return data_dir() / "fixtures-families"; }

const json& cases_json() {
  static const json doc = [] {
    std::ifstream f(families_dir() / "cases.json");
    return json::parse(f);
  }();
  return doc;
}

// A model converted from a directory (cached per directory, dtype and heads).
std::string converted_dir(const fs::path& dir, const std::string& dtype = "f32", bool heads = true) {
  static std::map<std::string, std::string> cache;
  const std::string key = dir.string() + "@" + dtype + (heads ? "" : "@no-heads");
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  bertrt::convert::ConvertOptions o;
  o.dtype = dtype == "f16"    ? bertrt::format::TensorDType::f16
            : dtype == "bf16" ? bertrt::format::TensorDType::bf16
                              : bertrt::format::TensorDType::f32;
  o.heads = heads;
  const std::string out = (temp_dir("heads") / (dir.filename().string() + ".bertrt")).string();
  bertrt::convert::convert_directory(dir.string(), out, o);
  cache[key] = out;
  return out;
}
std::string converted(const std::string& model, const std::string& dtype = "f32", bool heads = true) {
  return converted_dir(families_dir() / "models" / model, dtype, heads);
}

struct Opened {
  bertrt_model* model = nullptr;
  bertrt_session* session = nullptr;
  bertrt_config cfg{};
  bertrt_head_info head{};
  explicit Opened(const std::string& path) {
    REQUIRE_MESSAGE(bertrt_model_open(path.c_str(), nullptr, &model) == BERTRT_OK, bertrt_last_error());
    REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
    REQUIRE(bertrt_model_get_head_info(model, &head) == BERTRT_OK);
    REQUIRE(bertrt_session_create(model, &session) == BERTRT_OK);
  }
  ~Opened() {
    bertrt_session_free(session);
    bertrt_model_free(model);
  }
  Opened(const Opened&) = delete;
  Opened& operator=(const Opened&) = delete;
  size_t H() const { return static_cast<size_t>(cfg.hidden_size); }
  size_t width() const { return static_cast<size_t>(head.logits_size); }
  size_t logits_count(size_t batch, size_t seq_len) const {
    return (head.kind == BERTRT_HEAD_SEQUENCE ? batch : batch * seq_len) * width();
  }
};

std::vector<float> poisoned(size_t n) { return std::vector<float>(n, std::nanf("")); }
const int64_t* ptr(const std::vector<int64_t>& v) { return v.empty() ? nullptr : v.data(); }
size_t non_finite(const std::vector<float>& v) {
  size_t n = 0;
  for (float x : v) n += std::isfinite(x) ? 0 : 1;
  return n;
}

// One case of cases.json with its inputs read.
struct Case {
  const json& j;
  fs::path dir;
  std::string model, name;
  double atol = 0;
  size_t batch = 0, seq_len = 0;
  std::vector<int64_t> ids, mask, types, positions;
  std::vector<float> embeds;

  Case(const json& jc) : j(jc), dir(families_dir() / jc["dir"].get<std::string>()), model(jc["model"]),
                         name(jc["case"]), atol(jc["atol"].get<double>()) {
    ids = input("input_ids");
    mask = input("attention_mask");
    types = input("token_type_ids");
    positions = input("position_ids");
    const npy::Array a = npy::read(file(j["inputs"].contains("input_ids") ? "input_ids" : "inputs_embeds", "inputs"));
    batch = a.shape[0];
    seq_len = a.shape[1];
    if (ids.empty()) embeds = npy::as_float32(a, "inputs_embeds");
  }
  std::string file(const std::string& role, const char* group) const {
    return (dir / j[group][role].get<std::string>()).string();
  }
  std::vector<int64_t> input(const std::string& role) const {
    if (!j["inputs"].contains(role)) return {};
    return npy::as_int64(npy::read(file(role, "inputs")), role.c_str());
  }
  std::vector<float> golden(const std::string& role) const {
    return npy::as_float32(npy::read(file(role, "outputs")), role.c_str());
  }
  // max |got - golden logits| under the file's compare rule.
  double logits_diff(const std::vector<float>& got) const {
    const std::string f = j["outputs"]["logits"].get<std::string>();
    return max_abs_diff(got, npy::read((dir / f).string()), j["files"][f]["compare"].get<std::string>(), mask, batch,
                        seq_len);
  }
  bertrt_forward_inputs inputs() const {
    bertrt_forward_inputs in{};
    in.input_ids = ptr(ids);
    in.inputs_embeds = ids.empty() ? embeds.data() : nullptr;
    in.attention_mask = ptr(mask);
    in.token_type_ids = ptr(types);
    in.position_ids = ptr(positions);
    in.batch = batch;
    in.seq_len = seq_len;
    return in;
  }
};

struct ForwardOut {
  std::vector<float> last, pooler, logits;
};

ForwardOut forward(const Opened& m, const Case& c, bool want_logits) {
  ForwardOut f{poisoned(c.batch * c.seq_len * m.H()), poisoned(c.batch * m.H()),
               want_logits ? poisoned(m.logits_count(c.batch, c.seq_len)) : std::vector<float>{}};
  const bertrt_forward_inputs in = c.inputs();
  bertrt_forward_outputs out{};
  out.last_hidden_state = f.last.data();
  out.pooler_output = m.cfg.has_pooler ? f.pooler.data() : nullptr;
  out.logits = want_logits ? f.logits.data() : nullptr;
  REQUIRE_MESSAGE(bertrt_session_forward(m.session, &in, &out) == BERTRT_OK, bertrt_last_error());
  return f;
}

bertrt_head_kind expected_kind(const std::string& head) {
  if (head == "token") return BERTRT_HEAD_TOKEN;
  if (head.size() > 4 && head.compare(head.size() - 4, 4, "_mlm") == 0) return BERTRT_HEAD_MASKED_LM;
  return BERTRT_HEAD_SEQUENCE;
}

// meson runs this test once per BERTRT_ISA level; on a CPU that lacks it, opening is UNSUPPORTED.
// Flat token indices: every valid token of the case in random order, some repeated, and masked
// ones before their row's last valid token (the full head computes those like any token).
std::vector<int64_t> random_positions(const Case& c, std::mt19937& rng) {
  std::vector<int64_t> p;
  for (size_t i = 0; i < c.batch * c.seq_len; ++i) {
    bool before_last_valid = false;
    for (size_t t = i % c.seq_len; !c.mask.empty() && t < c.seq_len; ++t)
      before_last_valid = before_last_valid || c.mask[i - i % c.seq_len + t] == 1;
    if (c.mask.empty() || c.mask[i] == 1 || (before_last_valid && rng() % 2 == 0)) p.push_back(static_cast<int64_t>(i));
  }
  std::shuffle(p.begin(), p.end(), rng);
  const size_t repeats = 1 + rng() % 3;
  for (size_t r = 0; r < repeats; ++r) p.push_back(p[rng() % p.size()]);
  return p;
}

void check_head_case(const Case& c, std::mt19937& rng) {
  const json& info = cases_json()["models"][c.model];
  Opened m(converted(c.model));
  const bertrt_head_kind kind = expected_kind(info["head"].get<std::string>());
  CHECK(m.head.kind == kind);
  CHECK(std::string(m.head.architecture) == info["architecture"].get<std::string>());
  if (kind == BERTRT_HEAD_MASKED_LM) {
    CHECK(m.head.num_labels == 0);
    CHECK(m.head.logits_size == m.cfg.vocab_size);
  } else {
    CHECK(m.head.num_labels == info["num_labels"].get<int64_t>());
    CHECK(m.head.logits_size == m.head.num_labels);
  }

  // forward from the case's inputs: logits within atol, every element written.
  const ForwardOut f = forward(m, c, true);
  INFO(c.model << "/" << c.name);
  CHECK(c.logits_diff(f.logits) <= c.atol);
  CHECK(non_finite(f.logits) == 0);
  // The head stage on forward's own last_hidden_state: the same bits.
  std::vector<float> staged = poisoned(f.logits.size());
  REQUIRE_MESSAGE(bertrt_session_head(m.session, f.last.data(), ptr(c.mask), c.batch, c.seq_len, staged.data()) ==
                      BERTRT_OK,
                  bertrt_last_error());
  CHECK(staged == f.logits);
  // The head stage on the golden last_hidden_state: within atol of the golden logits.
  const std::vector<float> golden_last = c.golden("last_hidden_state");
  std::vector<float> from_golden = poisoned(f.logits.size());
  REQUIRE(bertrt_session_head(m.session, golden_last.data(), ptr(c.mask), c.batch, c.seq_len, from_golden.data()) ==
          BERTRT_OK);
  CHECK(c.logits_diff(from_golden) <= c.atol);
  CHECK(non_finite(from_golden) == 0);

  if (kind == BERTRT_HEAD_SEQUENCE) {
    std::vector<int64_t> pos = {0};
    std::vector<float> row(m.width());
    CHECK(bertrt_session_head_at(m.session, f.last.data(), c.batch, c.seq_len, pos.data(), 1, row.data()) ==
          BERTRT_ERROR_INVALID_ARGUMENT);
    return;
  }
  // At random positions: exactly the full logits' rows.
  const std::vector<int64_t> pos = random_positions(c, rng);
  std::vector<float> at = poisoned(pos.size() * m.width());
  REQUIRE_MESSAGE(bertrt_session_head_at(m.session, f.last.data(), c.batch, c.seq_len, pos.data(), pos.size(),
                                         at.data()) == BERTRT_OK,
                  bertrt_last_error());
  double worst = 0;
  for (size_t i = 0; i < pos.size(); ++i)
    for (size_t k = 0; k < m.width(); ++k)
      worst = std::max(worst, std::fabs(static_cast<double>(at[i * m.width() + k]) -
                                        f.logits[static_cast<size_t>(pos[i]) * m.width() + k]));
  CHECK(worst == 0.0);
  // Tokens after a row's last valid token are zeros in the full logits.
  for (size_t b = 0; b < c.batch && !c.mask.empty(); ++b) {
    size_t end = 0;
    for (size_t t = 0; t < c.seq_len; ++t)
      if (c.mask[b * c.seq_len + t]) end = t + 1;
    for (size_t i = (b * c.seq_len + end) * m.width(); i < (b + 1) * c.seq_len * m.width(); ++i)
      REQUIRE(f.logits[i] == 0.0f);
  }
}

std::vector<json> head_cases() {
  std::vector<json> out;
  for (const json& j : cases_json()["cases"])
    if (!cases_json()["models"][j["model"].get<std::string>()]["head"].is_null()) out.push_back(j);
  return out;
}

}  // namespace

TEST_CASE("every head fixture case: forward's logits, the head stage, and positions") {
  if (isa_unavailable()) return;
  const std::vector<json> cases = head_cases();
  REQUIRE(cases.size() >= 40);  // 8 head models, 5-7 cases each
  std::mt19937 rng(std::random_device{}());
  for (const json& j : cases) {
    const Case c(j);
    SUBCASE((c.model + "/" + c.name).c_str()) { check_head_case(c, rng); }
  }
}

TEST_CASE("labels and problem type come from config.json") {
  if (isa_unavailable()) return;
  for (const auto& [name, info] : cases_json()["models"].items()) {
    if (info["head"].is_null() || expected_kind(info["head"].get<std::string>()) == BERTRT_HEAD_MASKED_LM) continue;
    INFO(name);
    std::ifstream f(families_dir() / "models" / name / "config.json");
    const json config = json::parse(f);
    Opened m(converted(name));
    for (size_t i = 0; i < static_cast<size_t>(m.head.num_labels); ++i) {
      const char* label = nullptr;
      REQUIRE(bertrt_model_get_head_label(m.model, i, &label) == BERTRT_OK);
      CHECK(std::string(label) == config["id2label"][std::to_string(i)].get<std::string>());
    }
    const char* label = nullptr;
    CHECK(bertrt_model_get_head_label(m.model, static_cast<size_t>(m.head.num_labels), &label) ==
          BERTRT_ERROR_INVALID_ARGUMENT);
    CHECK(label == nullptr);
    const std::string problem = config.contains("problem_type") && config["problem_type"].is_string()
                                    ? config["problem_type"].get<std::string>()
                                    : "";
    CHECK(std::string(m.head.problem_type) == problem);
  }
  CHECK(std::string(bertrt_head_kind_name(BERTRT_HEAD_MASKED_LM)) == "masked_lm");
  CHECK(bertrt_head_kind_name(static_cast<bertrt_head_kind>(9)) == nullptr);
  CHECK(std::string(bertrt_status_str(BERTRT_ERROR_NO_HEAD)) == "BERTRT_ERROR_NO_HEAD");
}

TEST_CASE("converted without heads: no head, every other output unchanged") {
  if (isa_unavailable()) return;
  for (const json& j : head_cases()) {
    if (j["case"] != "padded_batch") continue;
    const Case c(j);
    INFO(c.model);
    Opened with(converted(c.model)), without(converted(c.model, "f32", false));
    CHECK(without.head.kind == BERTRT_HEAD_NONE);
    CHECK(without.head.logits_size == 0);
    CHECK(std::string(without.head.architecture).empty());
    CHECK(without.cfg.has_pooler == with.cfg.has_pooler);
    const ForwardOut a = forward(with, c, false), b = forward(without, c, false);
    CHECK(a.last == b.last);
    if (with.cfg.has_pooler) CHECK(a.pooler == b.pooler);
    // Asking for logits is a clear error, in forward and in the head stage.
    std::vector<float> logits(with.logits_count(c.batch, c.seq_len));
    const bertrt_forward_inputs in = c.inputs();
    bertrt_forward_outputs out{};
    std::vector<float> last(a.last.size());
    out.last_hidden_state = last.data();
    out.logits = logits.data();
    CHECK(bertrt_session_forward(without.session, &in, &out) == BERTRT_ERROR_NO_HEAD);
    CHECK(std::string(bertrt_last_error()).find("head") != std::string::npos);
    CHECK(bertrt_session_head(without.session, a.last.data(), ptr(c.mask), c.batch, c.seq_len, logits.data()) ==
          BERTRT_ERROR_NO_HEAD);
    const int64_t pos = 0;
    CHECK(bertrt_session_head_at(without.session, a.last.data(), c.batch, c.seq_len, &pos, 1, logits.data()) ==
          BERTRT_ERROR_NO_HEAD);
  }
}

TEST_CASE("f16 and bf16 conversions of head models run within a loose tolerance") {
  if (isa_unavailable()) return;
  for (const char* dtype : {"f16", "bf16"}) {
    for (const json& j : head_cases()) {
      if (j["case"] != "single" && j["case"] != "padded_batch") continue;
      const Case c(j);
      const double tol = j["tolerance"][std::string(dtype) == "f16" ? "float16_compute" : "bfloat16_compute"].get<double>();
      INFO(c.model << "/" << c.name << " " << dtype << " (tolerance " << tol << ")");
      Opened m(converted(c.model, dtype));
      CHECK(std::string(m.cfg.weight_dtype) == dtype);
      const ForwardOut f = forward(m, c, true);
      CHECK(c.logits_diff(f.logits) <= tol);
      CHECK(non_finite(f.logits) == 0);
    }
  }
}

namespace {

std::vector<float> random_hidden(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// [batch, seq_len] ones with each row after the first cut short by a random amount.
std::vector<int64_t> random_mask(size_t batch, size_t seq_len, std::mt19937& rng) {
  std::vector<int64_t> mask(batch * seq_len, 1);
  for (size_t b = 1; b < batch; ++b)
    for (size_t t = seq_len - rng() % seq_len; t < seq_len; ++t) mask[b * seq_len + t] = 0;
  return mask;
}

}  // namespace

TEST_CASE("head stage errors are clear, never a crash") {
  if (isa_unavailable()) return;
  std::mt19937 rng(std::random_device{}());
  Opened m(converted("bert-tiny-mlm"));
  const size_t B = 2, T = 5, H = m.H();
  std::vector<float> hidden = random_hidden(B * T * H, rng), logits(m.logits_count(B, T));
  std::vector<int64_t> mask = random_mask(B, T, rng);
  REQUIRE(bertrt_session_head(m.session, hidden.data(), mask.data(), B, T, logits.data()) == BERTRT_OK);
  CHECK(bertrt_session_head(m.session, hidden.data(), mask.data(), 0, T, logits.data()) == BERTRT_ERROR_SHAPE);
  CHECK(bertrt_session_head(m.session, hidden.data(), nullptr, 1, 41, logits.data()) ==
        BERTRT_ERROR_SEQUENCE_TOO_LONG);
  CHECK(bertrt_session_head(m.session, hidden.data(), mask.data(), B, T, nullptr) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_session_head(nullptr, hidden.data(), mask.data(), B, T, logits.data()) == BERTRT_ERROR_INVALID_ARGUMENT);
  mask[3] = 2;
  CHECK(bertrt_session_head(m.session, hidden.data(), mask.data(), B, T, logits.data()) == BERTRT_ERROR_ATTENTION_MASK);
  mask[3] = 1;
  const size_t bad = rng() % hidden.size();
  hidden[bad] = std::nanf("");
  CHECK(bertrt_session_head(m.session, hidden.data(), mask.data(), B, T, logits.data()) == BERTRT_ERROR_NON_FINITE);
  // head_at reads only the rows it is given.
  const int64_t row = static_cast<int64_t>(bad / H), other = (row + 1) % static_cast<int64_t>(B * T);
  std::vector<float> at(m.width());
  CHECK(bertrt_session_head_at(m.session, hidden.data(), B, T, &row, 1, at.data()) == BERTRT_ERROR_NON_FINITE);
  CHECK(bertrt_session_head_at(m.session, hidden.data(), B, T, &other, 1, at.data()) == BERTRT_OK);
  const int64_t outside[] = {-1, static_cast<int64_t>(B * T)};
  for (const int64_t& p : outside)
    CHECK(bertrt_session_head_at(m.session, hidden.data(), B, T, &p, 1, at.data()) == BERTRT_ERROR_POSITION);
  CHECK(bertrt_session_head_at(m.session, hidden.data(), B, T, &other, 0, at.data()) == BERTRT_ERROR_SHAPE);
  CHECK(bertrt_session_head_at(m.session, hidden.data(), B, T, nullptr, 1, at.data()) == BERTRT_ERROR_INVALID_ARGUMENT);
  bertrt_head_info info{};
  CHECK(bertrt_model_get_head_info(nullptr, &info) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_model_get_head_info(m.model, nullptr) == BERTRT_ERROR_INVALID_ARGUMENT);
  // A base model has no head.
  Opened base(converted("roberta-tiny"));
  CHECK(base.head.kind == BERTRT_HEAD_NONE);
  CHECK(base.head.num_labels == 0);
  CHECK(bertrt_session_head(base.session, hidden.data(), nullptr, B, T, logits.data()) == BERTRT_ERROR_NO_HEAD);
}

TEST_CASE("head logits do not depend on the thread count") {
  if (isa_unavailable()) return;
  std::mt19937 rng(std::random_device{}());
  const double saved = bertrt::core::min_flops_per_thread();
  bertrt::core::set_min_flops_per_thread(0);  // split even these small heads
  for (const char* name : {"bert-tiny-mlm", "roberta-tiny-mlm", "bert-tiny-ner", "distilbert-tiny-cls"}) {
    INFO(name);
    Opened m(converted(name));
    const size_t B = 3, T = 7;
    const std::vector<float> hidden = random_hidden(B * T * m.H(), rng);
    const std::vector<int64_t> mask = random_mask(B, T, rng);
    std::vector<float> one = poisoned(m.logits_count(B, T));
    REQUIRE(bertrt_session_set_threads(m.session, 1) == BERTRT_OK);
    REQUIRE(bertrt_session_head(m.session, hidden.data(), mask.data(), B, T, one.data()) == BERTRT_OK);
    CHECK(non_finite(one) == 0);
    for (int threads : {2, 3}) {
      std::vector<float> many = poisoned(one.size());
      REQUIRE(bertrt_session_set_threads(m.session, threads) == BERTRT_OK);
      REQUIRE(bertrt_session_head(m.session, hidden.data(), mask.data(), B, T, many.data()) == BERTRT_OK);
      CHECK(many == one);
    }
  }
  bertrt::core::set_min_flops_per_thread(saved);
}

namespace {

int run_cli(const std::string& args, const fs::path& log) {
  const std::string cmd = std::string(BERTRT_CLI) + " " + args + " > '" + log.string() + "' 2>&1";
  return std::system(cmd.c_str());
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("CLI: run --stage forward and --stage head write logits.npy; info shows the head") {
  if (isa_unavailable()) return;
  for (const json& j : head_cases()) {
    const bool picked = (j["model"] == "bert-tiny-ner" && j["case"] == "padded_batch") ||
                        (j["model"] == "roberta-tiny-cls" && j["case"] == "single");
    if (!picked) continue;
    const Case c(j);
    INFO(c.model << "/" << c.name);
    const std::string model = converted(c.model);
    Opened m(model);
    const fs::path out = temp_dir("cli-heads"), log = out / "log.txt";
    std::string inputs = " --input-ids " + c.file("input_ids", "inputs");
    for (const char* role : {"attention_mask", "token_type_ids"})
      if (j["inputs"].contains(role)) {
        std::string flag = role;
        std::replace(flag.begin(), flag.end(), '_', '-');
        inputs += " --" + flag + " " + c.file(role, "inputs");
      }
    REQUIRE_MESSAGE(run_cli("run " + model + " --stage forward --out " + (out / "fwd").string() + inputs, log) == 0,
                    read_text(log));
    const npy::Array fwd = npy::read((out / "fwd" / "logits.npy").string());
    const std::vector<size_t> want_shape = m.head.kind == BERTRT_HEAD_SEQUENCE
                                               ? std::vector<size_t>{c.batch, m.width()}
                                               : std::vector<size_t>{c.batch, c.seq_len, m.width()};
    CHECK(fwd.shape == want_shape);
    CHECK(npy::as_float32(fwd, "logits") == forward(m, c, true).logits);

    const std::string last = c.file("last_hidden_state", "outputs");
    std::string head_args = " --stage head --hidden " + last + " --out " + (out / "head").string();
    if (!c.mask.empty()) head_args += " --attention-mask " + c.file("attention_mask", "inputs");
    REQUIRE_MESSAGE(run_cli("run " + model + head_args, log) == 0, read_text(log));
    const std::vector<float> golden_last = c.golden("last_hidden_state");
    std::vector<float> staged(m.logits_count(c.batch, c.seq_len));
    REQUIRE(bertrt_session_head(m.session, golden_last.data(), ptr(c.mask), c.batch, c.seq_len, staged.data()) ==
            BERTRT_OK);
    const npy::Array head = npy::read((out / "head" / "logits.npy").string());
    CHECK(head.shape == want_shape);
    CHECK(npy::as_float32(head, "logits") == staged);

    REQUIRE(run_cli("info " + model, log) == 0);
    const std::string info = read_text(log);
    if (c.model == "bert-tiny-ner") {
      CHECK(info.find("head: token (BertForTokenClassification), 5 logits per token") != std::string::npos);
      CHECK(info.find("labels: 0=O 1=B-PER 2=I-PER 3=B-LOC 4=I-LOC") != std::string::npos);
    } else {
      CHECK(info.find("head: sequence (RobertaForSequenceClassification), 3 logits per sequence") != std::string::npos);
    }
  }
  // A model without a head: forward writes no logits.npy, --stage head is a clear error.
  const std::string base = converted("roberta-tiny");
  const fs::path out = temp_dir("cli-no-head"), log = out / "log.txt";
  const std::vector<json> cases = head_cases();
  const Case c(cases.front());
  CHECK(run_cli("run " + base + " --stage head --hidden " + c.file("last_hidden_state", "outputs") + " --out " +
                    out.string(), log) != 0);
  CHECK(read_text(log).find("BERTRT_ERROR_NO_HEAD") != std::string::npos);
  REQUIRE(run_cli("info " + base, log) == 0);
  CHECK(read_text(log).find("head: none") != std::string::npos);
}
