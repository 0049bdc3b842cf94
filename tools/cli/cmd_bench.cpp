// bertrt bench: wall time of the whole forward (ids -> last_hidden_state + pooler_output) per shape,
// as a table and as JSON lines with the keys of the ONNX Runtime peer benchmark (../shared/peer),
// so that both can be fed to the same comparison script.
//
// Inputs match the peer's: attention_mask all ones, token_type_ids all zeros, input_ids
// 1000 + (x % 29000) with x from xorshift32 (13, 17, 5) seeded 12345, restarted for every shape.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "cli/args.h"
#include "cli/commands.h"

namespace bertrt::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time of the whole process (all threads) since c0: unlike wall time, not stretched by other
// processes on a loaded machine.
double cpu_ms_since(std::clock_t c0) { return 1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC; }

struct Shape {
  size_t batch = 0, seq = 0;
};

std::vector<Shape> parse_shapes(const std::string& text) {
  std::vector<Shape> shapes;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    const size_t x = item.find('x');
    Shape s;
    try {
      if (x == std::string::npos) throw std::invalid_argument("no x");
      size_t used = 0;
      s.batch = std::stoul(item.substr(0, x), &used);
      if (used != x) throw std::invalid_argument("batch");
      s.seq = std::stoul(item.substr(x + 1), &used);
      if (used != item.size() - x - 1) throw std::invalid_argument("seq");
    } catch (const std::exception&) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--shapes: '" + item + "' is not BATCHxSEQ");
    }
    if (s.batch == 0 || s.seq == 0) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--shapes: zero in '" + item + "'");
    shapes.push_back(s);
    pos = comma + 1;
  }
  return shapes;
}

void fill_ids(std::vector<int64_t>& ids) {
  uint32_t x = 12345;
  for (int64_t& id : ids) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    id = 1000 + static_cast<int64_t>(x % 29000u);
  }
}

struct Buffers {
  std::vector<int64_t> ids, mask, types;
  std::vector<float> last, pooled;
  bertrt_forward_inputs in{};
  bertrt_forward_outputs out{};
  Buffers(Shape s, size_t hidden, bool pooler) {
    const size_t n = s.batch * s.seq;
    ids.resize(n);
    fill_ids(ids);
    mask.assign(n, 1);
    types.assign(n, 0);
    last.resize(n * hidden);
    pooled.resize(s.batch * hidden);
    in.input_ids = ids.data();
    in.attention_mask = mask.data();
    in.token_type_ids = types.data();
    in.batch = s.batch;
    in.seq_len = s.seq;
    out.last_hidden_state = last.data();
    out.pooler_output = pooler ? pooled.data() : nullptr;
  }
};

