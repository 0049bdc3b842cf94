// Writing responses: JSON numbers and vectors (shortest round-trip float32 text), base64, and the
// errors of the two API styles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace bertrt::serve {

// The error body's shape: OpenAI's {"error": {"message", "type", ...}} for /v1/..., text-embeddings-
// inference's {"error", "error_type"} for the others.
enum class ApiStyle { openai, tei };

// A request that cannot be answered: the HTTP status and a message naming the problem.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

// The JSON error body for status in the endpoint's style.
std::string error_body(ApiStyle style, int status, const std::string& message);

// A JSON string literal (quotes included); invalid UTF-8 is replaced, never thrown on.
std::string json_string(const std::string& s);

// Appends [v0,v1,...] (each float32 in its shortest round-trip form).
void append_floats(std::string& out, const float* v, size_t n);
// Appends [[row0], [row1], ...] for rows x width floats.
void append_float_rows(std::string& out, const float* v, size_t rows, size_t width);
void append_ints(std::string& out, const int64_t* v, size_t n);

// Base64 (RFC 4648, padded) of n float32 values as little-endian bytes.
std::string base64_floats(const float* v, size_t n);

}  // namespace bertrt::serve
