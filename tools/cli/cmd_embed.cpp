// bertrt embed: sentence embeddings of texts given on the command line, or of a corpus file streamed
// in chunks into a .npy or .jsonl file (memory does not grow with the corpus).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/text_lines.h"

namespace bertrt::cli {
namespace {

constexpr const char* kHelp =
    "usage: bertrt embed MODEL TEXT...\n"
    "       bertrt embed MODEL --input FILE --output OUT [--batch-tokens N] [--batch-size N] [--padded]\n"
    "                          [--pool cls|mean|max|pooler] [--normalize | --no-normalize] [--max-length N] [--threads N]\n"
    "                          [--chunk-size N] [--verify-weights] [--quiet] [--progress-every S]\n"
    "Sentence embeddings with the model's pooling defaults (sentence-transformers settings when the\n"
    "model was converted from such a checkpoint; otherwise mean pooling, not normalized).\n"
    "With TEXT arguments: prints one JSON array per text, one a line.\n"
    "With --input: FILE.jsonl holds objects with a string \"text\"; any other file one text a line.\n"
    "OUT.npy receives float32 [N, H] in input order; OUT.jsonl one {\"i\": n, \"embedding\": [...]} a line.\n"
    "The input is read --chunk-size texts at a time (default 4096); within a chunk the texts run as\n"
    "packed batches (no padding) of up to --batch-tokens tokens (default 2048) and, when given,\n"
    "--batch-size texts. --padded: batches of --batch-size texts (default 32) of similar length\n"
    "padded to their longest (the layout before packed batches; same vectors, for comparison).\n"
    "--max-length truncates (default: the\n"
    "model's limit); truncated texts are counted in the report, never dropped. On stderr: a progress\n"
    "bar with texts/s and ETA when it is a terminal, otherwise a plain progress line every\n"
    "--progress-every seconds (default 10; 0: after every batch); then the total time and\n"
    "throughput. --quiet: nothing on stderr but errors.\n"
    "\n"
    "       bertrt embed MODEL --sparse [--top-k K] [--threshold W] (TEXT... | --input FILE --output OUT)\n"
    "SPLADE vectors from a masked-LM head: per text, w[v] = max over its tokens (attention mask 1) of\n"
    "log(1 + ReLU(logits[t, v])), kept where w > W (default 0), the K largest (default: all), largest\n"
    "first. With TEXT arguments or OUT.jsonl: one JSON line a text {\"ids\", \"weights\", \"tokens\"}\n"
    "(OUT.jsonl adds \"i\"). Any other OUT is a directory receiving a CSR layout: indices.npy (int64\n"
    "[nnz], vocabulary ids), values.npy (float32 [nnz]) and offsets.npy (int64 [N + 1]): text i's entries\n"
    "are [offsets[i], offsets[i+1]); scipy.sparse.csr_matrix((values, indices, offsets), shape=(N, V)).";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Embeds texts with one session through bertrt_session_encode_texts (tokenize, order by length,
// batch, forward, pool); counts the texts cut to max_length.
class Embedder {
 public:
  Embedder(const Model& model, int threads, const bertrt_encode_texts_options& options)
      : session_(model), tokenizer_(model), hidden_(model.hidden_size()), options_(options) {
    if (threads > 0) session_.set_threads(threads);
  }
  size_t hidden() const { return hidden_; }
  // Texts cut to max_length tokens so far.
  size_t truncated() const { return truncated_; }

  // out[texts.size(), H] in the order of texts. on_batch (may be empty) gets the rows done so far.
  void embed(const std::vector<std::string>& texts, std::vector<float>& out,
             const std::function<void(size_t)>& on_batch = {}) {
    out.assign(texts.size() * hidden_, 0.0f);
    bertrt_encode_texts_options o = options_;
    if (on_batch) {
      o.progress = [](size_t done, size_t, void* user) { (*static_cast<const std::function<void(size_t)>*>(user))(done); };
      o.progress_user_data = const_cast<std::function<void(size_t)>*>(&on_batch);
    }
    truncated_ += session_.encode_texts(tokenizer_, texts, out, &o);
  }

 private:
  Session session_;
  Tokenizer tokenizer_;
  size_t hidden_;
  bertrt_encode_texts_options options_;
  size_t truncated_ = 0;
};

void append_json_vector(std::string& s, const float* v, size_t n) {
  char buf[32];
  s += '[';
  for (size_t j = 0; j < n; ++j) {
    std::snprintf(buf, sizeof buf, j ? ", %.9g" : "%.9g", static_cast<double>(v[j]));
    s += buf;
  }
  s += ']';
}

// Reads texts from a .txt (one a line) or .jsonl ("text" field) file, a chunk at a time.
class TextReader {
 public:
  explicit TextReader(const std::string& path) : path_(path), in_(path, std::ios::binary), jsonl_(ends_with(path, ".jsonl")) {
    if (!in_) throw Error(BERTRT_ERROR_IO, "cannot read '" + path + "'");
  }
  // Appends up to max texts; false when the file is exhausted and nothing was read.
  bool next(std::vector<std::string>& texts, size_t max) {
    texts.clear();
    std::string line;
    while (texts.size() < max && std::getline(in_, line)) {
      ++line_number_;
      strip_cr(line);
      if (!jsonl_) {
        texts.push_back(std::move(line));
        continue;
      }
      if (is_blank(line)) continue;
      texts.push_back(parse_text_object(line, where())["text"].get<std::string>());
    }
    return !texts.empty();
  }
  // Counts the texts of the file (for the progress bar's total).
  static size_t count(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const bool jsonl = ends_with(path, ".jsonl");
    size_t n = 0;
    std::string line;
    while (std::getline(in, line))
      if (!jsonl || line.find_first_not_of(" \t\r") != std::string::npos) ++n;
    return n;
  }

 private:
  std::string where() const { return path_ + ":" + std::to_string(line_number_); }
  std::string path_;
  std::ifstream in_;
  bool jsonl_;
  size_t line_number_ = 0;
};

// A .npy float32 [N, H] file written row block by row block; N is patched in at the end.
class NpyWriter {
 public:
  NpyWriter(const std::string& path, size_t hidden) : path_(path), hidden_(hidden) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) throw Error(BERTRT_ERROR_IO, "cannot write '" + path + "'");
    write_header(0);
  }
  ~NpyWriter() {
    if (file_) std::fclose(file_);
  }
  void write(const float* rows, size_t count) {
    if (count && std::fwrite(rows, sizeof(float), count * hidden_, file_) != count * hidden_)
      throw Error(BERTRT_ERROR_IO, "write to '" + path_ + "' failed");
    rows_ += count;
  }
  void finish() {
    if (std::fseek(file_, 0, SEEK_SET) != 0) throw Error(BERTRT_ERROR_IO, "cannot seek in '" + path_ + "'");
    write_header(rows_);
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) throw Error(BERTRT_ERROR_IO, "closing '" + path_ + "' failed");
  }

