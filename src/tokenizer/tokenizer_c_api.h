// The C handles of the tokenizer API. bertrt_tokenizer_from_model (src/tokenizer_from_model.cpp)
// builds a bertrt_tokenizer from a model's stored tokenizer by filling impl.
#pragma once

#include <memory>

#include "bertrt/bertrt.h"
#include "tokenizer/tokenizer.h"

struct bertrt_tokenizer {
  std::shared_ptr<const bertrt::core::Tokenizer> impl;
};

struct bertrt_encoding {
  bertrt::core::Encoding impl;
  std::shared_ptr<const bertrt::core::Tokenizer> tokenizer;  // for the token strings
};

namespace bertrt::core {
// The tokenizer configuration the C options describe (NULL: uncased BERT defaults). Throws
// bertrt::Error(BERTRT_ERROR_INVALID_ARGUMENT) for out-of-range values.
TokenizerConfig tokenizer_config_from_options(const bertrt_tokenizer_options* options);
}  // namespace bertrt::core
