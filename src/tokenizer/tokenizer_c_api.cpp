// C API of the tokenizer (everything in bertrt.h's tokenizer section except
// bertrt_tokenizer_from_model, which lives with the model code).
#include "tokenizer/tokenizer_c_api.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace bertrt::core {

TokenizerConfig tokenizer_config_from_options(const bertrt_tokenizer_options* options) {
  TokenizerConfig config;
  if (options == nullptr) return config;
  if (options->strip_accents < -1 || options->strip_accents > 1) {
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
                "strip_accents must be -1, 0 or 1, not " + std::to_string(options->strip_accents));
  }
  config.do_lower_case = options->do_lower_case != 0;
  config.strip_accents = options->strip_accents;
  config.tokenize_chinese_chars = options->tokenize_chinese_chars != 0;
  return config;
}

}  // namespace bertrt::core

namespace {

void require(bool ok, const char* message) {
  if (!ok) throw bertrt::Error(BERTRT_ERROR_INVALID_ARGUMENT, message);
}

void check_truncation(bertrt_truncation truncation) {
  require(truncation == BERTRT_TRUNCATION_LONGEST_FIRST || truncation == BERTRT_TRUNCATION_ONLY_FIRST ||
              truncation == BERTRT_TRUNCATION_ONLY_SECOND,
          "unknown truncation strategy");
}

// Encodes every row of a C batch.
std::vector<bertrt::core::Encoding> encode_rows(const bertrt_tokenizer* tokenizer, const char* const* texts,
                                          const char* const* text_pairs, size_t batch, size_t max_length,
                                          bertrt_truncation truncation) {
  require(tokenizer != nullptr && tokenizer->impl != nullptr, "tokenizer is NULL");
  require(texts != nullptr, "texts is NULL");
  check_truncation(truncation);
  if (batch == 0) throw bertrt::Error(BERTRT_ERROR_SHAPE, "batch is 0");
  std::vector<bertrt::core::Encoding> rows;
  rows.reserve(batch);
  for (size_t i = 0; i < batch; ++i) {
    if (texts[i] == nullptr) {
      throw bertrt::Error(BERTRT_ERROR_INVALID_ARGUMENT, "texts[" + std::to_string(i) + "] is NULL");
    }
    std::string_view text(texts[i]);
    std::string_view pair;
    const bool has_pair = text_pairs != nullptr && text_pairs[i] != nullptr;
    if (has_pair) pair = std::string_view(text_pairs[i]);
    try {
      rows.push_back(tokenizer->impl->encode(text, has_pair ? &pair : nullptr, max_length, truncation));
    } catch (const bertrt::Error& e) {
      throw bertrt::Error(e.status(), "row " + std::to_string(i) + ": " + e.what());
    }
  }
  return rows;
}

}  // namespace

