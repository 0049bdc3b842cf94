#include "serve/server.h"

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <httplib.h>
#include <new>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve/json_out.h"

namespace bertrt::serve {

// cpp-httplib's server with a settable listen backlog: the library listens with a small fixed
// one, and listen() on a listening socket changes it.
class HttpServer : public httplib::Server {
 public:
  bool set_backlog(int backlog) { return ::listen(svr_sock_, backlog) == 0; }
};

namespace {

ApiStyle style_of(const std::string& path) { return path.rfind("/v1/", 0) == 0 ? ApiStyle::openai : ApiStyle::tei; }

std::string default_message(const httplib::Request& req, int status, size_t max_request_bytes) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 404: return "no endpoint " + req.method + " " + req.path;
    case 413:
      if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0)
        return "a form-encoded body is limited to 8192 bytes: send Content-Type: application/json";
      return "the request body is larger than the limit of " + std::to_string(max_request_bytes) + " bytes";
    case 414: return "the request target is too long";
    default: return "HTTP status " + std::to_string(status);
  }
}

// Splits seconds into whole seconds and microseconds.
std::pair<time_t, time_t> sec_usec(double seconds) {
  const double whole = std::floor(seconds);
  return {static_cast<time_t>(whole), static_cast<time_t>((seconds - whole) * 1e6)};
}

// Sends body (JSON) and then closes the connection. cpp-httplib 0.11 keeps a connection open unless
// the request asked to close it or writing the response failed; a response whose body was left
// unread must close, so the body goes out chunked, and after the last chunk the provider reports a
// failure: the client has the whole answer, and the server closes the connection.
void respond_and_close(httplib::Response& res, std::string body) {
  res.set_header("Connection", "close");
  auto provider = [body = std::move(body)](size_t offset, httplib::DataSink& sink) {
    if (offset == 0) sink.write(body.data(), body.size());
    sink.done();
    return false;
  };
  res.set_chunked_content_provider("application/json", std::move(provider));
}

// Requests refused before their body is read (then the connection closes, see respond_and_close):
// a chunked body (cpp-httplib would read it without a size limit), a Content-Length that is not a
// number, or one so large that reading and discarding it would only waste time. A body somewhat
// over the limit is read and discarded by cpp-httplib and answered 413 on a connection that stays
// usable, so that a client that sends it whole reliably reads the answer. 0: not refused.
int refuse_before_body(const httplib::Request& req, size_t max_bytes, std::string& message) {
  if (req.has_header("Transfer-Encoding")) {
    message = "send the body with a Content-Length (chunked request bodies are not accepted)";
    return 411;
  }
  if (!req.has_header("Content-Length")) return 0;
  const std::string v = req.get_header_value("Content-Length");
  errno = 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  const bool number = !v.empty() && *end == '\0' && errno != ERANGE && v[0] >= '0' && v[0] <= '9';
  const unsigned long long cap = max_bytes > (64ull << 20) / 16 ? (max_bytes > ~0ull / 16 ? ~0ull : 16ull * max_bytes)
                                                              : 64ull << 20;
  if (number && n <= cap) return 0;
  message = number ? "the request body is larger than the limit of " + std::to_string(max_bytes) + " bytes"
                   : "Content-Length is not a number";
  return number ? 413 : 400;
}

int per_session_threads(const ServeOptions& o) {
  if (o.threads > 0 || o.workers <= 1) return o.threads;
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  return std::max(1, cpus / static_cast<int>(o.workers));
}

}  // namespace

Server::Server(const ServeOptions& options) : options_(options), model_(options.model_path, options.verify_weights) {
  const bertrt_config& config = model_.config();
  const size_t model_limit = static_cast<size_t>(config.max_sequence_length);
  if (options_.max_input_length == 0) options_.max_input_length = model_limit;
  if (options_.max_input_length > model_limit)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--max-input-length " + std::to_string(options_.max_input_length) +
                                                   " is more than the model's limit of " + std::to_string(model_limit));
  try {
    tokenizer_ = std::make_unique<Tokenizer>(model_);
  } catch (const Error& e) {
    tokenizer_error_ = e.what();  // a model without a tokenizer serves token ids
  }
  BatcherConfig bc;
  bc.workers = options_.workers;
  bc.threads = per_session_threads(options_);
  bc.max_batch_tokens = options_.max_batch_tokens;
  bc.max_batch_size = options_.max_batch_size;
  bc.max_queue = options_.max_queue;
  batcher_ = std::make_unique<Batcher>(model_, bc, metrics_);
  ApiConfig ac{options_.model_id, options_.max_input_length, options_.max_client_batch_size, options_.max_batch_tokens};
  api_ = std::make_unique<Api>(model_, tokenizer_ ? tokenizer_->get() : nullptr, *batcher_, metrics_, ac);
  http_ = std::make_unique<HttpServer>();
  add_routes();
}

Server::~Server() {
  if (batcher_) batcher_->stop();
}

