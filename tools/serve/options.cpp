#include "serve/options.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "bertrt/error.hpp"
#include "cli/args.h"

namespace bertrt::serve {
namespace {

constexpr const char* kHelp =
    "usage: bertrt serve MODEL [--host 127.0.0.1] [--port 8080] [--threads N] [--workers N]\n"
    "                    [--max-batch-tokens N] [--max-batch-size N] [--max-queue N]\n"
    "                    [--max-input-length N] [--max-request-bytes N] [--max-client-batch-size N]\n"
    "                    [--http-threads N] [--backlog N] [--read-timeout S] [--write-timeout S]\n"
    "                    [--keep-alive-timeout S] [--model-id NAME] [--reuse-port] [--verify-weights] [--quiet]\n"
    "An HTTP/1.1 embedding server. Endpoints: POST /v1/embeddings (OpenAI), POST /embed, /embed_all,\n"
    "/tokenize (text-embeddings-inference), POST /lookup, /embed_vectors (the staged workflow),\n"
    "GET /health, /info, /metrics (Prometheus), /v1/models. See docs/serve.md.\n"
    "  --host H                 address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port P                 TCP port (default 8080; 0: any free port, printed at start)\n"
    "  --workers N              sessions running batches (default 1)\n"
    "  --threads N              threads per session (default: the CPUs / workers)\n"
    "  --max-batch-tokens N     real tokens a worker packs into one batch (default 16384)\n"
    "  --max-batch-size N       inputs per batch (default 256)\n"
    "  --max-queue N            requests waiting for a worker; more are answered 429 (default 1024)\n"
    "  --max-input-length N     tokens per input (default and maximum: the model's limit)\n"
    "  --max-request-bytes N    request body limit; larger bodies are answered 413 (default 4194304)\n"
    "  --max-client-batch-size N  inputs per request (default 1024)\n"
    "  --http-threads N         connections served at once; more wait their turn (default 128)\n"
    "  --backlog N              listen backlog (default 1024)\n"
    "  --read-timeout S, --write-timeout S   seconds a client may stall (default 10)\n"
    "  --keep-alive-timeout S   seconds an idle connection is kept open (default 5)\n"
    "  --model-id NAME          the model's name in answers (default: the file name without .bertrt)\n"
    "  --reuse-port             SO_REUSEPORT: several servers on one port share its connections\n"
    "SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.";

size_t count_option(const cli::Args& args, const char* name, size_t fallback, size_t min) {
  const long v = args.integer(name, static_cast<long>(fallback));
  if (v < static_cast<long>(min))
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string(name) + " must be at least " + std::to_string(min));
  return static_cast<size_t>(v);
}

double seconds_option(const cli::Args& args, const char* name, double fallback) {
  const auto v = args.value(name);
  if (!v) return fallback;
  double x = 0.0;
  size_t used = 0;
  try {
    x = std::stod(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v->size() || !std::isfinite(x) || x <= 0.0 || x > 86400.0)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string(name) + " expects seconds in (0, 86400], got '" + *v + "'");
  return x;
}

}  // namespace

bool parse_options(int argc, char** argv, int first, ServeOptions& o) {
  const cli::Args args(argc, argv, first,
                       {"--host", "--port", "--threads", "--workers", "--max-batch-tokens", "--max-batch-size",
                        "--max-queue", "--max-input-length", "--max-request-bytes", "--max-client-batch-size",
                        "--http-threads", "--backlog", "--read-timeout", "--write-timeout", "--keep-alive-timeout",
                        "--model-id"},
                       {"--help", "--reuse-port", "--verify-weights", "--quiet"});
  if (args.flag("--help")) {
    std::puts(kHelp);
    return false;
  }
  if (args.positional().size() != 1)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "serve needs exactly one MODEL (see bertrt serve --help)");
  o.model_path = args.positional()[0];
  o.model_id = args.value("--model-id").value_or(std::filesystem::path(o.model_path).stem().string());
  o.host = args.value("--host").value_or(o.host);
  const long port = args.integer("--port", o.port);
  if (port < 0 || port > 65535) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--port must be in [0, 65535]");
  o.port = static_cast<int>(port);
  const long threads = args.integer("--threads", 0);
  if (threads < 0 || threads > 4096) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--threads must be in [0, 4096]");
  o.threads = static_cast<int>(threads);
  o.workers = count_option(args, "--workers", o.workers, 1);
  o.max_batch_tokens = count_option(args, "--max-batch-tokens", o.max_batch_tokens, 1);
  o.max_batch_size = count_option(args, "--max-batch-size", o.max_batch_size, 1);
  o.max_queue = count_option(args, "--max-queue", o.max_queue, 1);
  o.max_input_length = count_option(args, "--max-input-length", o.max_input_length, 0);
  o.max_request_bytes = count_option(args, "--max-request-bytes", o.max_request_bytes, 64);
  o.max_client_batch_size = count_option(args, "--max-client-batch-size", o.max_client_batch_size, 1);
  o.http_threads = count_option(args, "--http-threads", o.http_threads, 2);
  o.backlog = count_option(args, "--backlog", o.backlog, 1);
  o.read_timeout = seconds_option(args, "--read-timeout", o.read_timeout);
  o.write_timeout = seconds_option(args, "--write-timeout", o.write_timeout);
  o.keep_alive_timeout = seconds_option(args, "--keep-alive-timeout", o.keep_alive_timeout);
  o.reuse_port = args.flag("--reuse-port");
  o.verify_weights = args.flag("--verify-weights");
  o.quiet = args.flag("--quiet");
  if (o.workers > 256 || o.http_threads > 4096)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--workers is at most 256 and --http-threads at most 4096");
  return true;
}

}  // namespace bertrt::serve
