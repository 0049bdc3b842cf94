// The HTTP server: cpp-httplib's thread-per-connection server with the endpoints of api.h, the
// limits of ServeOptions, metrics, and a graceful stop.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "bertrt/bertrt.hpp"
#include "serve/api.h"
#include "serve/batcher.h"
#include "serve/metrics.h"
#include "serve/options.h"

namespace bertrt::serve {

class HttpServer;

class Server {
 public:
  // Opens the model, its tokenizer (when it holds one) and the worker sessions.
  explicit Server(const ServeOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port (the chosen one for port 0). Throws
  // bertrt::Error when the address cannot be bound.
  int bind();
  // Accepts and serves until stop(); then finishes the requests in flight (their connections
  // close after the answer), stops the workers and returns.
  void run();
  // From any thread, any number of times; before run() it makes run() return at once.
  void stop();

 private:
  void add_routes();
  std::string info() const;
  std::string health() const;

  ServeOptions options_;
  Model model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string tokenizer_error_;  // why the model has no tokenizer
  Metrics metrics_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace bertrt::serve
