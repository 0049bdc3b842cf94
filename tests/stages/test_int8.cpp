// int8 model files end to end (bertrt convert --dtype int8): the linear stage on int8 panels
// against the scalar kernels, every BERT fixture case and every family fixture body against the
// f32 goldens by cosine (the figures are printed), bit-identical results for 1 and 3 threads,
// packed and row-major int8 files agreeing bit for bit, and damaged int8 files refused clearly.
// meson runs this file once per forced BERTRT_ISA (int8-<isa>).
#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <random>

#include "bertrt/bertrt.h"
#include "bertrt/convert.h"
#include "c_api_types.h"
#include "common/error.h"
#include "common/fixtures.h"
#include "common/forward_checks.h"
#include "common/isa.h"
#include "convert/convert.h"
#include "format/model_file.h"
#include "kernels/gemm_i8.h"
#include "model/model.h"
#include "stages/stages.h"
#include "threads/phases.h"

using namespace bertrt::testing;
namespace npy = bertrt::npy;
namespace fs = std::filesystem;
namespace core = bertrt::core;
namespace kernels = bertrt::kernels;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// ---------------------------------------------------------------- the linear stage

struct Int8Weights {
  std::vector<float> scale;
  core::AlignedVector<int8_t> panels;
  core::AlignedVector<int32_t> colsum;
  core::WeightMatrix matrix;
};

Int8Weights quantize(const std::vector<float>& w, size_t in, size_t out) {
  Int8Weights q;
  std::vector<int8_t> wq(in * out);
  q.scale.resize(out);
  kernels::quantize_columns_i8(w.data(), in, out, out, wq.data(), out, q.scale.data());
  q.panels.resize(kernels::packed_i8_bytes(in, out));
  q.colsum.resize(kernels::packed_i8_colsums(out));
  kernels::pack_panels_i8(wq.data(), in, out, out, q.panels.data(), q.colsum.data());
  q.matrix = core::WeightMatrix{q.panels.data(), kernels::DType::f32, in, out, true};
  q.matrix.int8 = true;
  q.matrix.scale = q.scale.data();
  q.matrix.colsum = q.colsum.data();
  return q;
}

// The scalar specification of the whole layer: quantize every row, one int8 GEMM over all columns.
std::vector<float> scalar_int8_linear(const std::vector<float>& x, size_t m, const Int8Weights& w, const float* bias) {
  const size_t in = w.matrix.in, out = w.matrix.out;
  std::vector<uint8_t> q(m * in);
  std::vector<float> s(m), y(m * out);
  std::vector<int32_t> z(m);
  kernels::scalar_table().quantize_rows_u8(m, in, x.data(), in, q.data(), in, s.data(), z.data());
  kernels::scalar_table().gemm_packed_i8(m, out, in, q.data(), in, s.data(), z.data(), w.panels.data(),
                                         w.scale.data(), w.colsum.data(), bias, y.data(), out);
  return y;
}

}  // namespace

