// A SentencePiece Unigram model's bytes -> the tokenizer.json Hugging Face's converters make of it
// (sentencepiece.h). The document has what the runtime's loader reads for T5 and XLM-RoBERTa:
//   normalizer     Precompiled with the file's charsmap (none when the file has none, as for an
//                  "identity" normalizer);
//   pre_tokenizer  WhitespaceSplit (when remove_extra_whitespaces: runs of whitespace are one
//                  separator, none at the ends) then Metaspace ("▁", prepended to every word when
//                  add_dummy_prefix, else never), as the converters that wrote the released T5 and
//                  XLM-R tokenizer.json files assembled them (t5-small's in tests/data/vocab);
//   model          Unigram over the family's vocabulary (sentencepiece.h) with the pieces' scores;
//   added_tokens   UNKNOWN and CONTROL pieces (special), USER_DEFINED pieces (not special), the
//                  family's own tokens, all matched in the raw text; <mask> takes the space on its
//                  left (lstrip), as XLM-R's and CamemBERT's tokenizers define it;
//   post_processor the family's TemplateProcessing, every type id 0.
// escape_whitespaces is not read (the converters do not read it either).
//
// Parsing uses libprotobuf-lite with code protoc generates from sentencepiece_model.proto (written
// for bertrt from the format's field numbers): Debian ships both (libprotobuf-dev,
// protobuf-compiler), the lite runtime is the smallest of the protobuf libraries, and its parser
// checks every length and tag against the input, so a damaged file fails to parse instead of
// being read out of bounds. What the parser cannot know (empty or repeated pieces, scores, ids) is
// checked here.
#include "convert/sentencepiece.h"

#include <climits>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "convert/sentencepiece_model.pb.h"
#include "tokenizer/tokenizer.h"