std::string default_name(const std::string& path) {
  std::filesystem::path p(path);
  std::string stem = p.stem().string();
  // "<cache>/models/minilm-l6-h384/model.bertrt" -> the directory name
  if ((stem == "model" || stem.empty()) && p.has_parent_path()) stem = p.parent_path().filename().string();
  return stem.empty() ? "model" : stem;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  const Args args(argc, argv, 2,
                  {"--model", "--threads", "--shapes", "--runs", "--warmup", "--min-time", "--name"},
                  {"--help", "--json", "--verify-weights"});
  if (args.flag("--help")) {
    std::puts(
        "usage: bertrt bench MODEL [--threads N] [--shapes 1x8,1x32,1x128,1x384,8x128] [--runs R]\n"
        "         [--warmup W] [--min-time S] [--name NAME] [--json] [--verify-weights]\n"
        "Times the whole forward (input_ids, all-ones mask, zero token types -> last_hidden_state and\n"
        "pooler_output) per shape: median/min/max ms and tokens/s, plus model-open and first-forward time\n"
        "(wall, and CPU time of the process).\n"
        "--runs R: exactly R timed runs per shape (default: at least 10 and at least --min-time seconds,\n"
        "default 3, at most 1000). --warmup W: untimed runs per shape (default 3). --threads N: threads\n"
        "in all, the caller included (default 1). --json: JSON lines only, one per shape, with the keys of\n"
        "the ONNX Runtime peer benchmark (engine, version, model, threads, batch, seq, median_ms, min_ms,\n"
        "max_ms, runs) plus tokens_per_s; the load line goes to stderr. --name: the model field (default:\n"
        "the file's stem, or its directory's name for model.bertrt).");
    return 0;
  }
  std::string path;
  if (auto m = args.value("--model")) path = *m;
  if (path.empty() && !args.positional().empty()) path = args.positional()[0];
  if (path.empty() || args.positional().size() > (args.value("--model") ? 0u : 1u))
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "bench needs exactly one MODEL (see bertrt bench --help)");
  const long threads = args.integer("--threads", 1);
  const long runs = args.integer("--runs", 0);
  const long warmup = args.integer("--warmup", 3);
  if (threads < 1) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--threads must be >= 1");
  if (runs < 0 || warmup < 0) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--runs and --warmup must be >= 0");
  double min_time_s = 3.0;
  if (auto v = args.value("--min-time")) {
    try {
      min_time_s = std::stod(*v);
    } catch (const std::exception&) {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--min-time expects seconds");
    }
  }
  const std::vector<Shape> shapes = parse_shapes(args.value("--shapes").value_or("1x8,1x32,1x128,1x384,8x128"));
  const std::string name = args.value("--name").value_or(default_name(path));
  const bool json = args.flag("--json");

  auto t0 = Clock::now();
  std::clock_t c0 = std::clock();
  const bertrt::Model model(path, args.flag("--verify-weights"));
  const double open_ms = ms_since(t0), open_cpu_ms = cpu_ms_since(c0);
  bertrt_config cfg{};
  if (bertrt_model_get_config(model.get(), &cfg) != BERTRT_OK)
    throw Error(BERTRT_ERROR_INTERNAL, bertrt_last_error());
  bertrt::Session session(model);
  session.set_threads(static_cast<int>(threads));
  const size_t hidden = static_cast<size_t>(cfg.hidden_size);
  const bool pooler = cfg.has_pooler != 0;

  // First forward: cold caches, first touch of the mapped weights, scratch growth.
  double first_ms = 0.0, first_cpu_ms = 0.0;
  {
    Buffers b(shapes.front(), hidden, pooler);
    t0 = Clock::now();
    c0 = std::clock();
    session.forward(b.in, b.out);
    first_ms = ms_since(t0);
    first_cpu_ms = cpu_ms_since(c0);
  }
  std::FILE* info = json ? stderr : stdout;
  std::fprintf(info,
               "bertrt bench: model %s (%s, hidden %lld, layers %lld, %s), isa %s, threads %ld: open %.3f ms "
               "(cpu %.3f), first forward %.3f ms (cpu %.3f) (%zux%zu)\n",
               name.c_str(), path.c_str(), static_cast<long long>(cfg.hidden_size),
               static_cast<long long>(cfg.num_hidden_layers), cfg.weight_dtype, bertrt_kernel_isa(), threads, open_ms,
               open_cpu_ms, first_ms, first_cpu_ms, shapes.front().batch, shapes.front().seq);
  if (!json) std::printf("%-10s %6s %10s %10s %10s %12s\n", "shape", "runs", "median_ms", "min_ms", "max_ms", "tokens/s");

  for (const Shape& s : shapes) {
    Buffers b(s, hidden, pooler);
    for (long i = 0; i < warmup; ++i) session.forward(b.in, b.out);
    std::vector<double> times;
    const auto start = Clock::now();
    for (;;) {
      const long done = static_cast<long>(times.size());
      if (runs > 0 ? done >= runs : (done >= 10 && ms_since(start) >= min_time_s * 1000.0) || done >= 1000) break;
      t0 = Clock::now();
      session.forward(b.in, b.out);
      times.push_back(ms_since(t0));
    }
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    const size_t k = sorted.size();
    const double median = k % 2 ? sorted[k / 2] : 0.5 * (sorted[k / 2 - 1] + sorted[k / 2]);
    const double tps = static_cast<double>(s.batch * s.seq) / (median / 1000.0);
    if (json) {
      std::printf(
          "{\"engine\":\"bertrt\",\"version\":\"%s\",\"model\":\"%s\",\"threads\":%ld,\"batch\":%zu,\"seq\":%zu,"
          "\"median_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f,\"runs\":%zu,\"tokens_per_s\":%.1f,\"isa\":\"%s\"}\n",
          bertrt_version(), name.c_str(), threads, s.batch, s.seq, median, sorted.front(), sorted.back(), k, tps,
          bertrt_kernel_isa());
    } else {
      char shape[32];
      std::snprintf(shape, sizeof shape, "%zux%zu", s.batch, s.seq);
      std::printf("%-10s %6zu %10.3f %10.3f %10.3f %12.1f\n", shape, k, median, sorted.front(), sorted.back(), tps);
    }
    std::fflush(stdout);
  }
  if (json)
    std::fprintf(stderr,
                 "{\"engine\":\"bertrt\",\"event\":\"load\",\"model\":\"%s\",\"threads\":%ld,\"open_ms\":%.3f,"
                 "\"first_forward_ms\":%.3f,\"open_cpu_ms\":%.3f,\"first_forward_cpu_ms\":%.3f}\n",
                 name.c_str(), threads, open_ms, first_ms, open_cpu_ms, first_cpu_ms);
  return 0;
}

}  // namespace bertrt::cli
