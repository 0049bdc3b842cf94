#include "serve/inputs.h"

#include <memory>

namespace bertrt::serve {
namespace {

using nlohmann::json;

struct EncodingFree {
  void operator()(bertrt_encoding* e) const { bertrt_encoding_free(e); }
};

const char* type_name(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return "null";
}

std::string where(const char* field, size_t i) { return std::string(field) + "[" + std::to_string(i) + "]"; }

// A token id: a JSON integer (not 1.0, not true). Range is checked with the vocabulary later.
int64_t token_id(const json& v, const std::string& at, int invalid) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(u);
    throw HttpError(invalid, at + ": token id " + std::to_string(u) + " is out of range");
  }
  throw HttpError(invalid, at + ": expected an integer token id, got " + type_name(v));
}

std::vector<int64_t> id_list(const json& list, const std::string& at, int invalid) {
  if (list.empty()) throw HttpError(invalid, at + " is an empty list of token ids");
  std::vector<int64_t> ids;
  ids.reserve(list.size());
  for (size_t j = 0; j < list.size(); ++j)
    ids.push_back(token_id(list[j], at + "[" + std::to_string(j) + "]", invalid));
  return ids;
}

}  // namespace

json parse_body(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e400
    throw HttpError(400, std::string("the body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw HttpError(400, std::string("the body must be a JSON object, not ") + type_name(j));
  return j;
}

bool bool_field(const json& body, const char* key, bool fallback, int invalid) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw HttpError(invalid, std::string(key) + " must be a boolean, not " + type_name(*it));
  return it->get<bool>();
}

std::optional<std::string> string_field(const json& body, const char* key, int invalid) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw HttpError(invalid, std::string(key) + " must be a string, not " + type_name(*it));
  return it->get<std::string>();
}

Inputs parse_inputs(const json& body, const char* field, size_t max_items, Statuses st) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) throw HttpError(st.invalid, std::string("missing field \"") + field + "\"");
  const json& v = *it;
  Inputs in;
  if (v.is_string()) {
    in.texts.push_back(v.get<std::string>());
  } else if (!v.is_array()) {
    throw HttpError(st.invalid, std::string(field) +
                                    " must be a string, a list of strings, a list of token ids or a list of lists "
                                    "of token ids, not " + type_name(v));
  } else if (v.empty()) {
    throw HttpError(st.invalid, std::string(field) + " is an empty list");
  } else if (v[0].is_number()) {
    in.are_ids = true;
    in.ids.push_back(id_list(v, field, st.invalid));
  } else if (v[0].is_array()) {
    in.are_ids = true;
    if (v.size() > max_items) {
      throw HttpError(st.too_large, std::string(field) + " holds " + std::to_string(v.size()) +
                                        " inputs; at most " + std::to_string(max_items) + " are allowed");
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_array())
        throw HttpError(st.invalid, where(field, i) + ": expected a list of token ids, got " + type_name(v[i]));
      in.ids.push_back(id_list(v[i], where(field, i), st.invalid));
    }
  } else {
    if (v.size() > max_items) {
      throw HttpError(st.too_large, std::string(field) + " holds " + std::to_string(v.size()) +
                                        " inputs; at most " + std::to_string(max_items) + " are allowed");
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string())
        throw HttpError(st.invalid, where(field, i) + ": expected a string, got " + type_name(v[i]));
      in.texts.push_back(v[i].get<std::string>());
    }
  }
  for (size_t i = 0; i < in.texts.size(); ++i) {
    if (in.texts[i].empty())
      throw HttpError(st.invalid, (v.is_string() ? std::string(field) : where(field, i)) + " is an empty string");
  }
  return in;
}

bertrt_encoding* encode_text(const bertrt_tokenizer* tokenizer, const std::string& text, size_t max_length,
                             bool add_special_tokens) {
  bertrt_encoding* e = nullptr;
  auto* fn = add_special_tokens ? bertrt_tokenizer_encode : bertrt_tokenizer_encode_plain;
  check(fn(tokenizer, text.data(), text.size(), nullptr, 0, max_length, BERTRT_TRUNCATION_LONGEST_FIRST, &e));
  return e;
}

std::vector<std::vector<int64_t>> model_inputs(Inputs&& in, const bertrt_tokenizer* tokenizer,
                                               const InputRules& limits, Statuses st, const char* field,
                                               size_t* total_tokens_out) {
  const bool truncate = limits.truncate;
  std::vector<std::vector<int64_t>> out;
  const size_t n = in.size();
  const bool single = n == 1;
  auto at = [&](size_t i) { return single ? std::string(field) : where(field, i); };
  auto too_long = [&](size_t i, size_t len) {
    return HttpError(st.too_large, at(i) + " has " + std::to_string(len) + " tokens, more than the limit of " +
                                       std::to_string(limits.max_length) + " (\"truncate\": true cuts it)");
  };
  size_t total = 0;
  if (in.are_ids) {
    out = std::move(in.ids);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < out[i].size(); ++j) {
        const int64_t id = out[i][j];
        if (id < 0 || id >= limits.vocab_size)
          throw HttpError(st.invalid, at(i) + "[" + std::to_string(j) + "]: token id " + std::to_string(id) +
                                          " is outside the vocabulary [0, " + std::to_string(limits.vocab_size) + ")");
      }
      if (out[i].size() > limits.max_length) {
        if (!truncate) throw too_long(i, out[i].size());
        out[i].resize(limits.max_length);
      }
      total += out[i].size();
    }
  } else {
    if (!tokenizer) throw HttpError(st.invalid, "this model holds no tokenizer: give token ids instead of texts");
    out.resize(n);
    for (size_t i = 0; i < n; ++i) {
      std::unique_ptr<bertrt_encoding, EncodingFree> e;
      try {
        e.reset(encode_text(tokenizer, in.texts[i], 0, limits.add_special_tokens));
        if (bertrt_encoding_length(e.get()) > limits.max_length) {
          if (!truncate) throw too_long(i, bertrt_encoding_length(e.get()));
          e.reset(encode_text(tokenizer, in.texts[i], limits.max_length, limits.add_special_tokens));
        }
      } catch (const Error& err) {
        throw HttpError(st.invalid, at(i) + ": " + err.what());
      }
      const int64_t* ids = bertrt_encoding_ids(e.get());
      out[i].assign(ids, ids + bertrt_encoding_length(e.get()));
      if (out[i].empty()) throw HttpError(st.invalid, at(i) + " has no tokens");
      total += out[i].size();
    }
  }
  if (total_tokens_out) *total_tokens_out = total;
  return out;
}

}  // namespace bertrt::serve
