#include "serve/metrics.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace bertrt::serve {
namespace {

const std::vector<double> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1.0,   2.5,  5.0,   10.0, 30.0};
const std::vector<double> kRowBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
const std::vector<double> kTokenBounds = {16, 64, 256, 1024, 4096, 16384, 65536, 262144};

const std::array<const char*, 10> kEndpoints = {"/v1/embeddings", "/v1/models", "/embed",  "/embed_all",
                                                "/tokenize",      "/lookup",    "/embed_vectors",
                                                "/health",        "/info",      "/metrics"};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, double value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += number(value);
  out += '\n';
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum" + (labels.empty() ? "" : "{" + labels + "}") + " " + number(sum_) + "\n";
  out += name + "_count" + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : batch_rows_(kRowBounds), batch_tokens_hist_(kTokenBounds), batch_seconds_(kLatencyBounds),
      queue_wait_(kLatencyBounds) {}

std::string Metrics::endpoint_label(const std::string& path) {
  for (const char* e : kEndpoints)
    if (path == e) return e;
  return "other";
}

void Metrics::count_request(const std::string& path, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint_label(path), status}];
}

void Metrics::begin_request(const std::string& path) {
  const std::string label = endpoint_label(path);
  std::lock_guard lock(mutex_);
  ++in_flight_[label];
}

void Metrics::end_request(const std::string& path) {
  const std::string label = endpoint_label(path);
  std::lock_guard lock(mutex_);
  --in_flight_[label];
}

void Metrics::observe_request_seconds(const std::string& path, double seconds) {
  const std::string label = endpoint_label(path);
  std::lock_guard lock(mutex_);
  request_seconds_.try_emplace(label, kLatencyBounds).first->second.observe(seconds);
}

void Metrics::observe_batch(size_t rows, size_t tokens, double seconds) {
  std::lock_guard lock(mutex_);
  batch_rows_.observe(static_cast<double>(rows));
  batch_tokens_hist_.observe(static_cast<double>(tokens));
  batch_seconds_.observe(seconds);
  ++batches_;
  batch_tokens_ += tokens;
}

void Metrics::observe_queue_wait(double seconds) {
  std::lock_guard lock(mutex_);
  queue_wait_.observe(seconds);
}

void Metrics::add_input_tokens(size_t tokens) {
  std::lock_guard lock(mutex_);
  input_tokens_ += tokens;
}

std::string Metrics::render(const QueueGauges& queue) const {
  std::string out;
  std::lock_guard lock(mutex_);
  header(out, "bertrt_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
  for (const auto& [key, count] : requests_)
    sample(out, "bertrt_requests_total", "endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"",
           static_cast<double>(count));
  header(out, "bertrt_request_duration_seconds", "histogram", "Time from routing to the response, by endpoint.");
  for (const auto& [endpoint, h] : request_seconds_)
    h.render(out, "bertrt_request_duration_seconds", "endpoint=\"" + endpoint + "\"");
  header(out, "bertrt_requests_in_flight", "gauge", "Requests being handled now, by endpoint.");
  for (const auto& [endpoint, n] : in_flight_)
    sample(out, "bertrt_requests_in_flight", "endpoint=\"" + endpoint + "\"", static_cast<double>(n));
  header(out, "bertrt_queue_requests", "gauge", "Requests waiting for a worker.");
  sample(out, "bertrt_queue_requests", "", static_cast<double>(queue.requests));
  header(out, "bertrt_queue_inputs", "gauge", "Inputs of those requests not yet handed to a worker.");
  sample(out, "bertrt_queue_inputs", "", static_cast<double>(queue.inputs));
  header(out, "bertrt_queue_rejected_total", "counter", "Requests refused with 429 because the queue was full.");
  sample(out, "bertrt_queue_rejected_total", "", static_cast<double>(rejected_.load(std::memory_order_relaxed)));
  header(out, "bertrt_queue_wait_seconds", "histogram", "Time a request waited before a worker took its first input.");
  queue_wait_.render(out, "bertrt_queue_wait_seconds", "");
  header(out, "bertrt_batches_total", "counter", "Forward passes run.");
  sample(out, "bertrt_batches_total", "", static_cast<double>(batches_));
  header(out, "bertrt_batch_rows", "histogram", "Sequences per forward pass.");
  batch_rows_.render(out, "bertrt_batch_rows", "");
  header(out, "bertrt_batch_tokens", "histogram", "Tokens per forward pass (batches are packed: no padding is computed).");
  batch_tokens_hist_.render(out, "bertrt_batch_tokens", "");
  header(out, "bertrt_batch_duration_seconds", "histogram", "Time of one forward pass and its pooling.");
  batch_seconds_.render(out, "bertrt_batch_duration_seconds", "");
  header(out, "bertrt_batch_tokens_total", "counter", "Tokens run through the encoder.");
  sample(out, "bertrt_batch_tokens_total", "", static_cast<double>(batch_tokens_));
  header(out, "bertrt_input_tokens_total", "counter", "Tokens of the inputs of answered embedding requests.");
  sample(out, "bertrt_input_tokens_total", "", static_cast<double>(input_tokens_));
  return out;
}

}  // namespace bertrt::serve
