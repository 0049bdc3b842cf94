// The server's counters and histograms, rendered in the Prometheus text exposition format.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace bertrt::serve {

// A cumulative histogram over fixed upper bounds (plus +Inf). Not synchronised: Metrics locks.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the _bucket, _sum and _count lines of `name`; labels is "" or `key="value",...`.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

// What the queue holds right now (read when /metrics is rendered).
struct QueueGauges {
  size_t requests = 0;  // requests waiting, not yet fully handed to a worker
  size_t inputs = 0;    // their inputs not yet handed to a worker
};

class Metrics {
 public:
  Metrics();

  // The label for a request path: one of the served endpoints, else "other" (so that a client
  // cannot grow the label set).
  static std::string endpoint_label(const std::string& path);

  void count_request(const std::string& path, int status);
  void observe_request_seconds(const std::string& path, double seconds);
  // One forward pass: its rows (sequences), tokens and duration.
  void observe_batch(size_t rows, size_t tokens, double seconds);
  void observe_queue_wait(double seconds);
  // Input tokens of an answered request (the usage figure of /v1/embeddings).
  void add_input_tokens(size_t tokens);
  void add_rejected() { rejected_.fetch_add(1, std::memory_order_relaxed); }

  // Requests being handled now, by endpoint.
  void begin_request(const std::string& path);
  void end_request(const std::string& path);

  std::string render(const QueueGauges& queue) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
  std::map<std::string, Histogram> request_seconds_;          // endpoint -> latency
  Histogram batch_rows_, batch_tokens_hist_, batch_seconds_, queue_wait_;
  uint64_t batches_ = 0, batch_tokens_ = 0, input_tokens_ = 0;
  std::map<std::string, int64_t> in_flight_;  // endpoint -> requests being handled
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace bertrt::serve
