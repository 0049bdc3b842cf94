// The staged workflow over HTTP: /lookup (ids or texts -> word vectors) and /embed_vectors (the
// caller's vectors -> the rest of the model). Each request runs alone on a worker's session.
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "serve/api.h"
#include "serve/inputs.h"
#include "serve/json_out.h"

namespace bertrt::serve {
namespace {

using nlohmann::json;

constexpr Statuses kTei{422, 413};

// A [B, T] (or [T], B = 1) integer tensor from the request, or empty when absent.
std::vector<int64_t> int_tensor(const json& req, const char* key, size_t B, size_t T, bool batched) {
  const auto it = req.find(key);
  if (it == req.end() || it->is_null()) return {};
  std::vector<int64_t> out;
  out.reserve(B * T);
  auto row = [&](const json& r, const std::string& at) {
    if (!r.is_array() || r.size() != T)
      throw HttpError(422, at + " must be a list of " + std::to_string(T) + " integers (one per token)");
    for (const json& v : r) {
      if (!v.is_number_integer()) throw HttpError(422, at + " must hold integers");
      out.push_back(v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                        ? std::numeric_limits<int64_t>::max()
                        : v.get<int64_t>());
    }
  };
  if (!batched) {
    row(*it, key);
    return out;
  }
  if (!it->is_array() || it->size() != B)
    throw HttpError(422, std::string(key) + " must be a list of " + std::to_string(B) + " rows, as inputs_embeds");
  for (size_t b = 0; b < B; ++b) row((*it)[b], std::string(key) + "[" + std::to_string(b) + "]");
  return out;
}

struct Vectors {
  size_t B = 0, T = 0;
  bool batched = false;
  std::vector<float> data;  // [B, T, E]
};

// inputs_embeds as [B][T][E] or [T][E] numbers, each finite as a float32.
Vectors parse_vectors(const json& req, size_t E, size_t max_rows, size_t max_length, size_t max_tokens) {
  const auto it = req.find("inputs_embeds");
  if (it == req.end() || it->is_null()) throw HttpError(422, "missing field \"inputs_embeds\"");
  const json& v = *it;
  if (!v.is_array() || v.empty() || !v[0].is_array() || v[0].empty())
    throw HttpError(422, "inputs_embeds must be a non-empty [T][E] or [B][T][E] list of numbers");
  Vectors out;
  out.batched = v[0][0].is_array();
  out.B = out.batched ? v.size() : 1;
  out.T = out.batched ? v[0].size() : v.size();
  if (out.B > max_rows) throw HttpError(413, "inputs_embeds holds " + std::to_string(out.B) + " rows; at most " +
                                                 std::to_string(max_rows) + " are allowed");
  if (out.T > max_length) throw HttpError(413, "inputs_embeds rows hold " + std::to_string(out.T) +
                                                   " tokens, more than the limit of " + std::to_string(max_length));
  if (out.B * out.T > max_tokens) {
    throw HttpError(413, "inputs_embeds holds " + std::to_string(out.B * out.T) + " tokens, more than the limit of " +
                             std::to_string(max_tokens));
  }
  out.data.reserve(out.B * out.T * E);
  for (size_t b = 0; b < out.B; ++b) {
    const json& rows = out.batched ? v[b] : v;
    const std::string at = out.batched ? "inputs_embeds[" + std::to_string(b) + "]" : "inputs_embeds";
    if (!rows.is_array() || rows.size() != out.T)
      throw HttpError(422, at + " must hold " + std::to_string(out.T) + " vectors, as the first row (pad with an "
                                                                          "attention_mask of 0)");
    for (size_t t = 0; t < out.T; ++t) {
      const json& vec = rows[t];
      if (!vec.is_array() || vec.size() != E)
        throw HttpError(422, at + "[" + std::to_string(t) + "] must be a list of " + std::to_string(E) + " numbers");
      for (const json& x : vec) {
        if (!x.is_number()) throw HttpError(422, at + "[" + std::to_string(t) + "] must hold numbers");
        const float f = static_cast<float>(x.get<double>());
        if (!std::isfinite(f)) throw HttpError(422, at + "[" + std::to_string(t) + "] holds a value outside float32");
        out.data.push_back(f);
      }
    }
  }
  return out;
}

// The outputs /embed_vectors asks for: "pooled" and/or "last_hidden_state".
void parse_outputs(const json& req, bool& pooled, bool& last) {
  pooled = true;
  last = false;
  const auto it = req.find("output");
  if (it == req.end() || it->is_null()) return;
  std::vector<json> names = it->is_array() ? std::vector<json>(it->begin(), it->end()) : std::vector<json>{*it};
  pooled = false;
  for (const json& n : names) {
    if (n == "pooled") pooled = true;
    else if (n == "last_hidden_state") last = true;
    else throw HttpError(422, "output must be \"pooled\", \"last_hidden_state\" or a list of them");
  }
  if (!pooled && !last) throw HttpError(422, "output is an empty list");
}

}  // namespace

std::string Api::lookup(const std::string& body) {
  const json req = parse_body(body);
  const InputRules rules =
      input_rules(bool_field(req, "truncate", false, 422), bool_field(req, "add_special_tokens", true, 422));
  Inputs in = parse_inputs(req, "inputs", config_.max_client_batch_size, kTei);
  const std::vector<std::vector<int64_t>> ids = model_inputs(std::move(in), tokenizer_, rules, kTei, "inputs", nullptr);
  const size_t E = static_cast<size_t>(model_.config().embedding_size);
  std::vector<std::vector<float>> vectors(ids.size());
  auto job = std::make_shared<Job>([&](Session& session) {
    for (size_t i = 0; i < ids.size(); ++i) {
      vectors[i].resize(ids[i].size() * E);
      session.lookup(ids[i], 1, ids[i].size(), vectors[i]);
    }
  });
  run(job, 422);
  std::string out = "{\"embedding_size\":" + std::to_string(E) + ",\"data\":[";
  for (size_t i = 0; i < ids.size(); ++i) {
    out += i ? ",{\"input_ids\":" : "{\"input_ids\":";
    append_ints(out, ids[i].data(), ids[i].size());
    out += ",\"inputs_embeds\":";
    append_float_rows(out, vectors[i].data(), ids[i].size(), E);
    out += '}';
  }
  return out + "]}";
}

std::string Api::embed_vectors(const std::string& body) {
  const json req = parse_body(body);
  const bertrt_config& config = model_.config();
  const size_t E = static_cast<size_t>(config.embedding_size), H = model_.hidden_size();
  bool want_pooled = true, want_last = false;
  parse_outputs(req, want_pooled, want_last);
  bertrt_pool_mode pool = config.default_pool;
  if (const auto name = string_field(req, "pool", 422)) {
    if (bertrt_pool_mode_from_name(name->c_str(), &pool) != BERTRT_OK) throw HttpError(422, bertrt_last_error());
  }
  const bool normalize = bool_field(req, "normalize", config.default_normalize != 0, 422);
  const Vectors v =
      parse_vectors(req, E, config_.max_client_batch_size, config_.max_input_length, config_.max_batch_tokens);
  const std::vector<int64_t> mask = int_tensor(req, "attention_mask", v.B, v.T, v.batched);
  const std::vector<int64_t> types = int_tensor(req, "token_type_ids", v.B, v.T, v.batched);
  const std::vector<int64_t> positions = int_tensor(req, "position_ids", v.B, v.T, v.batched);
  std::vector<float> last(v.B * v.T * H), pooled(want_pooled ? v.B * H : 0);
  auto job = std::make_shared<Job>([&](Session& session) {
    bertrt_forward_inputs fin{};
    fin.inputs_embeds = v.data.data();
    fin.attention_mask = mask.empty() ? nullptr : mask.data();
    fin.token_type_ids = types.empty() ? nullptr : types.data();
    fin.position_ids = positions.empty() ? nullptr : positions.data();
    fin.batch = v.B;
    fin.seq_len = v.T;
    bertrt_forward_outputs fout{};
    fout.last_hidden_state = last.data();
    session.forward(fin, fout);
    if (want_pooled) session.pool(last, mask, v.B, v.T, pool, normalize, pooled);
  });
  run(job, 422);
  std::string out = "{";
  if (want_pooled) {
    out += "\"pooled\":";
    append_float_rows(out, pooled.data(), v.B, H);
  }
  if (want_last) {
    out += want_pooled ? ",\"last_hidden_state\":[" : "\"last_hidden_state\":[";
    for (size_t b = 0; b < v.B; ++b) {
      if (b) out += ',';
      append_float_rows(out, last.data() + b * v.T * H, v.T, H);
    }
    out += ']';
  }
  return out + "}";
}

}  // namespace bertrt::serve
