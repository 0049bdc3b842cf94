// Reading request bodies: JSON, typed fields, and the inputs of the embedding endpoints (a string,
// strings, token ids or lists of token ids), tokenized and checked against the server's limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "serve/json_out.h"

namespace bertrt::serve {

// How an endpoint reports bad input: `invalid` for wrong types, empty or out-of-range values
// (OpenAI: 400, text-embeddings-inference: 422), `too_large` for inputs past a limit (400 / 413).
struct Statuses {
  int invalid;
  int too_large;
};

// The body as a JSON object; 400 naming the problem when it is not valid JSON (invalid UTF-8
// included) or not an object.
nlohmann::json parse_body(const std::string& body);

// Optional typed fields: fallback when absent or null; `invalid` status when of another type.
bool bool_field(const nlohmann::json& body, const char* key, bool fallback, int invalid);
std::optional<std::string> string_field(const nlohmann::json& body, const char* key, int invalid);

// The inputs of a request: texts, or token id sequences (never both).
struct Inputs {
  std::vector<std::string> texts;
  std::vector<std::vector<int64_t>> ids;
  bool are_ids = false;
  size_t size() const { return are_ids ? ids.size() : texts.size(); }
};

// body[field]: a string, a non-empty list of strings, a list of token ids, or a list of lists of
// token ids. Empty strings and empty lists are errors, and so are more than max_items inputs.
Inputs parse_inputs(const nlohmann::json& body, const char* field, size_t max_items, Statuses statuses);

// What the model allows, and how texts become ids.
struct InputRules {
  size_t max_length;    // tokens per input, special tokens included
  int64_t vocab_size;
  bool truncate = false;            // cut inputs longer than max_length (else an error)
  bool add_special_tokens = true;   // texts get the tokenizer's template ([CLS] ... [SEP])
};

// Model inputs: texts tokenized, ids checked against the vocabulary. An input longer than
// max_length is cut when rules.truncate (ids: the first max_length kept), else an error.
// tokenizer may be null (then texts are an error). total_tokens_out receives the tokens of all
// inputs. `field` names the inputs in errors.
std::vector<std::vector<int64_t>> model_inputs(Inputs&& inputs, const bertrt_tokenizer* tokenizer,
                                               const InputRules& rules, Statuses statuses, const char* field,
                                               size_t* total_tokens_out);

// One text tokenized (add_special_tokens: the tokenizer's template), or a bertrt error.
bertrt_encoding* encode_text(const bertrt_tokenizer* tokenizer, const std::string& text, size_t max_length,
                             bool add_special_tokens);

}  // namespace bertrt::serve