 private:
  // Always 128 bytes (format 1.0, little-endian float32), so the final header fits the placeholder.
  void write_header(size_t rows) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(hidden_) + "), }";
    const size_t total = 128, prefix = 10;
    dict.append(total - prefix - dict.size() - 1, ' ');
    dict += '\n';
    const uint16_t len = static_cast<uint16_t>(dict.size());
    const unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                     static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>(len >> 8)};
    if (std::fwrite(magic, 1, 10, file_) != 10 || std::fwrite(dict.data(), 1, dict.size(), file_) != dict.size())
      throw Error(BERTRT_ERROR_IO, "write to '" + path_ + "' failed");
  }
  std::string path_;
  size_t hidden_;
  std::FILE* file_ = nullptr;
  size_t rows_ = 0;
};

class JsonlWriter {
 public:
  JsonlWriter(const std::string& path, size_t hidden) : path_(path), hidden_(hidden) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) throw Error(BERTRT_ERROR_IO, "cannot write '" + path + "'");
  }
  ~JsonlWriter() {
    if (file_) std::fclose(file_);
  }
  void write(const float* rows, size_t count) {
    std::string s;
    for (size_t k = 0; k < count; ++k) {
      s = "{\"i\": " + std::to_string(rows_ + k) + ", \"embedding\": ";
      append_json_vector(s, rows + k * hidden_, hidden_);
      s += "}\n";
      if (std::fwrite(s.data(), 1, s.size(), file_) != s.size())
        throw Error(BERTRT_ERROR_IO, "write to '" + path_ + "' failed");
    }
    rows_ += count;
  }
  void finish() {
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) throw Error(BERTRT_ERROR_IO, "closing '" + path_ + "' failed");
  }

 private:
  std::string path_;
  size_t hidden_;
  std::FILE* file_ = nullptr;
  size_t rows_ = 0;
};

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

// A progress bar on a terminal (redrawn in place), else a plain line (one per call).
void draw_progress(size_t done, size_t total, double elapsed, bool tty) {
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  if (!tty) {
    const std::string eta = rate > 0 && total >= done ? format_duration(static_cast<double>(total - done) / rate) : "?";
    std::fprintf(stderr, "bertrt embed: %zu/%zu texts, %.1f texts/s, elapsed %s, ETA %s\n", done, total, rate,
                 format_duration(elapsed).c_str(), eta.c_str());
    std::fflush(stderr);
    return;
  }
  constexpr int kWidth = 30;
  const double frac = total ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '-');
  const std::string eta = rate > 0 && total >= done ? format_duration(static_cast<double>(total - done) / rate) : "?";
  std::fprintf(stderr, "\r[%s] %zu/%zu texts  %.1f texts/s  ETA %s   ", bar.c_str(), done, total, rate, eta.c_str());
  std::fflush(stderr);
}

}  // namespace

