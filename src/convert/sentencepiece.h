// SentencePiece model files (spiece.model, sentencepiece.bpe.model) as tokenizers: the model is
// read and turned into the tokenizer.json that Hugging Face's converters (convert_slow_tokenizer.py:
// T5Converter, XLMRobertaConverter, CamembertConverter) make of it, which the runtime's
// tokenizer.json loader then reads (core::Tokenizer::from_json). The converter stores that text as
// the model file's tokenizer.json.
//
// The reader lives in the converter library, not in libbertrt: it parses the protobuf with
// libprotobuf-lite, and a product that links the lean runtime should not have to link protobuf for
// a file that a one-time conversion can turn into a tokenizer.json.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace bertrt::convert::spm {

// The special tokens and ids a model family wraps around the SentencePiece pieces:
//   t5           ids as in the file, 'A </s>' / 'A </s> B </s>', <extra_id_N> appended (N from
//                extra_ids - 1 down to 0, as T5's tokenizer numbers them);
//   xlm_roberta  fairseq ids: <s> 0, <pad> 1, </s> 2, <unk> 3, piece i (i >= 3) at i + 1, <mask>
//                last; '<s> A </s>' / '<s> A </s> </s> B </s>';
//   camembert    <s>NOTUSED 0, <pad> 1, </s>NOTUSED 2, <unk> 3, <unk>NOTUSED 4, piece i (i >= 1) at
//                i + 4, <mask> last; the XLM-R template over its own <s> and </s>.
enum class Family { t5, xlm_roberta, camembert };

struct Options {
  Family family = Family::t5;
  int extra_ids = 100;  // t5 only: how many <extra_id_N> tokens
};

// "t5", "xlm-roberta" or "camembert" (BERTRT_ERROR_INVALID_ARGUMENT otherwise).
Family family_from_name(std::string_view name);

// The tokenizer.json text of a SentencePiece Unigram model (the file's bytes). Errors:
// BERTRT_ERROR_FORMAT for a damaged file (not a protobuf, no pieces, an empty, repeated or non-UTF-8
// piece, a score that is not finite, unk_id out of range, a family's special token missing),
// BERTRT_ERROR_UNSUPPORTED for BPE/word/char models, byte_fallback and whitespace-as-suffix models.
std::string tokenizer_json(std::string_view model_bytes, const Options& options);

// The SentencePiece model file of a folder: spiece.model, else sentencepiece.bpe.model; empty when
// the folder has neither.
std::filesystem::path find_model(const std::filesystem::path& dir);

// The options a folder's files ask for: tokenizer_config.json's tokenizer_class (T5Tokenizer,
// XLMRobertaTokenizer, CamembertTokenizer, with or without Fast) and extra_ids, else config.json's
// model_type (t5, mt5, xlm-roberta, camembert), else T5. Another class or model type is
// BERTRT_ERROR_UNSUPPORTED.
Options options_for_folder(const std::filesystem::path& dir);

// tokenizer_json of a .model file or of a folder's (find_model); family_name "" takes the options
// of the folder (the file's folder), else the named family with that folder's extra_ids.
std::string tokenizer_json_from_path(const std::string& path, std::string_view family_name);

}  // namespace bertrt::convert::spm
