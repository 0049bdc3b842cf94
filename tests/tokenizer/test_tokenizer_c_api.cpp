// The tokenizer section of the C API.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bertrt/bertrt.h"
#include "tokenizer_test_util.h"

namespace {
std::string vocab_path(const char* name) { return bertrt_test::data_path(std::string("vocab/") + name + "/vocab.txt"); }
}  // namespace

TEST_CASE("C API: tokenizer from a vocab file, encode, accessors") {
  bertrt_tokenizer* tok = nullptr;
  REQUIRE(bertrt_tokenizer_from_vocab_file(vocab_path("bert-base-uncased").c_str(), nullptr, &tok) == BERTRT_OK);
  REQUIRE(tok != nullptr);
  CHECK(bertrt_tokenizer_vocab_size(tok) == 30522);
  CHECK(std::string(bertrt_tokenizer_id_to_token(tok, 7592)) == "hello");
  CHECK(bertrt_tokenizer_id_to_token(tok, 30522) == nullptr);
  CHECK(bertrt_tokenizer_id_to_token(tok, -1) == nullptr);
  CHECK(bertrt_tokenizer_id_to_token(nullptr, 0) == nullptr);
  CHECK(bertrt_tokenizer_vocab_size(nullptr) == 0);

  const char* text = "Hello, my dog is cute";
  bertrt_encoding* enc = nullptr;
  REQUIRE(bertrt_tokenizer_encode(tok, text, std::strlen(text), nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, &enc) ==
          BERTRT_OK);
  REQUIRE(bertrt_encoding_length(enc) == 8);
  std::vector<int64_t> ids(bertrt_encoding_ids(enc), bertrt_encoding_ids(enc) + 8);
  CHECK(ids == std::vector<int64_t>{101, 7592, 1010, 2026, 3899, 2003, 10140, 102});
  const int64_t* off = bertrt_encoding_offsets(enc);
  CHECK(off[2] == 0);
  CHECK(off[3] == 5);
  CHECK(bertrt_encoding_sequence_ids(enc)[0] == -1);
  CHECK(bertrt_encoding_sequence_ids(enc)[1] == 0);
  CHECK(bertrt_encoding_attention_mask(enc)[7] == 1);
  CHECK(bertrt_encoding_token_type_ids(enc)[7] == 0);
  bertrt_encoding_free(enc);

  // Pair with truncation.
  const char* second = "The quick brown fox";
  REQUIRE(bertrt_tokenizer_encode(tok, text, std::strlen(text), second, std::strlen(second), 8,
                                  BERTRT_TRUNCATION_LONGEST_FIRST, &enc) == BERTRT_OK);
  CHECK(bertrt_encoding_length(enc) == 8);
  CHECK(bertrt_encoding_token_type_ids(enc)[7] == 1);
  bertrt_encoding_free(enc);

  // Lengths are in bytes: embedded NUL is text (and removed by cleaning).
  const char nul_text[] = {'d', 'o', '\0', 'g'};
  REQUIRE(bertrt_tokenizer_encode(tok, nul_text, 4, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, &enc) == BERTRT_OK);
  CHECK(bertrt_encoding_length(enc) == 3);
  CHECK(bertrt_encoding_ids(enc)[1] == 3899);
  bertrt_encoding_free(enc);

  // Empty text, NULL with length 0.
  REQUIRE(bertrt_tokenizer_encode(tok, nullptr, 0, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, &enc) == BERTRT_OK);
  CHECK(bertrt_encoding_length(enc) == 2);
  bertrt_encoding_free(enc);

  CHECK(bertrt_encoding_length(nullptr) == 0);
  CHECK(bertrt_encoding_ids(nullptr) == nullptr);
  bertrt_encoding_free(nullptr);
  bertrt_tokenizer_free(tok);
  bertrt_tokenizer_free(nullptr);
}

