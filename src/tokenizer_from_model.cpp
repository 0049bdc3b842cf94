// bertrt_tokenizer_from_model: the tokenizer stored in a model file.
#include "c_api_types.h"
#include "common/error.h"
#include "tokenizer/tokenizer_c_api.h"

extern "C" bertrt_status bertrt_tokenizer_from_model(const bertrt_model* model, bertrt_tokenizer** tokenizer_out) {
  return bertrt::guard_call([&] {
    if (!model || !tokenizer_out) throw bertrt::Error(BERTRT_ERROR_INVALID_ARGUMENT, "model and tokenizer_out must not be NULL");
    *tokenizer_out = nullptr;
    const bertrt::core::TokenizerData& t = model->impl->tokenizer_data();
    if (!t.vocab || t.vocab->empty())
      throw bertrt::Error(BERTRT_ERROR_FORMAT, "model file holds no tokenizer vocabulary");
    bertrt::core::TokenizerConfig config;
    config.do_lower_case = t.do_lower_case;
    config.strip_accents = t.strip_accents;
    config.tokenize_chinese_chars = t.tokenize_chinese_chars;
    config.unk_token = t.unk_token;
    config.cls_token = t.cls_token;
    config.sep_token = t.sep_token;
    config.pad_token = t.pad_token;
    config.mask_token = t.mask_token;
    auto tokenizer = std::make_unique<bertrt_tokenizer>();
    tokenizer->impl = std::make_shared<const bertrt::core::Tokenizer>(*t.vocab, config);
    *tokenizer_out = tokenizer.release();
  });
}