int cmd_embed(int argc, char** argv) {
  const Args args(argc, argv, 2,
                  {"--input", "--output", "--batch-size", "--batch-tokens", "--pool", "--max-length", "--threads", "--chunk-size",
                   "--progress-every", "--top-k", "--threshold"},
                  {"--help", "--normalize", "--no-normalize", "--verify-weights", "--quiet", "--sparse", "--padded"});
  if (args.flag("--help")) {
    std::puts(kHelp);
    return 0;
  }
  if (args.flag("--sparse")) return embed_sparse(args);
  if (args.value("--top-k") || args.value("--threshold"))
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--top-k and --threshold go with --sparse");
  std::vector<std::string> texts = args.positional();
  if (texts.empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "embed needs MODEL (see bertrt embed --help)");
  const std::string model_path = texts.front();
  texts.erase(texts.begin());
  const auto input = args.value("--input");
  const auto output = args.value("--output");
  if (input && !texts.empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "give TEXT arguments or --input, not both");
  if (input && !output) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--input needs --output (.npy or .jsonl)");
  if (!input && output) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--output needs --input");
  if (!input && texts.empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "embed needs TEXT arguments or --input FILE");
  if (output && !ends_with(*output, ".npy") && !ends_with(*output, ".jsonl"))
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--output must end in .npy or .jsonl");
  if (args.flag("--normalize") && args.flag("--no-normalize"))
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--normalize and --no-normalize exclude each other");
  const long batch_size = args.integer("--batch-size", 0);
  const long batch_tokens = args.integer("--batch-tokens", 2048);
  if ((args.value("--batch-size") && batch_size <= 0) || batch_tokens <= 0)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--batch-size and --batch-tokens must be positive");
  const long chunk_size = args.integer("--chunk-size", 4096);
  const long threads = args.integer("--threads", 0);
  const long max_length_arg = args.integer("--max-length", 0);
  const long progress_every = args.integer("--progress-every", 10);
  const bool quiet = args.flag("--quiet");
  if (batch_size < 0 || chunk_size <= 0 || threads < 0 || max_length_arg < 0 || progress_every < 0)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--chunk-size must be positive, --threads, "
                                               "--max-length and --progress-every not negative");

  const Model model(model_path, args.flag("--verify-weights"));
  const bertrt_config& config = model.config();
  bertrt_encode_texts_options options{};
  options.pool = pool_option(args, config.default_pool);
  options.normalize = args.flag("--normalize") ? 1 : args.flag("--no-normalize") ? 0 : config.default_normalize;
  const size_t max_length =
      max_length_arg > 0 ? static_cast<size_t>(max_length_arg) : static_cast<size_t>(config.max_sequence_length);
  options.max_length = max_length;
  options.batch_size = static_cast<size_t>(batch_size);
  options.max_batch_tokens = static_cast<size_t>(batch_tokens);
  options.padded = args.flag("--padded") ? 1 : 0;
  Embedder embedder(model, static_cast<int>(threads), options);
  const size_t H = embedder.hidden();
  std::vector<float> vectors;

  if (!input) {
    embedder.embed(texts, vectors);
    if (embedder.truncated() && !quiet)
      std::fprintf(stderr, "bertrt embed: %zu of %zu texts truncated to %zu tokens\n", embedder.truncated(),
                   texts.size(), max_length);
    std::string s;
    for (size_t i = 0; i < texts.size(); ++i) {
      s.clear();
      append_json_vector(s, vectors.data() + i * H, H);
      std::printf("%s\n", s.c_str());
    }
    return 0;
  }

  const bool tty = !quiet && isatty(fileno(stderr)) != 0;
  const bool plain = !quiet && !tty;
  const size_t total = tty || plain ? TextReader::count(*input) : 0;
  TextReader reader(*input);
  std::unique_ptr<NpyWriter> npy;
  std::unique_ptr<JsonlWriter> jsonl;
  if (ends_with(*output, ".npy")) npy = std::make_unique<NpyWriter>(*output, H);
  else jsonl = std::make_unique<JsonlWriter>(*output, H);

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  size_t done = 0;
  double last_line = 0.0;  // when the last plain progress line was printed
  auto progress = [&](size_t rows) {
    const double now = elapsed();
    if (tty) {
      draw_progress(rows, std::max(total, rows), now, true);
    } else if (plain && now - last_line >= static_cast<double>(progress_every)) {
      draw_progress(rows, std::max(total, rows), now, false);
      last_line = now;
    }
  };
  std::vector<std::string> chunk;
  if (tty) draw_progress(0, total, 0.0, true);
  while (reader.next(chunk, static_cast<size_t>(chunk_size))) {
    if (tty || plain) embedder.embed(chunk, vectors, [&](size_t rows) { progress(done + rows); });
    else embedder.embed(chunk, vectors);
    if (npy) npy->write(vectors.data(), chunk.size());
    else jsonl->write(vectors.data(), chunk.size());
    done += chunk.size();
  }
  if (npy) npy->finish();
  else jsonl->finish();
  const double secs = elapsed();
  if (tty) {
    draw_progress(done, std::max(total, done), secs, true);
    std::fputc('\n', stderr);
  }
  if (!quiet) {
    std::fprintf(stderr, "bertrt embed: %zu texts in %.2f s (%.1f texts/s), %zu truncated to %zu tokens, "
                 "[%zu, %zu] float32 -> %s\n", done, secs, secs > 0 ? static_cast<double>(done) / secs : 0.0,
                 embedder.truncated(), max_length, done, H, output->c_str());
  }
  return 0;
}

}  // namespace bertrt::cli
