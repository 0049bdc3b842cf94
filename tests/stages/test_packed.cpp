// Packed batches (bertrt_session_forward_packed and the staged *_packed calls): sequences of
// random lengths 1..max back to back must give, row for row, what each sequence gives alone
// (bertrt_session_forward with batch 1, no mask) within 1e-5, for every output (embedding output,
// hidden states, last hidden state, pooler, head logits), on BERT (f32 and int8), RoBERTa
// (positions from ids), ELECTRA (projection, sequence head), BERT NER (token head) and DistilBERT
// models, at 2 threads; the staged calls chain to the same rows; bad offsets are clear errors.
// Runs under every forced ISA (meson: packed-<isa>).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bertrt/bertrt.h"
#include "common/fixtures.h"
#include "common/isa.h"
#include "common/status.h"
#include "convert/convert.h"

using namespace bertrt::testing;
namespace fs = std::filesystem;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A model file: a BERT fixture by name ("small", "small:int8") or a family fixture folder.
std::string model_file(const std::string& name) {
  static std::map<std::string, std::string> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  if (name == "small") return cache[name] = converted_model("small");
  if (name == "small:int8") return cache[name] = converted_model("small", "int8");
  const std::string out = (temp_dir("packed-model") / (name + ".bertrt")).string();
  bertrt::convert::convert_directory((data_dir() / "fixtures-families" / "models" / name).string(), out, {});
  return cache[name] = out;
}

struct Handles {
  bertrt_model* model = nullptr;
  bertrt_session* session = nullptr;
  bertrt_config config{};
  bertrt_head_info head{};
  explicit Handles(const std::string& path) {
    REQUIRE(bertrt_model_open(path.c_str(), nullptr, &model) == BERTRT_OK);
    REQUIRE(bertrt_session_create(model, &session) == BERTRT_OK);
    // Two threads (the row blocks split between them), unless the environment sets the count
    // (the emulated aarch64 run uses one: qemu-user serialises contended atomics).
    if (!std::getenv("BERTRT_NUM_THREADS")) REQUIRE(bertrt_session_set_threads(session, 2) == BERTRT_OK);
    REQUIRE(bertrt_model_get_config(model, &config) == BERTRT_OK);
    REQUIRE(bertrt_model_get_head_info(model, &head) == BERTRT_OK);
  }
  ~Handles() {
    bertrt_session_free(session);
    bertrt_model_free(model);
  }
  Handles(const Handles&) = delete;
  Handles& operator=(const Handles&) = delete;
};

// A random packed batch: lengths include 1 and the longest allowed, ids avoid the pad id.
struct Batch {
  std::vector<int64_t> offsets{0}, ids, types;
  size_t rows() const { return static_cast<size_t>(offsets.back()); }
  size_t count() const { return offsets.size() - 1; }
  size_t length(size_t b) const { return static_cast<size_t>(offsets[b + 1] - offsets[b]); }
};

Batch random_batch(const bertrt_config& c, size_t count, size_t longest, std::mt19937& rng) {
  Batch batch;
  std::uniform_int_distribution<size_t> len(1, longest);
  std::uniform_int_distribution<int64_t> id(0, c.vocab_size - 1), type(0, std::max<int64_t>(c.type_vocab_size - 1, 0));
  for (size_t b = 0; b < count; ++b) {
    const size_t n = b == 0 ? 1 : b == 1 ? longest : len(rng);
    batch.offsets.push_back(batch.offsets.back() + static_cast<int64_t>(n));
    for (size_t t = 0; t < n; ++t) {
      int64_t v = id(rng);
      while (v == c.pad_token_id) v = id(rng);
      batch.ids.push_back(v);
      batch.types.push_back(type(rng));
    }
  }
  return batch;
}

std::vector<float> nans(size_t n) { return std::vector<float>(n, kNaN); }

// Every element written and within tol of the reference rows.
void check_rows(const char* what, const float* got, const float* want, size_t n, double tol) {
  double worst = 0.0;
  size_t unwritten = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(got[i])) ++unwritten;
    else worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  INFO(what);
  CHECK(unwritten == 0);
  CHECK(worst <= tol);
}