extern "C" {

BERTRT_API bertrt_status bertrt_tokenizer_from_vocab_file(const char* vocab_path, const bertrt_tokenizer_options* options,
                                                          bertrt_tokenizer** tokenizer_out) {
  return bertrt::guard_call([&] {
    require(tokenizer_out != nullptr, "tokenizer_out is NULL");
    *tokenizer_out = nullptr;
    require(vocab_path != nullptr, "vocab_path is NULL");
    bertrt::core::TokenizerConfig config = bertrt::core::tokenizer_config_from_options(options);
    auto tok = std::make_shared<const bertrt::core::Tokenizer>(bertrt::core::Tokenizer::from_vocab_file(vocab_path, config));
    *tokenizer_out = new bertrt_tokenizer{std::move(tok)};
  });
}

BERTRT_API bertrt_status bertrt_tokenizer_from_file(const char* path, bertrt_tokenizer** tokenizer_out) {
  return bertrt::guard_call([&] {
    require(tokenizer_out != nullptr, "tokenizer_out is NULL");
    *tokenizer_out = nullptr;
    require(path != nullptr, "path is NULL");
    auto tok = std::make_shared<const bertrt::core::Tokenizer>(bertrt::core::Tokenizer::from_file(path));
    *tokenizer_out = new bertrt_tokenizer{std::move(tok)};
  });
}

BERTRT_API bertrt_status bertrt_tokenizer_from_json(const char* json, size_t json_len, bertrt_tokenizer** tokenizer_out) {
  return bertrt::guard_call([&] {
    require(tokenizer_out != nullptr, "tokenizer_out is NULL");
    *tokenizer_out = nullptr;
    require(json != nullptr || json_len == 0, "json is NULL");
    std::string_view text(json_len == 0 ? "" : json, json_len);
    auto tok = std::make_shared<const bertrt::core::Tokenizer>(bertrt::core::Tokenizer::from_json(text));
    *tokenizer_out = new bertrt_tokenizer{std::move(tok)};
  });
}

BERTRT_API void bertrt_tokenizer_free(bertrt_tokenizer* tokenizer) { delete tokenizer; }

BERTRT_API size_t bertrt_tokenizer_vocab_size(const bertrt_tokenizer* tokenizer) {
  if (tokenizer == nullptr || tokenizer->impl == nullptr) return 0;
  return tokenizer->impl->vocab_size();
}

BERTRT_API int64_t bertrt_tokenizer_pad_id(const bertrt_tokenizer* tokenizer) {
  return tokenizer == nullptr || tokenizer->impl == nullptr ? -1 : tokenizer->impl->pad_id();
}
BERTRT_API int64_t bertrt_tokenizer_cls_id(const bertrt_tokenizer* tokenizer) {
  return tokenizer == nullptr || tokenizer->impl == nullptr ? -1 : tokenizer->impl->cls_id();
}
BERTRT_API int64_t bertrt_tokenizer_sep_id(const bertrt_tokenizer* tokenizer) {
  return tokenizer == nullptr || tokenizer->impl == nullptr ? -1 : tokenizer->impl->sep_id();
}
BERTRT_API int64_t bertrt_tokenizer_unk_id(const bertrt_tokenizer* tokenizer) {
  return tokenizer == nullptr || tokenizer->impl == nullptr ? -1 : tokenizer->impl->unk_id();
}

BERTRT_API const char* bertrt_tokenizer_id_to_token(const bertrt_tokenizer* tokenizer, int64_t id) {
  if (tokenizer == nullptr || tokenizer->impl == nullptr) return nullptr;
  return tokenizer->impl->id_to_token_cstr(id);
}

BERTRT_API bertrt_status bertrt_tokenizer_encode(const bertrt_tokenizer* tokenizer, const char* text, size_t text_len,
                                                 const char* text_pair, size_t text_pair_len, size_t max_length,
                                                 bertrt_truncation truncation, bertrt_encoding** encoding_out) {
  return bertrt::guard_call([&] {
    require(encoding_out != nullptr, "encoding_out is NULL");
    *encoding_out = nullptr;
    require(tokenizer != nullptr && tokenizer->impl != nullptr, "tokenizer is NULL");
    require(text != nullptr || text_len == 0, "text is NULL");
    check_truncation(truncation);
    std::string_view a(text_len == 0 ? "" : text, text_len);
    std::string_view b;
    if (text_pair != nullptr) b = std::string_view(text_pair, text_pair_len);
    auto* enc = new bertrt_encoding{
        tokenizer->impl->encode(a, text_pair != nullptr ? &b : nullptr, max_length, truncation), tokenizer->impl};
    *encoding_out = enc;
  });
}

BERTRT_API bertrt_status bertrt_tokenizer_encode_plain(const bertrt_tokenizer* tokenizer, const char* text,
                                                       size_t text_len, const char* text_pair, size_t text_pair_len,
                                                       size_t max_length, bertrt_truncation truncation,
                                                       bertrt_encoding** encoding_out) {
  return bertrt::guard_call([&] {
    require(encoding_out != nullptr, "encoding_out is NULL");
    *encoding_out = nullptr;
    require(tokenizer != nullptr && tokenizer->impl != nullptr, "tokenizer is NULL");
    require(text != nullptr || text_len == 0, "text is NULL");
    check_truncation(truncation);
    std::string_view a(text_len == 0 ? "" : text, text_len);
    std::string_view b;
    if (text_pair != nullptr) b = std::string_view(text_pair, text_pair_len);
    *encoding_out = new bertrt_encoding{
        tokenizer->impl->encode(a, text_pair != nullptr ? &b : nullptr, max_length, truncation, false), tokenizer->impl};
  });
}

BERTRT_API void bertrt_encoding_free(bertrt_encoding* encoding) { delete encoding; }

BERTRT_API size_t bertrt_encoding_length(const bertrt_encoding* encoding) {
  return encoding == nullptr ? 0 : encoding->impl.ids.size();
}
BERTRT_API const int64_t* bertrt_encoding_ids(const bertrt_encoding* encoding) {
  return encoding == nullptr ? nullptr : encoding->impl.ids.data();
}
BERTRT_API const int64_t* bertrt_encoding_token_type_ids(const bertrt_encoding* encoding) {
  return encoding == nullptr ? nullptr : encoding->impl.token_type_ids.data();
}
BERTRT_API const int64_t* bertrt_encoding_attention_mask(const bertrt_encoding* encoding) {
  return encoding == nullptr ? nullptr : encoding->impl.attention_mask.data();
}
BERTRT_API const int64_t* bertrt_encoding_offsets(const bertrt_encoding* encoding) {
  return encoding == nullptr ? nullptr : encoding->impl.offsets.data();
}
BERTRT_API const int64_t* bertrt_encoding_sequence_ids(const bertrt_encoding* encoding) {
  return encoding == nullptr ? nullptr : encoding->impl.sequence_ids.data();
}
BERTRT_API const char* bertrt_encoding_token(const bertrt_encoding* encoding, size_t index) {
  if (encoding == nullptr || encoding->tokenizer == nullptr || index >= encoding->impl.ids.size()) return nullptr;
  for (const auto& t : encoding->impl.token_texts) {
    if (t.index == index) return t.text.c_str();
  }
  return encoding->tokenizer->id_to_token_cstr(encoding->impl.ids[index]);
}

BERTRT_API bertrt_status bertrt_tokenizer_encode_batch_size(const bertrt_tokenizer* tokenizer, const char* const* texts,
                                                            const char* const* text_pairs, size_t batch, size_t max_length,
                                                            bertrt_truncation truncation, size_t pad_to,
                                                            size_t* padded_len_out) {
  return bertrt::guard_call([&] {
    require(padded_len_out != nullptr, "padded_len_out is NULL");
    *padded_len_out = 0;
    std::vector<bertrt::core::Encoding> rows = encode_rows(tokenizer, texts, text_pairs, batch, max_length, truncation);
    size_t longest = 0;
    for (const auto& r : rows) longest = std::max(longest, r.size());
    if (pad_to != 0 && longest > pad_to) {
      throw bertrt::Error(BERTRT_ERROR_SHAPE, "a row has " + std::to_string(longest) +
                                                  " tokens, more than pad_to " + std::to_string(pad_to));
    }
    *padded_len_out = pad_to != 0 ? pad_to : longest;
  });
}

BERTRT_API bertrt_status bertrt_tokenizer_encode_batch(const bertrt_tokenizer* tokenizer, const char* const* texts,
                                                       const char* const* text_pairs, size_t batch, size_t max_length,
                                                       bertrt_truncation truncation, size_t padded_len,
                                                       int64_t* input_ids_out, int64_t* token_type_ids_out,
                                                       int64_t* attention_mask_out) {
  return bertrt::guard_call([&] {
    require(input_ids_out != nullptr, "input_ids_out is NULL");
    if (padded_len == 0) throw bertrt::Error(BERTRT_ERROR_SHAPE, "padded_len is 0");
    std::vector<bertrt::core::Encoding> rows = encode_rows(tokenizer, texts, text_pairs, batch, max_length, truncation);
    // Validates every row before writing anything.
    bertrt::core::BatchEncoding padded = tokenizer->impl->pad(rows, padded_len);
    std::copy(padded.ids.begin(), padded.ids.end(), input_ids_out);
    if (token_type_ids_out != nullptr) {
      std::copy(padded.token_type_ids.begin(), padded.token_type_ids.end(), token_type_ids_out);
    }
    if (attention_mask_out != nullptr) {
      std::copy(padded.attention_mask.begin(), padded.attention_mask.end(), attention_mask_out);
    }
  });
}

}  // extern "C"
