// bertrt embed --sparse: SPLADE vectors from a masked-LM head (per text, the max over its tokens of
// log(1 + ReLU(logits))), as JSON lines or as a CSR layout of three .npy files.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/task_heads.h"
#include "cli/verb_common.h"

namespace bertrt::cli {
namespace {

// A 1-D little-endian .npy array written in pieces; its length is patched into the header at the end.
class Npy1dWriter {
 public:
  Npy1dWriter(const std::string& path, const char* descr, size_t item) : path_(path), descr_(descr), item_(item) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) throw Error(BERTRT_ERROR_IO, "cannot write '" + path + "'");
    header(0);
  }
  ~Npy1dWriter() {
    if (file_) std::fclose(file_);
  }
  Npy1dWriter(const Npy1dWriter&) = delete;
  Npy1dWriter& operator=(const Npy1dWriter&) = delete;
  void write(const void* data, size_t count) {
    if (count && std::fwrite(data, item_, count, file_) != count) throw Error(BERTRT_ERROR_IO, "write to '" + path_ + "' failed");
    count_ += count;
  }
  void finish() {
    if (std::fseek(file_, 0, SEEK_SET) != 0) throw Error(BERTRT_ERROR_IO, "cannot seek in '" + path_ + "'");
    header(count_);
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) throw Error(BERTRT_ERROR_IO, "closing '" + path_ + "' failed");
  }

 private:
  void header(size_t n) {  // format 1.0, always 128 bytes
    std::string dict = std::string("{'descr': '") + descr_ + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(n) + ",), }";
    dict.append(128 - 10 - dict.size() - 1, ' ');
    dict += '\n';
    const unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(dict.size()), 0};
    if (std::fwrite(magic, 1, 10, file_) != 10 || std::fwrite(dict.data(), 1, dict.size(), file_) != dict.size())
      throw Error(BERTRT_ERROR_IO, "write to '" + path_ + "' failed");
  }
  std::string path_;
  const char* descr_;
  size_t item_;
  std::FILE* file_ = nullptr;
  size_t count_ = 0;
};

nlohmann::ordered_json sparse_json(const heads::SparseVector& s, const Tokenizer& tok) {
  nlohmann::ordered_json weights = nlohmann::ordered_json::array(), tokens = nlohmann::ordered_json::array();
  for (size_t j = 0; j < s.ids.size(); ++j) {
    weights.push_back(json_float(s.weights[j]));
    tokens.push_back(tok.id_to_token(s.ids[j]));
  }
  nlohmann::ordered_json out;
  out["ids"] = s.ids;
  out["weights"] = weights;
  out["tokens"] = tokens;
  return out;
}

bool ends_with(const std::string& s, const char* suffix) {
  const std::string t = suffix;
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace

int embed_sparse(const Args& args) {
  if (args.positional().empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "embed needs MODEL (see --help)");
  const long top = args.integer("--top-k", 0);
  double threshold = 0.0;
  if (auto w = args.value("--threshold")) {
    char* end = nullptr;
    threshold = std::strtod(w->c_str(), &end);
    if (w->empty() || *end != '\0') throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--threshold expects a number, got '" + *w + "'");
  }
  if (top < 0 || !(threshold >= 0)) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--top-k and --threshold must not be negative");
  for (const char* o : {"--pool", "--normalize", "--no-normalize"})
    if (args.value(o) || args.flag(o)) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string("--sparse takes no ") + o);
  const auto output = args.value("--output");
  if (args.value("--input").has_value() != output.has_value())
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--input and --output go together");
  if (output && ends_with(*output, ".npy"))
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--sparse writes OUT.jsonl or a directory (indices.npy, values.npy, offsets.npy)");
  const std::vector<std::string> texts = gather_texts(args, "embed --sparse");
  VerbModel m(args, args.positional()[0]);
  heads::require_head(m.model, BERTRT_HEAD_MASKED_LM, "embed --sparse");
  std::vector<Encoding> encodings;
  encodings.reserve(texts.size());
  for (const std::string& t : texts) encodings.push_back(m.encode(t));
  const std::vector<heads::SparseVector> vectors = heads::splade(
      m.session, m.model, encodings, m.batch_size, m.tok().pad_id(), static_cast<size_t>(top), static_cast<float>(threshold));
  if (!output || ends_with(*output, ".jsonl")) {
    std::FILE* f = output ? std::fopen(output->c_str(), "wb") : stdout;
    if (!f) throw Error(BERTRT_ERROR_IO, "cannot write '" + *output + "'");
    for (size_t i = 0; i < vectors.size(); ++i) {
      nlohmann::ordered_json j;
      if (output) j["i"] = i;
      j.update(sparse_json(vectors[i], m.tok()));
      const std::string line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
      std::fwrite(line.data(), 1, line.size(), f);
    }
    if (output && std::fclose(f) != 0) throw Error(BERTRT_ERROR_IO, "closing '" + *output + "' failed");
  } else {
    namespace fs = std::filesystem;
    fs::create_directories(*output);
    Npy1dWriter indices((fs::path(*output) / "indices.npy").string(), "<i8", 8);
    Npy1dWriter values((fs::path(*output) / "values.npy").string(), "<f4", 4);
    Npy1dWriter offsets((fs::path(*output) / "offsets.npy").string(), "<i8", 8);
    int64_t nnz = 0;
    offsets.write(&nnz, 1);
    for (const heads::SparseVector& s : vectors) {
      indices.write(s.ids.data(), s.ids.size());
      values.write(s.weights.data(), s.weights.size());
      nnz += static_cast<int64_t>(s.ids.size());
      offsets.write(&nnz, 1);
    }
    indices.finish();
    values.finish();
    offsets.finish();
  }
  report_truncated(m, "embed");
  return 0;
}

}  // namespace bertrt::cli