int Server::bind() {
  HttpServer& h = *http_;
  const size_t pool = options_.http_threads;
  h.new_task_queue = [pool] { return new httplib::ThreadPool(pool); };
  const bool reuse_port = options_.reuse_port;
  h.set_socket_options([reuse_port](socket_t fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes);
  });
  h.set_tcp_nodelay(true);
  h.set_payload_max_length(options_.max_request_bytes);
  h.set_keep_alive_max_count(1000);
  const auto [rs, ru] = sec_usec(options_.read_timeout);
  const auto [ws, wu] = sec_usec(options_.write_timeout);
  h.set_read_timeout(rs, ru);
  h.set_write_timeout(ws, wu);
  h.set_keep_alive_timeout(static_cast<time_t>(std::ceil(options_.keep_alive_timeout)));
  int port = options_.port;
  if (port == 0) port = h.bind_to_any_port(options_.host);
  else if (!h.bind_to_port(options_.host, port)) port = -1;
  if (port < 0) {
    throw Error(BERTRT_ERROR_IO, "cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                                     " (address in use, not local, or not permitted)");
  }
  if (!h.set_backlog(static_cast<int>(options_.backlog)))
    throw Error(BERTRT_ERROR_IO, "cannot set the listen backlog to " + std::to_string(options_.backlog));
  return port;
}

void Server::run() {
  if (!stop_requested_) http_->listen_after_bind();
  stopped_ = true;
  batcher_->stop();
}

void Server::stop() {
  if (stop_requested_.exchange(true)) return;
  // The HTTP server can only be stopped while it runs: wait for run() to start it, or to return.
  while (!stopped_) {
    if (http_->is_running()) {
      http_->stop();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

namespace {

// Runs an endpoint: its body or its error as JSON, the latency and in-flight metrics.
template <class Fn>
void respond(Metrics& metrics, const httplib::Request& req, httplib::Response& res, Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  metrics.begin_request(req.path);
  int status = 200;
  std::string body, message;
  try {
    body = fn();
  } catch (const HttpError& e) {
    status = e.status();
    message = e.what();
  } catch (const nlohmann::json::exception& e) {
    status = 400;
    message = std::string("bad request: ") + e.what();
  } catch (const std::bad_alloc&) {
    status = 503;
    message = "out of memory";
  } catch (const std::exception& e) {
    status = 500;
    message = std::string("internal error: ") + e.what();
  }
  if (status != 200) body = error_body(style_of(req.path), status, message);
  if (status == 429 || status == 503) res.set_header("Retry-After", "1");
  res.status = status;
  res.set_content(body, "application/json");
  metrics.end_request(req.path);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  metrics.observe_request_seconds(req.path, seconds);
}

}  // namespace

void Server::add_routes() {
  HttpServer& h = *http_;
  using Endpoint = std::string (Api::*)(const std::string&);
  auto post = [this, &h](const char* path, Endpoint fn) {
    h.Post(path, [this, fn](const httplib::Request& req, httplib::Response& res) {
      respond(metrics_, req, res, [&] { return (api_.get()->*fn)(req.body); });
    });
  };
  post("/v1/embeddings", &Api::openai_embeddings);
  post("/embed", &Api::embed);
  post("/embed_all", &Api::embed_all);
  post("/tokenize", &Api::tokenize);
  post("/lookup", &Api::lookup);
  post("/embed_vectors", &Api::embed_vectors);
  h.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    respond(metrics_, req, res, [&] { return api_->openai_models(); });
  });
  h.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
    respond(metrics_, req, res, [&] { return health(); });
  });
  h.Get("/info", [this](const httplib::Request& req, httplib::Response& res) {
    respond(metrics_, req, res, [&] { return info(); });
  });
  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(batcher_->gauges()), "text/plain; version=0.0.4; charset=utf-8");
  });
  const size_t max_bytes = options_.max_request_bytes;
  h.set_pre_routing_handler([max_bytes](const httplib::Request& req, httplib::Response& res) {
    std::string message;
    const int status = refuse_before_body(req, max_bytes, message);
    if (!status) return httplib::Server::HandlerResponse::Unhandled;
    res.status = status;
    respond_and_close(res, error_body(style_of(req.path), status, message));
    return httplib::Server::HandlerResponse::Handled;
  });
  h.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_bytes](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
        res.set_content(error_body(style_of(req.path), res.status, default_message(req, res.status, max_bytes)),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  h.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(error_body(style_of(req.path), 500, "internal error"), "application/json");
  });
  h.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.count_request(req.path, res.status);
  });
}

std::string Server::health() const { return "{\"status\":\"ok\"}"; }

std::string Server::info() const {
  const bertrt_config& c = model_.config();
  nlohmann::ordered_json j = {
      {"model_id", options_.model_id},
      {"version", bertrt_version()},
      {"family", c.family},
      {"model_dtype", c.weight_dtype},
      {"isa", bertrt_kernel_isa()},
      {"hidden_size", c.hidden_size},
      {"embedding_size", c.embedding_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"intermediate_size", c.intermediate_size},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"type_vocab_size", c.type_vocab_size},
      {"has_pooler", c.has_pooler != 0},
      {"default_pool", pool_mode_name(c.default_pool)},
      {"default_normalize", c.default_normalize != 0},
      {"tokenizer", tokenizer_ != nullptr},
      {"max_input_length", options_.max_input_length},
      {"max_batch_tokens", options_.max_batch_tokens},
      {"max_batch_size", options_.max_batch_size},
      {"max_client_batch_size", options_.max_client_batch_size},
      {"max_queue", options_.max_queue},
      {"max_request_bytes", options_.max_request_bytes},
      {"workers", options_.workers},
      {"threads_per_worker", per_session_threads(options_)},
      {"http_threads", options_.http_threads},
  };
  if (!tokenizer_) j["tokenizer_error"] = tokenizer_error_;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bertrt::serve