TEST_CASE("linear() on int8 panels: the scalar kernels' bits, at 1, 2 and 3 threads, close to f32") {
  if (isa_unavailable()) return;
  std::mt19937 rng(std::random_device{}());
  const size_t m = 203, in = 70, out = 200;  // K not a multiple of 4, N not of 16, rows past one block
  const std::vector<float> x = random_vector(m * in, rng), w = random_vector(in * out, rng),
                           bias = random_vector(out, rng);
  const Int8Weights q = quantize(w, in, out);
  const std::vector<float> spec = scalar_int8_linear(x, m, q, bias.data());
  std::vector<float> f32(m * out);
  kernels::sgemm_reference(false, false, m, out, in, 1.0f, x.data(), in, w.data(), out, 0.0f, f32.data(), out);
  double worst = 0.0, largest = 0.0;
  for (size_t i = 0; i < m * out; ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(spec[i] - (f32[i] + bias[i % out]))));
    largest = std::max(largest, static_cast<double>(std::fabs(f32[i])));
  }
  MESSAGE("int8 vs f32 linear, K " << in << ": max abs diff " << worst << " (largest |y| " << largest << ")");
  CHECK(worst <= 0.02 * largest);

  core::Workspace ws;
  core::set_min_flops_per_thread(0.0);
  for (kernels::Activation act : {kernels::Activation::none, kernels::Activation::gelu_erf}) {
    CAPTURE(static_cast<int>(act));
    std::vector<float> want = spec;
    if (act != kernels::Activation::none) kernels::active().bias_activation(want.data(), m, out, out, nullptr, act);
    std::vector<std::vector<float>> y;
    for (int threads : {1, 2, 3}) {
      ws.parallel.threads = threads;
      std::vector<float>& yt = y.emplace_back(m * out, kNaN);
      core::linear(ws, x.data(), m, q.matrix, bias.data(), act, yt.data());
    }
    // No activation: exactly the scalar specification. GELU is applied per 64-column block, whose
    // SIMD body and tail may round differently from one call over the whole row.
    double d = 0.0;
    for (size_t i = 0; i < m * out; ++i)
      d = std::max(d, std::isnan(y[0][i]) ? 1e9 : static_cast<double>(std::fabs(y[0][i] - want[i])));
    if (act == kernels::Activation::none) CHECK(d == 0.0);
    else CHECK(d <= 1e-6);
    CHECK(y[0] == y[1]);
    CHECK(y[0] == y[2]);
  }
  core::set_min_flops_per_thread(4e6);
}

TEST_CASE("linear() on int8 panels over sequences: rows after the last valid token are zero") {
  if (isa_unavailable()) return;
  std::mt19937 rng(std::random_device{}());
  const size_t batch = 3, T = 40, in = 48, out = 80;
  const std::vector<float> x = random_vector(batch * T * in, rng), w = random_vector(in * out, rng);
  const Int8Weights q = quantize(w, in, out);
  const std::vector<float> spec = scalar_int8_linear(x, batch * T, q, nullptr);
  const core::KeySpan spans[batch] = {{0, T, true}, {0, 17, true}, {3, 29, true}};
  core::Workspace ws;
  ws.parallel.threads = 2;
  const core::RowBlocks rows = core::row_blocks(ws, batch, T, spans);
  std::vector<float> y(batch * T * out, kNaN);
  core::linear(ws, x.data(), batch * T, q.matrix, nullptr, kernels::Activation::none, y.data(), &rows);
  for (size_t b = 0; b < batch; ++b)
    for (size_t t = 0; t < T; ++t) {
      CAPTURE(b);
      CAPTURE(t);
      const size_t r = b * T + t;
      bool same = true, zero = true;
      for (size_t j = 0; j < out; ++j) {
        same = same && y[r * out + j] == spec[r * out + j];
        zero = zero && y[r * out + j] == 0.0f;
      }
      CHECK((t < spans[b].end ? same : zero));
    }
}

// ---------------------------------------------------------------- the golden fixtures

namespace {

std::string convert_int8(const fs::path& model_dir, const std::string& tag, bool pack = true) {
  bertrt::convert::ConvertOptions o;
  o.dtype = bertrt::format::TensorDType::i8;
  o.pack_matrices = pack;
  return converted_with(model_dir, tag, o);
}

}  // namespace

TEST_CASE("int8 files: every BERT fixture case within cosine 0.99 (tokens) and 0.995 (pooler) of the f32 goldens") {
  if (isa_unavailable()) return;
  const auto cases = golden_cases(fixtures_dir());
  REQUIRE(cases.size() == 40);
  for (const auto& c : cases)
    SUBCASE((c.model + "/" + c.name).c_str()) {
      check_golden_cosine(c, convert_int8(fixtures_dir() / "models" / c.model, c.model), "int8", {0.99, 0.995});
    }
}

TEST_CASE("int8 files: every family fixture body within cosine 0.99 (tokens) and 0.995 (pooler) of the f32 goldens") {
  if (isa_unavailable()) return;
  const fs::path root = data_dir() / "fixtures-families";
  const auto cases = golden_cases(root);
  REQUIRE(!cases.empty());
  for (const auto& c : cases)
    SUBCASE((c.model + "/" + c.name).c_str()) {
      check_golden_cosine(c, convert_int8(root / "models" / c.model, c.model), "int8", {0.99, 0.995});
    }
}

