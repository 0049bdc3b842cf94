// The endpoints: each takes a request body and returns the JSON response body, or throws
// HttpError. Embedding work goes through the batcher; /tokenize runs on the calling thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "bertrt/bertrt.hpp"
#include "serve/batcher.h"
#include "serve/inputs.h"
#include "serve/metrics.h"

namespace bertrt::serve {

struct ApiConfig {
  std::string model_id;
  size_t max_input_length = 0;  // tokens per input
  size_t max_client_batch_size = 0;
  size_t max_batch_tokens = 0;  // also the most tokens (rows x length) of one /embed_vectors request
};

class Api {
 public:
  // tokenizer may be null (a model without one: texts are refused, token ids work).
  Api(const Model& model, const bertrt_tokenizer* tokenizer, Batcher& batcher, Metrics& metrics, ApiConfig config);

  std::string openai_embeddings(const std::string& body);  // POST /v1/embeddings
  std::string openai_models() const;                       // GET /v1/models
  std::string embed(const std::string& body);              // POST /embed
  std::string embed_all(const std::string& body);          // POST /embed_all
  std::string tokenize(const std::string& body);           // POST /tokenize
  std::string lookup(const std::string& body);             // POST /lookup
  std::string embed_vectors(const std::string& body);      // POST /embed_vectors

 private:
  // Queues a job and waits for it: 429 when the queue is full; a failed job is failure_status
  // (a task's library error names the caller's mistake) or 500.
  void run(const std::shared_ptr<Job>& job, int failure_status);
  InputRules input_rules(bool truncate, bool add_special_tokens = true) const;

  const Model& model_;
  const bertrt_tokenizer* tokenizer_;
  Batcher& batcher_;
  Metrics& metrics_;
  ApiConfig config_;
};

}  // namespace bertrt::serve
