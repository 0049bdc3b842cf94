// bertrt_tokenizer_from_model: the tokenizer stored in a model file. The converter stores a
// folder's tokenizer.json under the metadata key "tokenizer.json", or its vocab.json and merges.txt
// under "tokenizer.vocab_json" and "tokenizer.merges"; the first present wins, and a model with
// neither uses its WordPiece vocabulary and settings.
#include "c_api_types.h"
#include "common/error.h"
#include "tokenizer/tokenizer_c_api.h"

namespace {

constexpr const char* kMetaTokenizerJson = "tokenizer.json";
constexpr const char* kMetaVocabJson = "tokenizer.vocab_json";
constexpr const char* kMetaMerges = "tokenizer.merges";

bertrt::core::Tokenizer wordpiece_from_model(const bertrt::core::TokenizerData& t) {
  bertrt::core::TokenizerConfig config;
  config.do_lower_case = t.do_lower_case;
  config.strip_accents = t.strip_accents;
  config.tokenize_chinese_chars = t.tokenize_chinese_chars;
  config.unk_token = t.unk_token;
  config.cls_token = t.cls_token;
  config.sep_token = t.sep_token;
  config.pad_token = t.pad_token;
  config.mask_token = t.mask_token;
  return bertrt::core::Tokenizer(*t.vocab, config);
}

}  // namespace

extern "C" bertrt_status bertrt_tokenizer_from_model(const bertrt_model* model, bertrt_tokenizer** tokenizer_out) {
  return bertrt::guard_call([&] {
    if (!model || !tokenizer_out) throw bertrt::Error(BERTRT_ERROR_INVALID_ARGUMENT, "model and tokenizer_out must not be NULL");
    *tokenizer_out = nullptr;
    const auto& file = model->impl->file();
    std::shared_ptr<const bertrt::core::Tokenizer> tok;
    if (auto json = file.meta_string(kMetaTokenizerJson)) {
      tok = std::make_shared<const bertrt::core::Tokenizer>(bertrt::core::Tokenizer::from_json(*json));
    } else if (auto vocab = file.meta_string(kMetaVocabJson)) {
      auto merges = file.meta_string(kMetaMerges);
      if (!merges) throw bertrt::Error(BERTRT_ERROR_FORMAT, "model file holds tokenizer.vocab_json but no tokenizer.merges");
      tok = std::make_shared<const bertrt::core::Tokenizer>(bertrt::core::Tokenizer::from_bpe_files(*vocab, *merges));
    } else {
      const bertrt::core::TokenizerData& t = model->impl->tokenizer_data();
      if (!t.vocab || t.vocab->empty())
        throw bertrt::Error(BERTRT_ERROR_FORMAT, "model file holds no tokenizer (no tokenizer.json, vocab.json + merges or vocabulary)");
      tok = std::make_shared<const bertrt::core::Tokenizer>(wordpiece_from_model(t));
    }
    *tokenizer_out = new bertrt_tokenizer{std::move(tok)};
  });
}
