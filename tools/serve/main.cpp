// bertrt-serve: the HTTP embedding server that `bertrt serve` runs (docs/serve.md).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>
#include <thread>

#include "bertrt/bertrt.h"
#include "bertrt/error.hpp"
#include "serve/options.h"
#include "serve/server.h"

namespace {

// Waits for SIGINT or SIGTERM (blocked in every thread, so only this one sees them) until done.
void watch_signals(bertrt::serve::Server& server, const std::atomic<bool>& done, bool quiet) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const timespec tick{0, 100 * 1000 * 1000};
  while (!done) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      if (!quiet) {
        std::fprintf(stderr, "bertrt serve: %s: finishing the requests in flight\n",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
      }
      server.stop();
    }
  }
}

int serve(int argc, char** argv) {
  bertrt::serve::ServeOptions options;
  if (!bertrt::serve::parse_options(argc, argv, 1, options)) return 0;
  // Before any thread starts: they inherit the mask, and the signals go to watch_signals.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up is an error on its socket, not the process's end

  bertrt::serve::Server server(options);
  const int port = server.bind();
  if (!options.quiet) {
    const std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
    std::fprintf(stderr, "bertrt serve: %s listening on http://%s:%d\n", options.model_id.c_str(), host.c_str(), port);
  }
  std::fflush(stderr);
  std::atomic<bool> done{false};
  std::thread signals([&] { watch_signals(server, done, options.quiet); });
  server.run();
  done = true;
  signals.join();
  if (!options.quiet) std::fprintf(stderr, "bertrt serve: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return serve(argc, argv);
  } catch (const bertrt::Error& e) {
    std::fprintf(stderr, "bertrt serve: error: %s\n", e.what());
    return e.status() == BERTRT_ERROR_INVALID_ARGUMENT ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bertrt serve: error: %s\n", e.what());
    return 1;
  }
}