// Outputs of one forward: per-token [rows, ...] arrays and per-sequence ones.
struct Outputs {
  std::vector<float> last, emb, states, pooled, logits;
};

size_t logits_per_row(const bertrt_head_info& h) { return static_cast<size_t>(h.logits_size); }

bertrt_forward_outputs wire(Outputs& o, const Handles& m, size_t rows, size_t seqs) {
  const size_t H = static_cast<size_t>(m.config.hidden_size), E = static_cast<size_t>(m.config.embedding_size),
               L = static_cast<size_t>(m.config.num_hidden_layers);
  o.last = nans(rows * H);
  o.emb = nans(rows * E);
  o.states = nans((L + 1) * rows * H);
  bertrt_forward_outputs out{};
  out.last_hidden_state = o.last.data();
  out.embedding_output = o.emb.data();
  out.hidden_states = o.states.data();
  if (m.config.has_pooler) {
    o.pooled = nans(seqs * H);
    out.pooler_output = o.pooled.data();
  }
  if (m.head.kind != BERTRT_HEAD_NONE) {
    o.logits = nans((m.head.kind == BERTRT_HEAD_SEQUENCE ? seqs : rows) * logits_per_row(m.head));
    out.logits = o.logits.data();
  }
  return out;
}

// The packed forward of batch, then each sequence alone: every output row compared.
void check_against_single(const std::string& name, size_t count, size_t longest, std::mt19937& rng) {
  CAPTURE(name);
  Handles m(model_file(name));
  longest = std::min(longest, static_cast<size_t>(m.config.max_sequence_length));
  const Batch batch = random_batch(m.config, count, longest, rng);
  const size_t N = batch.rows(), H = static_cast<size_t>(m.config.hidden_size),
               E = static_cast<size_t>(m.config.embedding_size), L = static_cast<size_t>(m.config.num_hidden_layers);
  const bool types = m.config.type_vocab_size > 1;
  Outputs packed;
  const bertrt_forward_outputs pout = wire(packed, m, N, count);
  bertrt_packed_inputs in{};
  in.input_ids = batch.ids.data();
  in.token_type_ids = types ? batch.types.data() : nullptr;
  in.offsets = batch.offsets.data();
  in.batch = count;
  REQUIRE(bertrt_session_forward_packed(m.session, &in, &pout) == BERTRT_OK);

  const size_t per_logit = logits_per_row(m.head);
  for (size_t b = 0; b < count; ++b) {
    CAPTURE(b);
    const size_t r0 = static_cast<size_t>(batch.offsets[b]), T = batch.length(b);
    CAPTURE(T);
    Outputs one;
    const bertrt_forward_outputs sout = wire(one, m, T, 1);
    bertrt_forward_inputs sin{};
    sin.input_ids = batch.ids.data() + r0;
    sin.token_type_ids = types ? batch.types.data() + r0 : nullptr;
    sin.batch = 1;
    sin.seq_len = T;
    REQUIRE(bertrt_session_forward(m.session, &sin, &sout) == BERTRT_OK);
    check_rows("last_hidden_state", packed.last.data() + r0 * H, one.last.data(), T * H, 1e-5);
    check_rows("embedding_output", packed.emb.data() + r0 * E, one.emb.data(), T * E, 1e-5);
    for (size_t l = 0; l <= L; ++l)
      check_rows("hidden_states", packed.states.data() + (l * N + r0) * H, one.states.data() + l * T * H, T * H,
                 1e-5);
    if (m.config.has_pooler) check_rows("pooler_output", packed.pooled.data() + b * H, one.pooled.data(), H, 1e-5);
    if (m.head.kind == BERTRT_HEAD_SEQUENCE)
      check_rows("logits", packed.logits.data() + b * per_logit, one.logits.data(), per_logit, 1e-5);
    else if (m.head.kind != BERTRT_HEAD_NONE)
      check_rows("logits", packed.logits.data() + r0 * per_logit, one.logits.data(), T * per_logit, 1e-5);
  }
}

}  // namespace

