// Batches: encode_batch (one Encoding per row), pad (rows into one [batch, seq_len] block with
// pad id, token type 0 and attention mask 0 after each row) and encode_batch_padded (both).
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "common/error.h"
#include "tokenizer/tokenizer_impl.h"

namespace bertrt::core {

std::vector<Encoding> Tokenizer::encode_batch(std::span<const std::string_view> texts,
                                              std::span<const std::string_view> pairs, std::size_t max_length,
                                              bertrt_truncation truncation) const {
  if (!pairs.empty() && pairs.size() != texts.size()) {
    throw Error(BERTRT_ERROR_SHAPE, "text pairs: " + std::to_string(pairs.size()) + " for " +
                                        std::to_string(texts.size()) + " texts");
  }
  std::vector<Encoding> out;
  out.reserve(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    out.push_back(encode(texts[i], pairs.empty() ? nullptr : &pairs[i], max_length, truncation));
  }
  return out;
}

BatchEncoding Tokenizer::pad(std::span<const Encoding> encodings, std::size_t width) const {
  std::size_t longest = 0;
  for (const auto& e : encodings) longest = std::max(longest, e.size());
  if (width == 0) {
    width = longest;
  } else if (longest > width) {
    throw Error(BERTRT_ERROR_SHAPE, "a row has " + std::to_string(longest) + " tokens, more than the padded length " +
                                        std::to_string(width));
  }
  BatchEncoding out;
  out.batch = encodings.size();
  out.seq_len = width;
  out.ids.assign(out.batch * width, impl_->pad);
  out.token_type_ids.assign(out.batch * width, 0);
  out.attention_mask.assign(out.batch * width, 0);
  for (std::size_t r = 0; r < encodings.size(); ++r) {
    const Encoding& e = encodings[r];
    std::copy(e.ids.begin(), e.ids.end(), out.ids.begin() + static_cast<std::ptrdiff_t>(r * width));
    std::copy(e.token_type_ids.begin(), e.token_type_ids.end(),
              out.token_type_ids.begin() + static_cast<std::ptrdiff_t>(r * width));
    std::copy(e.attention_mask.begin(), e.attention_mask.end(),
              out.attention_mask.begin() + static_cast<std::ptrdiff_t>(r * width));
  }
  return out;
}

BatchEncoding Tokenizer::encode_batch_padded(std::span<const std::string_view> texts,
                                             std::span<const std::string_view> pairs, std::size_t max_length,
                                             bertrt_truncation truncation, std::size_t pad_to) const {
  std::vector<Encoding> rows = encode_batch(texts, pairs, max_length, truncation);
  return pad(rows, pad_to);
}

}  // namespace bertrt::core
