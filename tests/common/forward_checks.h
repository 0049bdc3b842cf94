// Forward checks shared by the stage tests: reduced-precision model files (int8, bf16) against the
// f32 goldens by cosine (the cases of a golden manifest, conversion with given options once per
// test process, the per-case check), and random padded inputs with their NaN-filled forward.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bertrt/bertrt.h"
#include "convert/convert.h"

namespace bertrt::testing {

struct GoldenCase {
  std::string model, name;
  std::filesystem::path dir;
  std::map<std::string, std::string> inputs, outputs;  // role -> file
};

// Every case of root/manifest.json (the BERT fixtures or the family fixtures).
std::vector<GoldenCase> golden_cases(const std::filesystem::path& root);

// model_dir converted with o into a temporary file named after tag; the same (model_dir, dtype,
// packing) is converted once per process.
std::string converted_with(const std::filesystem::path& model_dir, const std::string& tag,
                           const bertrt::convert::ConvertOptions& o);

// Cosine of two float vectors in double; NaN when an element is NaN (an unwritten output).
double cosine(const float* a, const float* b, size_t n);

struct CosineBars {
  double token = 0.0, pooler = 0.0;  // least per-token cosine, least pooled-row cosine
};

// The case's forward on model_path (whose weight dtype must be `dtype`): every element written;
// last_hidden_state per valid token and pooler_output per row against the f32 goldens by cosine,
// at least `bars`; the figures (min, mean, max abs diff) are printed. inspect, when set, sees the
// opened model first.
void check_golden_cosine(const GoldenCase& c, const std::string& model_path, const std::string& dtype,
                         CosineBars bars, const std::function<void(bertrt_model*)>& inspect = {});

// Random ids in [1, vocab); row 0 unpadded, every later row with 1..seq/2 padding at its end.
struct RandomInputs {
  size_t batch = 0, seq = 0;
  std::vector<int64_t> ids, mask;
};
RandomInputs random_inputs(const bertrt_config& cfg, size_t batch, size_t seq, std::mt19937& rng);

// last_hidden_state [B*T*H] followed (with pooler) by pooler_output [B*H] of one forward, the
// buffer NaN-filled before.
std::vector<float> forward_outputs(bertrt_session* s, const RandomInputs& in, size_t hidden, bool pooler);

bool all_finite(const std::vector<float>& v);

}  // namespace bertrt::testing
