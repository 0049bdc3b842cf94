// Pieces of the tokenizer loaders shared by tokenizer_json.cpp (tokenizer.json) and
// tokenizer_files.cpp (vocab.json + merges.txt, files and folders).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer_impl.h"

namespace bertrt::core {

// An integer of a tokenizer document (an id, a type id): BERTRT_ERROR_FORMAT when j is not a JSON
// integer (a float, a string, ...) or lies outside int64_t.
int64_t json_int(const nlohmann::json& j, const char* what);

// Parses JSON text; what names the text in the error (BERTRT_ERROR_FORMAT).
nlohmann::json parse_json(std::string_view text, const char* what);

// The vocabulary of a {token: id} object as id -> token, extended by the added tokens (an added
// token whose id is past the object's ids gets that id). Throws BERTRT_ERROR_FORMAT when ids are
// negative, repeated or leave gaps.
std::vector<std::string> vocab_from_object(const nlohmann::json& object, const std::vector<AddedToken>& added);

// A byte-level BPE tokenizer's state, without a template (no special tokens added).
std::unique_ptr<Tokenizer::Impl> make_bpe_impl(std::vector<std::string> vocab,
                                               const std::vector<std::pair<std::string, std::string>>& merges,
                                               int32_t unk, bool ignore_merges, std::vector<AddedToken> added);

// RobertaProcessing: "<s> A </s>" and "<s> A </s></s> B </s>", every type id 0.
void set_roberta_template(Tokenizer::Impl& m, int64_t cls, int64_t sep);
// No special tokens: "A" and "A B" (types 0 and 1).
void set_plain_template(Tokenizer::Impl& m);

// The whole contents of a file (BERTRT_ERROR_IO when it cannot be read).
std::string read_text_file(const std::string& path);

}  // namespace bertrt::core