TEST_CASE("a packed forward equals each sequence's own forward, row for row, on every family") {
  if (isa_unavailable()) return;
  std::mt19937 rng(std::random_device{}());
  // Enough rows that the linear layers' row blocks (96 rows) span several sequences and the work
  // splits over both threads.
  check_against_single("small", 9, 70, rng);
  check_against_single("small:int8", 9, 70, rng);
  check_against_single("roberta-tiny", 8, 60, rng);
  check_against_single("roberta-tiny-mlm", 5, 40, rng);
  check_against_single("electra-tiny-cls", 8, 60, rng);
  check_against_single("bert-tiny-ner", 8, 60, rng);
  check_against_single("distilbert-tiny", 8, 60, rng);
  check_against_single("xlmr-tiny-rerank", 6, 50, rng);
}

TEST_CASE("the staged packed calls chain to forward_packed's rows") {
  if (isa_unavailable()) return;
  std::mt19937 rng(std::random_device{}());
  for (const std::string name : {"electra-tiny-cls", "roberta-tiny", "bert-tiny-ner"}) {
    CAPTURE(name);
    Handles m(model_file(name));
    const Batch batch = random_batch(m.config, 7, std::min<size_t>(40, static_cast<size_t>(m.config.max_sequence_length)), rng);
    const size_t N = batch.rows(), B = batch.count(), H = static_cast<size_t>(m.config.hidden_size),
                 E = static_cast<size_t>(m.config.embedding_size);
    Outputs full;
    const bertrt_forward_outputs fout = wire(full, m, N, B);
    bertrt_packed_inputs in{};
    in.input_ids = batch.ids.data();
    in.offsets = batch.offsets.data();
    in.batch = B;
    REQUIRE(bertrt_session_forward_packed(m.session, &in, &fout) == BERTRT_OK);

    // lookup and project are row-wise: N rows as batch N, seq_len 1. RoBERTa's positions from ids
    // need the id rule (forward's), so the staged chain passes forward's positions explicitly.
    std::vector<float> word = nans(N * E), emb = nans(N * E), hidden = nans(N * H), last = nans(N * H);
    REQUIRE(bertrt_session_lookup(m.session, batch.ids.data(), N, 1, word.data()) == BERTRT_OK);
    std::vector<int64_t> positions;
    const bool by_ids = std::string(m.config.family) == "roberta";
    for (size_t b = 0; b < B; ++b)
      for (size_t t = 0; t < batch.length(b); ++t)
        positions.push_back(by_ids ? m.config.pad_token_id + 1 + static_cast<int64_t>(t) : static_cast<int64_t>(t));
    REQUIRE(bertrt_session_embed_packed(m.session, word.data(), nullptr, positions.data(), batch.offsets.data(), B,
                                        emb.data()) == BERTRT_OK);
    check_rows("embed_packed", emb.data(), full.emb.data(), N * E, 0.0);
    if (!by_ids) {  // default positions per sequence equal the explicit 0..len-1
      std::vector<float> emb2 = nans(N * E);
      REQUIRE(bertrt_session_embed_packed(m.session, word.data(), nullptr, nullptr, batch.offsets.data(), B,
                                          emb2.data()) == BERTRT_OK);
      check_rows("embed_packed default positions", emb2.data(), emb.data(), N * E, 0.0);
    }
    REQUIRE(bertrt_session_project(m.session, emb.data(), N, 1, hidden.data()) == BERTRT_OK);
    REQUIRE(bertrt_session_encode_packed(m.session, hidden.data(), batch.offsets.data(), B, nullptr, last.data()) ==
            BERTRT_OK);
    check_rows("encode_packed", last.data(), full.last.data(), N * H, 0.0);
    if (m.head.kind != BERTRT_HEAD_NONE) {
      std::vector<float> logits = nans(full.logits.size());
      REQUIRE(bertrt_session_head_packed(m.session, last.data(), batch.offsets.data(), B, logits.data()) == BERTRT_OK);
      check_rows("head_packed", logits.data(), full.logits.data(), logits.size(), 0.0);
    }
    // Pooling: each sequence's rows pooled alone.
    for (const bertrt_pool_mode mode : {BERTRT_POOL_CLS, BERTRT_POOL_MEAN, BERTRT_POOL_MAX}) {
      CAPTURE(static_cast<int>(mode));
      std::vector<float> pooled = nans(B * H), want = nans(H);
      REQUIRE(bertrt_session_pool_packed(m.session, last.data(), batch.offsets.data(), B, mode, 1, pooled.data()) ==
              BERTRT_OK);
      for (size_t b = 0; b < B; ++b) {
        REQUIRE(bertrt_session_pool(m.session, last.data() + static_cast<size_t>(batch.offsets[b]) * H, nullptr, 1,
                                    batch.length(b), mode, 1, want.data()) == BERTRT_OK);
        check_rows("pool_packed", pooled.data() + b * H, want.data(), H, 0.0);
      }
    }
  }
}

