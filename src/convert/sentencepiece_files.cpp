// SentencePiece models in folders and files (sentencepiece.h): which file a folder holds, which
// family its configuration names, and the C API's bertrt_sentencepiece_to_tokenizer_json.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "bertrt/convert.h"
#include "common/error.h"
#include "convert/sentencepiece.h"

namespace bertrt::convert::spm {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int64_t kMaxFolderExtraIds = 10000;

std::string read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(BERTRT_ERROR_IO, "cannot read '" + path.string() + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(BERTRT_ERROR_IO, "cannot read '" + path.string() + "'");
  return ss.str();
}

// A folder's JSON file, or null when the folder has none.
json folder_json(const fs::path& dir, const char* name) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / name, ec)) return nullptr;
  try {
    return json::parse(read_file(dir / name));
  } catch (const json::exception& e) {
    throw Error(BERTRT_ERROR_FORMAT, "'" + (dir / name).string() + "' is not valid JSON: " + e.what());
  }
}

std::optional<std::string> string_field(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return std::nullopt;
  return j[key].get<std::string>();
}

// tokenizer_config.json's extra_ids (T5's sentinel count), else 100, T5's default.
int folder_extra_ids(const json& tokenizer_config) {
  if (!tokenizer_config.is_object() || !tokenizer_config.contains("extra_ids")) return 100;
  const json& e = tokenizer_config["extra_ids"];
  if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > kMaxFolderExtraIds)
    throw Error(BERTRT_ERROR_FORMAT, "tokenizer_config.json: extra_ids must be an integer from 0 to " +
                                         std::to_string(kMaxFolderExtraIds));
  return e.get<int>();
}

Family family_of_class(std::string cls) {
  if (cls.size() > 4 && cls.compare(cls.size() - 4, 4, "Fast") == 0) cls.resize(cls.size() - 4);
  if (cls == "T5Tokenizer") return Family::t5;
  if (cls == "XLMRobertaTokenizer") return Family::xlm_roberta;
  if (cls == "CamembertTokenizer") return Family::camembert;
  throw Error(BERTRT_ERROR_UNSUPPORTED, "tokenizer_config.json: tokenizer_class '" + cls +
                                            "' has no SentencePiece conversion (T5Tokenizer, XLMRobertaTokenizer, "
                                            "CamembertTokenizer)");
}

Family family_of_model_type(const std::string& type) {
  if (type == "t5" || type == "mt5") return Family::t5;
  if (type == "xlm-roberta") return Family::xlm_roberta;
  if (type == "camembert") return Family::camembert;
  throw Error(BERTRT_ERROR_UNSUPPORTED, "config.json: model_type '" + type +
                                            "' has no SentencePiece conversion (t5, mt5, xlm-roberta, camembert)");
}

}  // namespace

fs::path find_model(const fs::path& dir) {
  for (const char* name : {"spiece.model", "sentencepiece.bpe.model"}) {
    std::error_code ec;
    if (fs::is_regular_file(dir / name, ec)) return dir / name;
  }
  return {};
}

Options options_for_folder(const fs::path& dir) {
  Options o;
  const json tokenizer_config = folder_json(dir, "tokenizer_config.json");
  if (auto cls = string_field(tokenizer_config, "tokenizer_class")) {
    o.family = family_of_class(*cls);
  } else if (auto type = string_field(folder_json(dir, "config.json"), "model_type")) {
    o.family = family_of_model_type(*type);
  }
  if (o.family == Family::t5) o.extra_ids = folder_extra_ids(tokenizer_config);
  return o;
}

std::string tokenizer_json_from_path(const std::string& path, std::string_view family_name) {
  const fs::path p(path);
  std::error_code ec;
  fs::path file = p, dir = p.parent_path();
  if (fs::is_directory(p, ec)) {
    dir = p;
    file = find_model(p);
    if (file.empty()) throw Error(BERTRT_ERROR_IO, "'" + path + "' holds no spiece.model or sentencepiece.bpe.model");
  } else if (!fs::exists(p, ec)) {
    throw Error(BERTRT_ERROR_IO, "no such file: '" + path + "'");
  }
  if (dir.empty()) dir = ".";
  Options o;
  if (family_name.empty()) {
    o = options_for_folder(dir);
  } else {
    o.family = family_from_name(family_name);
    if (o.family == Family::t5) o.extra_ids = folder_extra_ids(folder_json(dir, "tokenizer_config.json"));
  }
  return tokenizer_json(read_file(file), o);
}

}  // namespace bertrt::convert::spm

extern "C" BERTRT_API bertrt_status bertrt_sentencepiece_to_tokenizer_json(const char* path, const char* family,
                                                                           char** json_out, size_t* json_len_out) {
  return bertrt::guard_call([&] {
    if (!path || !json_out) throw bertrt::Error(BERTRT_ERROR_INVALID_ARGUMENT, "path and json_out must not be NULL");
    *json_out = nullptr;
    if (json_len_out) *json_len_out = 0;
    const std::string text = bertrt::convert::spm::tokenizer_json_from_path(path, family ? family : "");
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (!copy) throw std::bad_alloc();
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
    *json_out = copy;
    if (json_len_out) *json_len_out = text.size();
  });
}