namespace bertrt::convert::spm {

namespace {

using ojson = nlohmann::ordered_json;
using Proto = bertrt::spm::ModelProto;
using Piece = bertrt::spm::ModelProto::SentencePiece;
using bertrt::spm::TrainerSpec;

constexpr const char* kMetaspace = "\xE2\x96\x81";  // U+2581, SentencePiece's space
constexpr int kMaxExtraIds = 1 << 20;

[[noreturn]] void damaged(const std::string& message) {
  throw Error(BERTRT_ERROR_FORMAT, "SentencePiece model: " + message);
}

[[noreturn]] void unsupported(const std::string& what) {
  throw Error(BERTRT_ERROR_UNSUPPORTED, "SentencePiece model: " + what + " is not supported");
}

struct Entry {
  std::string piece;
  double score = 0.0;
};

struct Added {
  int64_t id = 0;
  bool special = true;
  bool lstrip = false;
};

// What a family makes of the pieces: the vocabulary (id = index), its added tokens (ascending
// ids), the unknown token's id and the templates ("$A", "$B" or a special token's content).
struct Layout {
  std::vector<Entry> vocab;
  std::vector<Added> added;
  int64_t unk = -1;
  std::vector<std::string> single, pair;
};

const char* model_type_name(TrainerSpec::ModelType t) {
  switch (t) {
    case TrainerSpec::BPE: return "BPE";
    case TrainerSpec::WORD: return "word";
    case TrainerSpec::CHAR: return "char";
    default: return "Unigram";
  }
}

Proto parse(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) damaged("the file is larger than 2 GiB");
  Proto m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    damaged("the file does not parse as a SentencePiece ModelProto (truncated or not a .model file)");
  if (m.pieces_size() == 0) damaged("the file holds no pieces");
  const TrainerSpec& t = m.trainer_spec();
  if (t.model_type() != TrainerSpec::UNIGRAM)
    unsupported(std::string("model type ") + model_type_name(t.model_type()) + " (only Unigram is)");
  if (t.byte_fallback()) unsupported("byte_fallback");
  if (t.treat_whitespace_as_suffix()) unsupported("treat_whitespace_as_suffix");
  for (int i = 0; i < m.pieces_size(); ++i) {
    const Piece& p = m.pieces(i);
    const std::string where = "piece " + std::to_string(i);
    if (p.piece().empty()) damaged(where + " is empty");
    if (core::find_invalid_utf8(p.piece()) != p.piece().size()) damaged(where + " is not valid UTF-8");
    if (!std::isfinite(p.score())) damaged(where + " ('" + p.piece() + "') has a score that is not finite");
  }
  if (t.unk_id() < 0 || t.unk_id() >= m.pieces_size())
    damaged("unk_id " + std::to_string(t.unk_id()) + " is outside the " + std::to_string(m.pieces_size()) + " pieces");
  return m;
}

// Pieces [first, end) appended to l.vocab; those SentencePiece matches as whole tokens become
// added tokens.
void append_pieces(const Proto& m, int first, Layout& l) {
  for (int i = first; i < m.pieces_size(); ++i) {
    const Piece& p = m.pieces(i);
    const Piece::Type type = p.type();
    if (type == Piece::UNKNOWN || type == Piece::CONTROL || type == Piece::USER_DEFINED)
      l.added.push_back({static_cast<int64_t>(l.vocab.size()), type != Piece::USER_DEFINED, false});
    l.vocab.push_back({p.piece(), static_cast<double>(p.score())});
  }
}

void append_special(Layout& l, std::string piece, double score, bool lstrip = false) {
  l.added.push_back({static_cast<int64_t>(l.vocab.size()), true, lstrip});
  l.vocab.push_back({std::move(piece), score});
}

Layout t5_layout(const Proto& m, int extra_ids) {
  if (extra_ids < 0 || extra_ids > kMaxExtraIds) damaged("extra_ids " + std::to_string(extra_ids) + " is out of range");
  Layout l;
  append_pieces(m, 0, l);
  for (int k = extra_ids - 1; k >= 0; --k) append_special(l, "<extra_id_" + std::to_string(k) + ">", 0.0);
  l.unk = m.trainer_spec().unk_id();
  l.single = {"$A", "</s>"};
  l.pair = {"$A", "</s>", "$B", "</s>"};
  return l;
}

// XLM-RoBERTa and CamemBERT: fairseq's dictionary puts its own tokens first and shifts the pieces.
Layout fairseq_layout(const Proto& m, bool camembert) {
  const int first = camembert ? 1 : 3;  // pieces the fairseq tokens replace
  if (m.pieces_size() <= first)
    damaged(std::to_string(m.pieces_size()) + " pieces are too few for the " +
            (camembert ? "CamemBERT" : "XLM-RoBERTa") + " layout");
  Layout l;
  if (camembert) {
    for (const char* t : {"<s>NOTUSED", "<pad>", "</s>NOTUSED", "<unk>"}) append_special(l, t, 0.0);
    append_special(l, "<unk>NOTUSED", -100.0);
  } else {
    for (const char* t : {"<s>", "<pad>", "</s>", "<unk>"}) append_special(l, t, 0.0);
  }
  append_pieces(m, first, l);
  append_special(l, "<mask>", 0.0, true);
  l.unk = 3;
  l.single = {"<s>", "$A", "</s>"};
  l.pair = {"<s>", "$A", "</s>", "</s>", "$B", "</s>"};
  return l;
}

std::string base64(std::string_view in) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, in.size() - i);
    uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k)
      v = (v << 8) | (k < n ? static_cast<unsigned char>(in[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kDigits[(v >> (18 - 6 * k)) & 63] : '=');
  }
  return out;
}

ojson added_tokens(const Layout& l) {
  ojson out = ojson::array();
  for (const Added& a : l.added) {
    out.push_back({{"id", a.id},
                   {"content", l.vocab[static_cast<std::size_t>(a.id)].piece},
                   {"single_word", false},
                   {"lstrip", a.lstrip},
                   {"rstrip", false},
                   {"normalized", false},
                   {"special", a.special}});
  }
  return out;
}

