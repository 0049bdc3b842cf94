// bertrt serve's command line.
#pragma once

#include <cstddef>
#include <string>

namespace bertrt::serve {

struct ServeOptions {
  std::string model_path;
  std::string model_id;             // the name /v1/models and /info give; default: the file's stem
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port (the chosen one is printed)
  int threads = 0;                  // threads per worker session; 0: the CPUs / workers
  size_t workers = 1;               // sessions running batches
  size_t max_batch_tokens = 16384;  // real tokens per batch
  size_t max_batch_size = 256;      // inputs per batch
  size_t max_queue = 1024;          // requests waiting for a worker; more get 429
  size_t max_input_length = 0;      // tokens per input; 0: the model's limit
  size_t max_request_bytes = 4u << 20;
  size_t max_client_batch_size = 1024;  // inputs per request
  size_t http_threads = 128;        // connections handled at once
  size_t backlog = 1024;            // listen backlog
  double read_timeout = 10.0;       // seconds a client may stall while sending a request
  double write_timeout = 10.0;      // seconds a client may stall while receiving the response
  double keep_alive_timeout = 5.0;  // seconds an idle keep-alive connection is kept
  bool reuse_port = false;          // SO_REUSEPORT: several processes share the port
  bool verify_weights = false;
  bool quiet = false;
};

// Parses argv[first..]. Prints the help and returns false for --help; throws bertrt::Error
// (BERTRT_ERROR_INVALID_ARGUMENT) on a bad command line.
bool parse_options(int argc, char** argv, int first, ServeOptions& options);

}  // namespace bertrt::serve