// ---------------------------------------------------------------- threads, storage, errors

namespace {

int threads_that_worked(const bertrt_session* s) {
  int n = 0;
  for (long jobs : s->impl.jobs_by_thread()) n += jobs > 0 ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("int8 forward: bit-identical at 1 and 3 threads, with the work split") {
  if (isa_unavailable()) return;
  bertrt_model* model = nullptr;
  REQUIRE(bertrt_model_open(convert_int8(fixtures_dir() / "models" / "small", "small").c_str(), nullptr, &model) ==
          BERTRT_OK);
  bertrt_config cfg{};
  REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
  const size_t H = static_cast<size_t>(cfg.hidden_size);
  std::mt19937 rng(std::random_device{}());
  bertrt_session* s = nullptr;
  REQUIRE(bertrt_session_create(model, &s) == BERTRT_OK);
  core::set_min_flops_per_thread(0.0);  // split every phase, even at these sizes
  for (const auto& [batch, seq] : {std::pair<size_t, size_t>{3, 11}, {2, 120}}) {
    CAPTURE(batch);
    CAPTURE(seq);
    const RandomInputs in = random_inputs(cfg, batch, seq, rng);
    REQUIRE(bertrt_session_set_threads(s, 1) == BERTRT_OK);
    // Without the pooler: the encoder's run is the last one, whose jobs per thread are counted.
    const std::vector<float> expected = forward_outputs(s, in, H, false);
    CHECK(all_finite(expected));
    REQUIRE(bertrt_session_set_threads(s, 3) == BERTRT_OK);
    int most = 0;
    for (int attempt = 0; attempt < 50 && most < 2; ++attempt) {
      CHECK(forward_outputs(s, in, H, false) == expected);
      most = std::max(most, threads_that_worked(s));
    }
    CHECK(most >= 2);
  }
  core::set_min_flops_per_thread(4e6);
  bertrt_session_free(s);
  bertrt_model_free(model);
}

TEST_CASE("int8 files: packed and row-major storage give the same bits; info names dtype and layout") {
  if (isa_unavailable()) return;
  const fs::path dir = fixtures_dir() / "models" / "small";
  std::vector<std::vector<float>> results;
  std::mt19937 rng(std::random_device{}());
  RandomInputs in;
  for (bool pack : {true, false}) {
    CAPTURE(pack);
    bertrt_model* model = nullptr;
    REQUIRE(bertrt_model_open(convert_int8(dir, "small", pack).c_str(), nullptr, &model) == BERTRT_OK);
    bertrt_config cfg{};
    REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
    CHECK(std::string(cfg.weight_dtype) == "int8");
    bertrt_model_file_info fi{};
    REQUIRE(bertrt_model_get_file_info(model, &fi) == BERTRT_OK);
    size_t int8_matrices = 0, f32_pooler = 0;
    for (size_t i = 0; i < fi.tensor_count; ++i) {
      bertrt_tensor_info ti{};
      REQUIRE(bertrt_model_get_tensor_info(model, i, &ti) == BERTRT_OK);
      const std::string name = ti.name;
      if (name == "embeddings.word_embeddings") CHECK(std::string(ti.dtype) == "f32");
      if (name == "pooler.weight") {  // int8 files keep the pooler f32 (docs/format.md)
        CHECK(std::string(ti.dtype) == "f32");
        CHECK(std::string(ti.layout) == (pack ? "panel" : "row_major"));
        ++f32_pooler;
      }
      if (std::string(ti.dtype) != "i8") continue;
      ++int8_matrices;
      CHECK(std::string(ti.layout) == (pack ? "panel_i8" : "row_major"));
    }
    CHECK(int8_matrices == static_cast<size_t>(4 * cfg.num_hidden_layers));  // QKV, out, up, down
    CHECK(f32_pooler == (cfg.has_pooler ? 1u : 0u));
    if (in.ids.empty()) in = random_inputs(cfg, 2, 33, rng);
    bertrt_session* s = nullptr;
    REQUIRE(bertrt_session_create(model, &s) == BERTRT_OK);
    results.push_back(forward_outputs(s, in, static_cast<size_t>(cfg.hidden_size), true));
    CHECK(all_finite(results.back()));
    bertrt_session_free(s);
    bertrt_model_free(model);
  }
  CHECK(results[0] == results[1]);
}

namespace {

// The serialized int8 file of the tiny fixture with one table entry changed by edit(entry), where
// entry points at the entry's name; the header checksum is recomputed so that only the edit counts.
template <typename Edit>
std::vector<uint8_t> edited_int8_file(const std::string& tensor, Edit&& edit) {
  bertrt::convert::ConvertOptions o;
  o.dtype = bertrt::format::TensorDType::i8;
  std::vector<uint8_t> bytes = bertrt::convert::build_model_file((fixtures_dir() / "models" / "tiny").string(), o).serialize();
  auto u64 = [&](size_t at) {
    uint64_t v;
    std::memcpy(&v, bytes.data() + at, 8);
    return v;
  };
  const uint64_t meta_offset = u64(24), meta_size = u64(32), table_offset = u64(40), table_size = u64(48);
  // The entry: u16 name length, then the name.
  std::string needle(2, '\0');
  needle[0] = static_cast<char>(tensor.size() & 0xff);
  needle[1] = static_cast<char>(tensor.size() >> 8);
  needle += tensor;
  const auto begin = bytes.begin() + static_cast<long>(table_offset), end = begin + static_cast<long>(table_size);
  const auto at = std::search(begin, end, needle.begin(), needle.end());
  REQUIRE_MESSAGE(at != end, "no table entry for " << tensor);
  edit(&*at + 2);
  const uint64_t sum = bertrt::format::structure_checksum(bytes.data(), meta_offset, meta_size, table_offset, table_size);
  std::memcpy(bytes.data() + 56, &sum, 8);
  return bytes;
}

std::string open_error(const std::vector<uint8_t>& bytes) {
  try {
    core::Model::from_memory(bytes.data(), bytes.size());
  } catch (const bertrt::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("damaged int8 files are refused with a clear error") {
  const std::string qkv = "layer.1.attention.qkv.weight";
  // Without the scales of a matrix (the name no longer matches).
  const std::string no_scale = open_error(edited_int8_file(qkv + ".scale", [](uint8_t* name) { name[0] = 'X'; }));
  CHECK_MESSAGE(no_scale.find(qkv + ".scale") != std::string::npos, no_scale);
  // Without its column sums.
  const std::string no_colsum = open_error(edited_int8_file(qkv + ".colsum", [](uint8_t* name) { name[0] = 'X'; }));
  CHECK_MESSAGE(no_colsum.find(qkv + ".colsum") != std::string::npos, no_colsum);
  // The int8 panels labelled f32 (dtype byte after the name): the layout needs i8.
  const std::string wrong_dtype = open_error(edited_int8_file(qkv, [&](uint8_t* name) { name[qkv.size()] = 0; }));
  CHECK_MESSAGE(wrong_dtype.find("panel_i8") != std::string::npos, wrong_dtype);
  // A layout number no format version defines.
  const std::string bad_layout = open_error(edited_int8_file(qkv, [&](uint8_t* name) { name[qkv.size() + 1] = 200; }));
  CHECK_MESSAGE(bad_layout.find("unknown layout") != std::string::npos, bad_layout);
}

TEST_CASE("bertrt_convert takes dtype \"int8\" and names it among the choices when refusing another") {
  const fs::path out = temp_dir("int8-c") / "tiny.bertrt";
  bertrt_convert_options o{};
  o.dtype = "int4";
  CHECK(bertrt_convert((fixtures_dir() / "models" / "tiny").string().c_str(), out.string().c_str(), &o) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(bertrt_last_error()).find("int8") != std::string::npos);
  o.dtype = "int8";
  REQUIRE_MESSAGE(bertrt_convert((fixtures_dir() / "models" / "tiny").string().c_str(), out.string().c_str(), &o) ==
                      BERTRT_OK,
                  bertrt_last_error());
  bertrt_model* model = nullptr;
  REQUIRE(bertrt_model_open(out.string().c_str(), nullptr, &model) == BERTRT_OK);
  bertrt_config cfg{};
  REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
  CHECK(std::string(cfg.weight_dtype) == "int8");
  bertrt_model_free(model);
}
