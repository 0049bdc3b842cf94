// Shared helpers for tests that read the golden fixtures in tests/data/fixtures.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/npy.h"

namespace bertrt::testing {

inline std::filesystem::path data_dir() { return BERTRT_TEST_DATA_DIR; }
inline std::filesystem::path fixtures_dir() { return data_dir() / "fixtures"; }

struct FixtureCase {
  std::string model, name;
  std::filesystem::path dir;
  std::map<std::string, std::string> inputs, outputs;  // role -> file
  double atol = 1e-4;
};

struct FixtureModel {
  std::string name;
  std::filesystem::path dir;
  std::vector<std::string> formats;
  std::string weight_dtype;
};

std::vector<FixtureModel> fixture_models();
std::vector<FixtureCase> fixture_cases();

// A fresh temporary directory, removed at exit.
std::filesystem::path temp_dir(const std::string& tag);

// Converts a fixture model to a model file (cached per name and dtype within the test run).
std::string converted_model(const std::string& model, const std::string& dtype = "f32");

// Max |got - golden| over the compared elements; rule "all", "valid_tokens" ([B, T, ...] rows with
// mask 1) or "valid_query_rows" ([B, heads, T, T] query rows with mask 1).
double max_abs_diff(const std::vector<float>& got, const npy::Array& golden, const std::string& rule,
                    const std::vector<int64_t>& mask, size_t batch, size_t seq_len);

std::string compare_rule(const std::string& output_role);

}  // namespace bertrt::testing