ojson metaspace(bool prepend) {
  return {{"type", "Metaspace"},
          {"replacement", kMetaspace},
          {"add_prefix_space", prepend},
          {"prepend_scheme", prepend ? "always" : "never"}};
}

ojson pre_tokenizer(const bertrt::spm::NormalizerSpec& n) {
  const ojson meta = metaspace(n.add_dummy_prefix());
  if (!n.remove_extra_whitespaces()) return meta;
  return {{"type", "Sequence"}, {"pretokenizers", ojson::array({{{"type", "WhitespaceSplit"}}, meta})}};
}

// The family's TemplateProcessing; every special token of the templates must be in the vocabulary.
ojson post_processor(const Layout& l, const std::unordered_map<std::string_view, int64_t>& ids) {
  ojson specials = ojson::object();
  auto pieces = [&](const std::vector<std::string>& names) {
    ojson out = ojson::array();
    for (const std::string& name : names) {
      if (name == "$A" || name == "$B") {
        out.push_back({{"Sequence", {{"id", name.substr(1)}, {"type_id", 0}}}});
        continue;
      }
      const auto it = ids.find(name);
      if (it == ids.end()) damaged("the template's special token '" + name + "' is not among the pieces");
      specials[name] = {{"id", name}, {"ids", ojson::array({it->second})}, {"tokens", ojson::array({name})}};
      out.push_back({{"SpecialToken", {{"id", name}, {"type_id", 0}}}});
    }
    return out;
  };
  ojson single = pieces(l.single), pair = pieces(l.pair);
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

ojson unigram_model(const Layout& l) {
  ojson vocab = ojson::array();
  for (const Entry& e : l.vocab) vocab.push_back({e.piece, e.score});
  return {{"type", "Unigram"}, {"unk_id", l.unk}, {"vocab", std::move(vocab)}, {"byte_fallback", false}};
}

std::string document(const Proto& m, const Layout& l) {
  if (l.vocab.size() >= static_cast<std::size_t>(INT32_MAX)) damaged("too many pieces");
  std::unordered_map<std::string_view, int64_t> ids;
  ids.reserve(l.vocab.size());
  for (std::size_t i = 0; i < l.vocab.size(); ++i) {
    if (!ids.emplace(l.vocab[i].piece, static_cast<int64_t>(i)).second)
      damaged("the piece '" + l.vocab[i].piece + "' appears twice (ids " + std::to_string(ids.at(l.vocab[i].piece)) +
              " and " + std::to_string(i) + ")");
  }
  const bertrt::spm::NormalizerSpec& n = m.normalizer_spec();
  ojson doc;
  doc["version"] = "1.0";
  doc["truncation"] = nullptr;
  doc["padding"] = nullptr;
  doc["added_tokens"] = added_tokens(l);
  if (n.precompiled_charsmap().empty()) {
    doc["normalizer"] = nullptr;
  } else {
    doc["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", base64(n.precompiled_charsmap())}};
  }
  doc["pre_tokenizer"] = pre_tokenizer(n);
  doc["post_processor"] = post_processor(l, ids);
  doc["decoder"] = metaspace(n.add_dummy_prefix());
  doc["model"] = unigram_model(l);
  return doc.dump();
}

}  // namespace

Family family_from_name(std::string_view name) {
  if (name == "t5") return Family::t5;
  if (name == "xlm-roberta") return Family::xlm_roberta;
  if (name == "camembert") return Family::camembert;
  throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
              "SentencePiece family '" + std::string(name) + "' is not one of t5, xlm-roberta, camembert");
}

std::string tokenizer_json(std::string_view model_bytes, const Options& options) {
  const Proto m = parse(model_bytes);
  const Layout l = options.family == Family::t5 ? t5_layout(m, options.extra_ids)
                                                : fairseq_layout(m, options.family == Family::camembert);
  return document(m, l);
}

}  // namespace bertrt::convert::spm
