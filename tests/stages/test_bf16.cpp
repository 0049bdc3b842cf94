// bf16 model files end to end (bertrt convert --dtype bf16, matrices in the panel_bf16x2 layout):
// the linear stage on bf16x2 panels against the scalar kernels, every BERT fixture case against
// the f32 goldens by cosine (the figures are printed), bit-identical results at 1, 2 and 3
// threads, packed batches equal to each sequence alone, the layout in the tensor table, and
// row-major bf16 files (the runtime's layout-1 path, as older converters wrote) still running.
// meson runs this file once per forced BERTRT_ISA (bf16-<isa>).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "bertrt/bertrt.h"
#include "c_api_types.h"
#include "common/fixtures.h"
#include "common/forward_checks.h"
#include "common/isa.h"
#include "convert/convert.h"
#include "format/model_file.h"
#include "kernels/gemm_bf16.h"
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

bool dot_instruction() {
  const kernels::KernelTable& t = kernels::active();
  return (t.isa == kernels::Isa::avx512 && kernels::cpu_has(kernels::CpuExt::avx512_bf16)) ||
         (t.isa == kernels::Isa::neon && kernels::cpu_has(kernels::CpuExt::neon_bf16));
}

}  // namespace

TEST_CASE("linear() on bf16x2 panels: the scalar kernels' result, the same bits at 1, 2 and 3 threads") {
  if (isa_unavailable()) return;
  std::mt19937 rng(std::random_device{}());
  const size_t m = 203, in = 71, out = 200;  // odd K, N not a multiple of 16, rows past one block
  const std::vector<float> x = random_vector(m * in, rng), w = random_vector(in * out, rng),
                           bias = random_vector(out, rng);
  core::AlignedVector<uint16_t> panels(kernels::packed_bf16x2_elems(in, out));
  kernels::pack_panels_bf16x2(w.data(), in, out, out, panels.data());
  core::WeightMatrix matrix{panels.data(), kernels::DType::bf16, in, out, true};
  matrix.bf16x2 = true;
  // The specification: every row converted, one GEMM over all columns, on the scalar table.
  const size_t k2 = kernels::bf16_k2(in);
  std::vector<uint16_t> a(m * k2);
  std::vector<float> spec(m * out), f32(m * out);
  kernels::scalar_table().convert_rows_bf16(m, in, x.data(), in, a.data(), k2);
  kernels::scalar_table().gemm_packed_bf16x2(m, out, in, a.data(), k2, panels.data(), bias.data(), spec.data(), out);
  kernels::sgemm_reference(false, false, m, out, in, 1.0f, x.data(), in, w.data(), out, 0.0f, f32.data(), out);
  double worst = 0.0, largest = 0.0;
  for (size_t i = 0; i < m * out; ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(spec[i] - (f32[i] + bias[i % out]))));
    largest = std::max(largest, static_cast<double>(std::fabs(f32[i])));
  }
  MESSAGE("bf16 vs f32 linear, K " << in << ": max abs diff " << worst << " (largest |y| " << largest << ")");
  CHECK(worst <= 0.02 * largest);

  core::Workspace ws;
  core::set_min_flops_per_thread(0.0);
  std::vector<std::vector<float>> y;
  for (int threads : {1, 2, 3}) {
    ws.parallel.threads = threads;
    std::vector<float>& yt = y.emplace_back(m * out, kNaN);
    core::linear(ws, x.data(), m, matrix, bias.data(), kernels::Activation::none, yt.data());
  }
  // The widening kernels give the scalar twin's bits; a dot-product instruction rounds its own way.
  double d = 0.0;
  for (size_t i = 0; i < m * out; ++i)
    d = std::max(d, std::isnan(y[0][i]) ? 1e9 : static_cast<double>(std::fabs(y[0][i] - spec[i])));
  if (dot_instruction()) CHECK(d <= 1e-4 * largest);
  else CHECK(d == 0.0);
  CHECK(y[0] == y[1]);
  CHECK(y[0] == y[2]);
  core::set_min_flops_per_thread(4e6);
}

namespace {

std::string convert_bf16(const fs::path& model_dir, const std::string& tag, bool pack = true) {
  bertrt::convert::ConvertOptions o;
  o.dtype = bertrt::format::TensorDType::bf16;
  o.pack_matrices = pack;
  return converted_with(model_dir, tag, o);
}

// Every encoder matrix and the pooler in panel_bf16x2; the word embeddings bf16 row-major.
void check_layouts(bertrt_model* model) {
  bertrt_config cfg{};
  REQUIRE(bertrt_model_get_config(model, &cfg) == BERTRT_OK);
  bertrt_model_file_info fi{};
  REQUIRE(bertrt_model_get_file_info(model, &fi) == BERTRT_OK);
  size_t bf16x2 = 0;
  for (size_t i = 0; i < fi.tensor_count; ++i) {
    bertrt_tensor_info ti{};
    REQUIRE(bertrt_model_get_tensor_info(model, i, &ti) == BERTRT_OK);
    const std::string name = ti.name, layout = ti.layout;
    if (name == "embeddings.word_embeddings") CHECK((std::string(ti.dtype) == "bf16" && layout == "row_major"));
    if (layout == "panel_bf16x2") {
      CHECK(std::string(ti.dtype) == "bf16");
      ++bf16x2;
    }
  }
  CHECK(bf16x2 == static_cast<size_t>(4 * cfg.num_hidden_layers + (cfg.has_pooler ? 1 : 0)));
}

}  // namespace