TEST_CASE("packed offsets and outputs are checked") {
  if (isa_unavailable()) return;
  Handles m(model_file("roberta-tiny"));
  const size_t H = static_cast<size_t>(m.config.hidden_size);
  const int64_t longest = m.config.max_sequence_length;
  std::vector<int64_t> ids(static_cast<size_t>(longest) + 8, 5);
  std::vector<float> last(ids.size() * H), attn(1 << 16), pooled(4 * H), out(ids.size() * H);
  auto forward = [&](std::vector<int64_t> offsets, size_t batch, float* attentions = nullptr) {
    bertrt_packed_inputs in{};
    in.input_ids = ids.data();
    in.offsets = offsets.empty() ? nullptr : offsets.data();
    in.batch = batch;
    bertrt_forward_outputs out{};
    out.last_hidden_state = last.data();
    out.attentions = attentions;
    return bertrt_session_forward_packed(m.session, &in, &out);
  };
  CHECK(forward({0, 3, 7}, 2) == BERTRT_OK);
  CHECK(forward({}, 2) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(forward({0, 3}, 0) == BERTRT_ERROR_SHAPE);
  CHECK(forward({1, 3}, 1) == BERTRT_ERROR_SHAPE);
  CHECK(forward({0, 3, 3}, 2) == BERTRT_ERROR_SHAPE);  // an empty sequence
  CHECK(std::string(bertrt_last_error()).find("sequence 1") != std::string::npos);
  CHECK(forward({0, 3, 2}, 2) == BERTRT_ERROR_SHAPE);
  CHECK(forward({0, std::numeric_limits<int64_t>::min()}, 1) == BERTRT_ERROR_SHAPE);
  CHECK(forward({0, std::numeric_limits<int64_t>::max()}, 1) == BERTRT_ERROR_SHAPE);
  CHECK(forward({0, longest + 1}, 1) == BERTRT_ERROR_SEQUENCE_TOO_LONG);
  CHECK(forward({0, longest}, 1) == BERTRT_OK);
  CHECK(forward({0, 3}, 1, attn.data()) == BERTRT_ERROR_INVALID_ARGUMENT);
  ids[4] = m.config.vocab_size;  // out of range in sequence 1
  CHECK(forward({0, 3, 7}, 2) == BERTRT_ERROR_TOKEN_ID);
  ids[4] = 5;
  const std::vector<int64_t> offsets{0, 3, 7};
  CHECK(bertrt_session_pool_packed(m.session, last.data(), offsets.data(), 2, BERTRT_POOL_MEAN, 0, nullptr) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_session_encode_packed(m.session, last.data(), nullptr, 2, nullptr, out.data()) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_session_head_packed(m.session, last.data(), offsets.data(), 2, pooled.data()) == BERTRT_ERROR_NO_HEAD);
  last[3 * H + 1] = kNaN;
  CHECK(bertrt_session_encode_packed(m.session, last.data(), offsets.data(), 2, nullptr, out.data()) ==
        BERTRT_ERROR_NON_FINITE);
}
