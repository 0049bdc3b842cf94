// /v1/embeddings, /v1/models, /embed, /embed_all and /tokenize.
#include <memory>
#include <nlohmann/json.hpp>

#include "serve/api.h"
#include "serve/inputs.h"
#include "serve/json_out.h"

namespace bertrt::serve {
namespace {

using nlohmann::json;

constexpr Statuses kOpenAi{400, 400};
constexpr Statuses kTei{422, 413};

struct EncodingFree {
  void operator()(bertrt_encoding* e) const { bertrt_encoding_free(e); }
};

}  // namespace

Api::Api(const Model& model, const bertrt_tokenizer* tokenizer, Batcher& batcher, Metrics& metrics, ApiConfig config)
    : model_(model), tokenizer_(tokenizer), batcher_(batcher), metrics_(metrics), config_(std::move(config)) {}

InputRules Api::input_rules(bool truncate, bool add_special_tokens) const {
  return InputRules{config_.max_input_length, model_.config().vocab_size, truncate, add_special_tokens};
}

void Api::run(const std::shared_ptr<Job>& job, int failure_status) {
  if (!batcher_.submit(job)) {
    metrics_.add_rejected();
    throw HttpError(429, "the server is busy: its queue is full; retry later");
  }
  job->wait();
  if (job->failed()) {
    if (job->error_status() == BERTRT_ERROR_OUT_OF_MEMORY) throw HttpError(503, "out of memory: " + job->error());
    throw HttpError(failure_status, job->error());
  }
}

std::string Api::openai_embeddings(const std::string& body) {
  const json req = parse_body(body);
  const std::string format = string_field(req, "encoding_format", 400).value_or("float");
  if (format != "float" && format != "base64")
    throw HttpError(400, "encoding_format must be \"float\" or \"base64\", not " + json_string(format));
  const size_t H = model_.hidden_size();
  if (const auto it = req.find("dimensions"); it != req.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() != static_cast<int64_t>(H))
      throw HttpError(400, "dimensions must be the model's hidden size, " + std::to_string(H) +
                               " (this model cannot shorten its vectors)");
  }
  const std::string model_name = string_field(req, "model", 400).value_or(config_.model_id);
  const InputRules rules = input_rules(bool_field(req, "truncate", false, 400));
  size_t tokens = 0;
  Inputs in = parse_inputs(req, "input", config_.max_client_batch_size, kOpenAi);
  OutputSpec spec;
  spec.pool = model_.config().default_pool;
  spec.normalize = model_.config().default_normalize != 0;
  auto job = std::make_shared<Job>(model_inputs(std::move(in), tokenizer_, rules, kOpenAi, "input", &tokens), spec);
  run(job, 500);
  metrics_.add_input_tokens(tokens);

  std::string out = "{\"object\":\"list\",\"data\":[";
  const auto& results = job->results();
  for (size_t i = 0; i < results.size(); ++i) {
    if (i) out += ',';
    out += "{\"object\":\"embedding\",\"index\":" + std::to_string(i) + ",\"embedding\":";
    if (format == "base64") {
      out += '"';
      out += base64_floats(results[i].data(), H);
      out += '"';
    } else {
      append_floats(out, results[i].data(), H);
    }
    out += '}';
  }
  out += "],\"model\":" + json_string(model_name) + ",\"usage\":{\"prompt_tokens\":" + std::to_string(tokens) +
         ",\"total_tokens\":" + std::to_string(tokens) + "}}";
  return out;
}

std::string Api::openai_models() const {
  return "{\"object\":\"list\",\"data\":[{\"id\":" + json_string(config_.model_id) +
         ",\"object\":\"model\",\"created\":0,\"owned_by\":\"bertrt\"}]}";
}

std::string Api::embed(const std::string& body) {
  const json req = parse_body(body);
  const bool normalize = bool_field(req, "normalize", true, 422);
  const InputRules rules = input_rules(bool_field(req, "truncate", false, 422));
  if (const auto dir = string_field(req, "truncation_direction", 422); dir && *dir != "right" && *dir != "Right")
    throw HttpError(422, "truncation_direction " + json_string(*dir) + " is not supported (only \"right\")");
  size_t tokens = 0;
  Inputs in = parse_inputs(req, "inputs", config_.max_client_batch_size, kTei);
  OutputSpec spec;
  spec.pool = model_.config().default_pool;
  spec.normalize = normalize;
  auto job = std::make_shared<Job>(model_inputs(std::move(in), tokenizer_, rules, kTei, "inputs", &tokens), spec);
  run(job, 500);
  metrics_.add_input_tokens(tokens);
  std::string out = "[";
  const size_t H = model_.hidden_size();
  for (size_t i = 0; i < job->results().size(); ++i) {
    if (i) out += ',';
    append_floats(out, job->results()[i].data(), H);
  }
  return out + "]";
}

std::string Api::embed_all(const std::string& body) {
  const json req = parse_body(body);
  const InputRules rules = input_rules(bool_field(req, "truncate", false, 422));
  size_t tokens = 0;
  Inputs in = parse_inputs(req, "inputs", config_.max_client_batch_size, kTei);
  OutputSpec spec;
  spec.tokens = true;
  auto job = std::make_shared<Job>(model_inputs(std::move(in), tokenizer_, rules, kTei, "inputs", &tokens), spec);
  run(job, 500);
  metrics_.add_input_tokens(tokens);
  std::string out = "[";
  const size_t H = model_.hidden_size();
  for (size_t i = 0; i < job->results().size(); ++i) {
    if (i) out += ',';
    append_float_rows(out, job->results()[i].data(), job->inputs()[i].size(), H);
  }
  return out + "]";
}

std::string Api::tokenize(const std::string& body) {
  const json req = parse_body(body);
  const bool special = bool_field(req, "add_special_tokens", true, 422);
  const Inputs in = parse_inputs(req, "inputs", config_.max_client_batch_size, kTei);
  if (in.are_ids) throw HttpError(422, "inputs must be a string or a list of strings");
  if (!tokenizer_) throw HttpError(422, "this model holds no tokenizer");
  std::string out = "[";
  for (size_t i = 0; i < in.texts.size(); ++i) {
    std::unique_ptr<bertrt_encoding, EncodingFree> e;
    try {
      e.reset(encode_text(tokenizer_, in.texts[i], 0, special));
    } catch (const Error& err) {
      throw HttpError(422, "inputs[" + std::to_string(i) + "]: " + err.what());
    }
    const size_t n = bertrt_encoding_length(e.get());
    const int64_t* ids = bertrt_encoding_ids(e.get());
    const int64_t* offsets = bertrt_encoding_offsets(e.get());
    const int64_t* seq = bertrt_encoding_sequence_ids(e.get());
    out += i ? ",[" : "[";
    for (size_t t = 0; t < n; ++t) {
      const bool is_special = seq[t] < 0;
      out += t ? ",{" : "{";
      out += "\"id\":" + std::to_string(ids[t]) + ",\"text\":" + json_string(bertrt_encoding_token(e.get(), t)) +
             ",\"special\":" + (is_special ? "true" : "false");
      if (is_special) out += ",\"start\":null,\"stop\":null}";
      else
        out += ",\"start\":" + std::to_string(offsets[2 * t]) + ",\"stop\":" + std::to_string(offsets[2 * t + 1]) + "}";
    }
    out += ']';
  }
  return out + "]";
}

}  // namespace bertrt::serve