TEST_CASE("C API: errors") {
  bertrt_tokenizer* tok = nullptr;
  CHECK(bertrt_tokenizer_from_vocab_file("/nonexistent/vocab.txt", nullptr, &tok) == BERTRT_ERROR_IO);
  CHECK(tok == nullptr);
  CHECK(std::string(bertrt_last_error()).find("/nonexistent/vocab.txt") != std::string::npos);
  CHECK(bertrt_tokenizer_from_vocab_file(nullptr, nullptr, &tok) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_tokenizer_from_vocab_file(vocab_path("bert-base-cased").c_str(), nullptr, nullptr) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  bertrt_tokenizer_options bad{1, 5, 1};
  CHECK(bertrt_tokenizer_from_vocab_file(vocab_path("bert-base-cased").c_str(), &bad, &tok) ==
        BERTRT_ERROR_INVALID_ARGUMENT);

  bertrt_tokenizer_options cased{0, -1, 1};
  REQUIRE(bertrt_tokenizer_from_vocab_file(vocab_path("bert-base-cased").c_str(), &cased, &tok) == BERTRT_OK);
  bertrt_encoding* enc = nullptr;
  const char* bad_text = "Hello \xC3\x28";
  CHECK(bertrt_tokenizer_encode(tok, bad_text, std::strlen(bad_text), nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST,
                                &enc) == BERTRT_ERROR_INVALID_UTF8);
  CHECK(enc == nullptr);
  CHECK(std::string(bertrt_last_error()).find("byte offset 6") != std::string::npos);
  CHECK(bertrt_tokenizer_encode(tok, "a", 1, bad_text, std::strlen(bad_text), 0, BERTRT_TRUNCATION_LONGEST_FIRST,
                                &enc) == BERTRT_ERROR_INVALID_UTF8);
  CHECK(std::string(bertrt_last_error()).find("text_pair") != std::string::npos);
  CHECK(bertrt_tokenizer_encode(nullptr, "a", 1, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, &enc) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_tokenizer_encode(tok, nullptr, 3, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, &enc) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_tokenizer_encode(tok, "a", 1, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, nullptr) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_tokenizer_encode(tok, "a", 1, nullptr, 0, 0, static_cast<bertrt_truncation>(9), &enc) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_tokenizer_encode(tok, "a b c", 5, nullptr, 0, 1, BERTRT_TRUNCATION_LONGEST_FIRST, &enc) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  // A successful call clears the message.
  REQUIRE(bertrt_tokenizer_encode(tok, "a", 1, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, &enc) == BERTRT_OK);
  CHECK(std::string(bertrt_last_error()).empty());
  bertrt_encoding_free(enc);
  bertrt_tokenizer_free(tok);
}

TEST_CASE("C API: batch encoding into caller buffers") {
  bertrt_tokenizer* tok = nullptr;
  REQUIRE(bertrt_tokenizer_from_vocab_file(vocab_path("bert-base-uncased").c_str(), nullptr, &tok) == BERTRT_OK);
  const char* texts[] = {"Hello, my dog is cute", "hello", ""};
  const char* pairs[] = {"dog", nullptr, "cute"};
  size_t width = 0;
  REQUIRE(bertrt_tokenizer_encode_batch_size(tok, texts, nullptr, 3, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 0, &width) ==
          BERTRT_OK);
  CHECK(width == 8);
  std::vector<int64_t> ids(3 * width), types(3 * width), mask(3 * width);
  REQUIRE(bertrt_tokenizer_encode_batch(tok, texts, nullptr, 3, 0, BERTRT_TRUNCATION_LONGEST_FIRST, width, ids.data(),
                                        types.data(), mask.data()) == BERTRT_OK);
  CHECK(std::vector<int64_t>(ids.begin(), ids.begin() + 8) ==
        std::vector<int64_t>{101, 7592, 1010, 2026, 3899, 2003, 10140, 102});
  CHECK(std::vector<int64_t>(ids.begin() + 8, ids.begin() + 16) == std::vector<int64_t>{101, 7592, 102, 0, 0, 0, 0, 0});
  CHECK(std::vector<int64_t>(mask.begin() + 8, mask.begin() + 16) == std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0, 0});
  CHECK(std::vector<int64_t>(ids.begin() + 16, ids.end()) == std::vector<int64_t>{101, 102, 0, 0, 0, 0, 0, 0});

  // pad_to and truncation.
  REQUIRE(bertrt_tokenizer_encode_batch_size(tok, texts, nullptr, 3, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 10, &width) ==
          BERTRT_OK);
  CHECK(width == 10);
  CHECK(bertrt_tokenizer_encode_batch_size(tok, texts, nullptr, 3, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 5, &width) ==
        BERTRT_ERROR_SHAPE);
  REQUIRE(bertrt_tokenizer_encode_batch_size(tok, texts, nullptr, 3, 5, BERTRT_TRUNCATION_LONGEST_FIRST, 5, &width) ==
          BERTRT_OK);
  CHECK(width == 5);
  std::vector<int64_t> small_ids(3 * 5);
  REQUIRE(bertrt_tokenizer_encode_batch(tok, texts, nullptr, 3, 5, BERTRT_TRUNCATION_LONGEST_FIRST, 5,
                                        small_ids.data(), nullptr, nullptr) == BERTRT_OK);
  CHECK(std::vector<int64_t>(small_ids.begin(), small_ids.begin() + 5) ==
        std::vector<int64_t>{101, 7592, 1010, 2026, 102});
  CHECK(bertrt_tokenizer_encode_batch(tok, texts, nullptr, 3, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 5, small_ids.data(),
                                      nullptr, nullptr) == BERTRT_ERROR_SHAPE);

  // Pairs (a NULL entry: that row has no pair).
  REQUIRE(bertrt_tokenizer_encode_batch_size(tok, texts, pairs, 3, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 0, &width) ==
          BERTRT_OK);
  CHECK(width == 10);
  std::vector<int64_t> pids(3 * width), ptypes(3 * width);
  REQUIRE(bertrt_tokenizer_encode_batch(tok, texts, pairs, 3, 0, BERTRT_TRUNCATION_LONGEST_FIRST, width, pids.data(),
                                        ptypes.data(), nullptr) == BERTRT_OK);
  CHECK(std::vector<int64_t>(pids.begin(), pids.begin() + 10) ==
        std::vector<int64_t>{101, 7592, 1010, 2026, 3899, 2003, 10140, 102, 3899, 102});
  CHECK(std::vector<int64_t>(ptypes.begin(), ptypes.begin() + 10) ==
        std::vector<int64_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1});
  CHECK(std::vector<int64_t>(pids.begin() + 20, pids.end()) ==
        std::vector<int64_t>{101, 102, 10140, 102, 0, 0, 0, 0, 0, 0});

  // Errors.
  const char* bad[] = {"ok", "\xFF"};
  CHECK(bertrt_tokenizer_encode_batch_size(tok, bad, nullptr, 2, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 0, &width) ==
        BERTRT_ERROR_INVALID_UTF8);
  CHECK(std::string(bertrt_last_error()).find("row 1") != std::string::npos);
  const char* with_null[] = {"ok", nullptr};
  CHECK(bertrt_tokenizer_encode_batch_size(tok, with_null, nullptr, 2, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 0, &width) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_tokenizer_encode_batch_size(tok, texts, nullptr, 0, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 0, &width) ==
        BERTRT_ERROR_SHAPE);
  CHECK(bertrt_tokenizer_encode_batch_size(tok, nullptr, nullptr, 1, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 0, &width) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_tokenizer_encode_batch(tok, texts, nullptr, 3, 0, BERTRT_TRUNCATION_LONGEST_FIRST, 8, nullptr, nullptr,
                                      nullptr) == BERTRT_ERROR_INVALID_ARGUMENT);
  bertrt_tokenizer_free(tok);
}