TEST_CASE("bf16 files: every BERT fixture case within cosine 0.999 (tokens) and 0.9995 (pooler) of the f32 goldens") {
  if (isa_unavailable()) return;
  const auto cases = golden_cases(fixtures_dir());
  REQUIRE(cases.size() == 40);
  for (const auto& c : cases)
    SUBCASE((c.model + "/" + c.name).c_str()) {
      check_golden_cosine(c, convert_bf16(fixtures_dir() / "models" / c.model, c.model), "bf16", {0.999, 0.9995},
                          check_layouts);
    }
}

namespace {

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

TEST_CASE("bf16 forward: bit-identical at 1, 2 and 3 threads, with the work split") {
  if (isa_unavailable()) return;
  Opened m(convert_bf16(fixtures_dir() / "models" / "small", "small"));
  const size_t H = static_cast<size_t>(m.cfg.hidden_size);
  std::mt19937 rng(std::random_device{}());
  core::set_min_flops_per_thread(0.0);  // split every phase, even at these sizes
  for (const auto& [batch, seq] : {std::pair<size_t, size_t>{3, 11}, {2, 120}}) {
    CAPTURE(batch);
    CAPTURE(seq);
    const RandomInputs in = random_inputs(m.cfg, batch, seq, rng);
    REQUIRE(bertrt_session_set_threads(m.session, 1) == BERTRT_OK);
    const std::vector<float> expected = forward_outputs(m.session, in, H, true);
    CHECK(all_finite(expected));
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      REQUIRE(bertrt_session_set_threads(m.session, threads) == BERTRT_OK);
      CHECK(forward_outputs(m.session, in, H, true) == expected);
    }
  }
  core::set_min_flops_per_thread(4e6);
}

TEST_CASE("bf16 forward_packed: each sequence's rows as that sequence alone gives them") {
  if (isa_unavailable()) return;
  Opened m(convert_bf16(fixtures_dir() / "models" / "small", "small"));
  const size_t H = static_cast<size_t>(m.cfg.hidden_size);
  std::mt19937 rng(std::random_device{}());
  const std::vector<size_t> lengths = {5, 17, 1, 40};
  std::vector<int64_t> offsets = {0}, ids;
  for (size_t len : lengths) {
    offsets.push_back(offsets.back() + static_cast<int64_t>(len));
    for (size_t t = 0; t < len; ++t) ids.push_back(std::uniform_int_distribution<int64_t>(1, m.cfg.vocab_size - 1)(rng));
  }
  const size_t N = ids.size();
  std::vector<float> last(N * H, kNaN), pooled(lengths.size() * H, kNaN);
  bertrt_packed_inputs pin{};
  pin.input_ids = ids.data();
  pin.offsets = offsets.data();
  pin.batch = lengths.size();
  bertrt_forward_outputs pout{};
  pout.last_hidden_state = last.data();
  pout.pooler_output = pooled.data();
  REQUIRE_MESSAGE(bertrt_session_forward_packed(m.session, &pin, &pout) == BERTRT_OK, bertrt_last_error());
  CHECK(all_finite(last));
  for (size_t b = 0; b < lengths.size(); ++b) {
    CAPTURE(b);
    RandomInputs one{1, lengths[b], std::vector<int64_t>(ids.begin() + offsets[b], ids.begin() + offsets[b + 1]),
               std::vector<int64_t>(lengths[b], 1)};
    const std::vector<float> alone = forward_outputs(m.session, one, H, true);
    double worst = 0.0;
    for (size_t i = 0; i < lengths[b] * H; ++i)
      worst = std::max(worst, static_cast<double>(std::fabs(last[static_cast<size_t>(offsets[b]) * H + i] - alone[i])));
    for (size_t i = 0; i < H; ++i)
      worst = std::max(worst, static_cast<double>(std::fabs(pooled[b * H + i] - alone[lengths[b] * H + i])));
    CHECK(worst <= 1e-5);
  }
}

TEST_CASE("row-major bf16 files (the layout-1 runtime path) still run, close to the bf16x2 file") {
  if (isa_unavailable()) return;
  const fs::path dir = fixtures_dir() / "models" / "small";
  std::mt19937 rng(std::random_device{}());
  RandomInputs in;
  std::vector<std::vector<float>> results;
  for (bool pack : {true, false}) {
    Opened m(convert_bf16(dir, "small", pack));
    CHECK(std::string(m.cfg.weight_dtype) == "bf16");
    if (in.ids.empty()) in = random_inputs(m.cfg, 2, 33, rng);
    results.push_back(forward_outputs(m.session, in, static_cast<size_t>(m.cfg.hidden_size), true));
    CHECK(all_finite(results.back()));
  }
  // Per valid token and per pooled row: both files hold the same bf16 weights, one runs the
  // bf16x2 GEMM on bf16 activations, the other the f32 GEMM on bf16 panels.
  const size_t H = results[0].size() / (in.batch * in.seq + in.batch), rows = in.batch * in.seq;
  double worst = 1.0;
  for (size_t r = 0; r < rows + in.batch; ++r) {
    if (r < rows && in.mask[r] == 0) continue;
    const double cs = cosine(&results[0][r * H], &results[1][r * H], H);
    worst = std::isnan(cs) ? -1.0 : std::min(worst, cs);
  }
  MESSAGE("bf16x2 file vs row-major bf16 file: worst cosine " << worst);
  CHECK(worst >= 0.999);
}
