// Tokenizer::from_json: a Hugging Face tokenizer.json into a tokenizer, chosen by what the file says:
//   model WordPiece  with a BertNormalizer and the BertPreTokenizer, onto the WordPiece tokenizer
//                    (TokenizerConfig), its added tokens matched as special tokens;
//   model BPE        with the ByteLevel pre-tokenizer and no normalizer (byte_level.cpp);
//   model Unigram    with the Precompiled normalizer (or none), WhitespaceSplit and Metaspace
//                    pre-tokenizers (unigram.cpp);
// and the post-processor (RobertaProcessing, BertProcessing, TemplateProcessing, ByteLevel, a
// Sequence of them, or none) as the template encode() assembles. Anything else is
// BERTRT_ERROR_UNSUPPORTED with the component's name; malformed JSON is BERTRT_ERROR_FORMAT.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "tokenizer/tokenizer_json.h"

namespace bertrt::core {

using nlohmann::json;

namespace {

[[noreturn]] void unsupported(const std::string& what) {
  throw Error(BERTRT_ERROR_UNSUPPORTED, "tokenizer.json: " + what + " is not supported");
}

std::string type_of(const json& j) { return j.is_object() && j.contains("type") ? j.at("type").get<std::string>() : ""; }

bool flag(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  return j.at(key).get<bool>();
}

std::vector<AddedToken> parse_added(const json& root) {
  std::vector<AddedToken> out;
  if (!root.contains("added_tokens") || root.at("added_tokens").is_null()) return out;
  for (const json& t : root.at("added_tokens")) {
    AddedToken a;
    a.content = t.at("content").get<std::string>();
    a.id = json_int(t.at("id"), "tokenizer.json: an added token id");
    a.lstrip = flag(t, "lstrip", false);
    a.rstrip = flag(t, "rstrip", false);
    a.single_word = flag(t, "single_word", false);
    a.normalized = flag(t, "normalized", true);
    a.special = flag(t, "special", false);
    out.push_back(std::move(a));
  }
  return out;
}

// The model's type; older files leave it out, and the fields tell.
std::string model_type(const json& model) {
  std::string type = type_of(model);
  if (!type.empty()) return type;
  if (model.contains("merges")) return "BPE";
  if (model.contains("vocab") && model.at("vocab").is_array()) return "Unigram";
  if (model.contains("continuing_subword_prefix")) return "WordPiece";
  throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: the model has no type");
}

int64_t special_id(const json& pair, const Tokenizer::Impl& m) {
  // ["<s>", 0]: the token and its id; the id must name a vocabulary entry.
  const int64_t id = json_int(pair.at(1), "tokenizer.json: a post-processor token id");
  if (id < 0 || static_cast<std::size_t>(id) >= m.vocab.size()) {
    throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: post-processor token id " + std::to_string(id) + " out of range");
  }
  return id;
}

// One template of a TemplateProcessing ("single" or "pair").
std::vector<TemplatePiece> parse_template(const json& pieces, const json& specials, const Tokenizer::Impl& m,
                                          std::size_t& n_special) {
  std::vector<TemplatePiece> out;
  n_special = 0;
  for (const json& p : pieces) {
    TemplatePiece t;
    if (p.contains("Sequence")) {
      const json& s = p.at("Sequence");
      t.seq = s.at("id").get<std::string>() == "B" ? 1 : 0;
      t.type_id = s.contains("type_id") ? json_int(s.at("type_id"), "tokenizer.json: a template type_id") : 0;
    } else if (p.contains("SpecialToken")) {
      const json& s = p.at("SpecialToken");
      const std::string name = s.at("id").get<std::string>();
      t.type_id = s.contains("type_id") ? json_int(s.at("type_id"), "tokenizer.json: a template type_id") : 0;
      if (!specials.contains(name)) {
        throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: template token '" + name + "' has no special_tokens entry");
      }
      for (const json& id : specials.at(name).at("ids")) {
        const int64_t v = json_int(id, "tokenizer.json: a template token id");
        if (v < 0 || static_cast<std::size_t>(v) >= m.vocab.size()) {
          throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: template token id " + std::to_string(v) + " out of range");
        }
        t.ids.push_back(v);
      }
      n_special += t.ids.size();
    } else {
      throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: template piece is neither Sequence nor SpecialToken");
    }
    out.push_back(std::move(t));
  }
  return out;
}

void apply_post_processor(const json& p, Tokenizer::Impl& m) {
  const std::string type = type_of(p);
  if (p.is_null()) {
    set_plain_template(m);
  } else if (type == "RobertaProcessing") {
    set_roberta_template(m, special_id(p.at("cls"), m), special_id(p.at("sep"), m));
    m.post.trim_offsets = flag(p, "trim_offsets", true);
    m.post.trim_prefix_space = flag(p, "add_prefix_space", true);
  } else if (type == "BertProcessing") {
    m.cls = special_id(p.at("cls"), m);
    m.sep = special_id(p.at("sep"), m);
    set_bert_template(m);
  } else if (type == "ByteLevel") {
    m.post.trim_offsets = flag(p, "trim_offsets", true);
    m.post.trim_prefix_space = flag(p, "add_prefix_space", true);
  } else if (type == "TemplateProcessing") {
    const json& specials = p.at("special_tokens");
    m.post.single = parse_template(p.at("single"), specials, m, m.post.n_single);
    m.post.pair = parse_template(p.at("pair"), specials, m, m.post.n_pair);
  } else if (type == "Sequence") {
    for (const json& q : p.at("processors")) apply_post_processor(q, m);
  } else {
    unsupported("post-processor '" + type + "'");
  }
}

// The merges of a BPE model: "a b" strings (older files) or ["a", "b"] pairs.
std::vector<std::pair<std::string, std::string>> parse_merges(const json& merges) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (const json& m : merges) {
    if (m.is_array()) {
      if (m.size() != 2) throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: a merge is not a pair");
      out.emplace_back(m.at(0).get<std::string>(), m.at(1).get<std::string>());
      continue;
    }
    const std::string s = m.get<std::string>();
    const std::size_t sp = s.find(' ');
    if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
      throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: merge '" + s + "' is not two tokens");
    }
    out.emplace_back(s.substr(0, sp), s.substr(sp + 1));
  }
  return out;
}

std::unique_ptr<Tokenizer::Impl> bpe_from_json(const json& root, std::vector<AddedToken> added) {
  const json& model = root.at("model");
  if (!root.value("normalizer", json()).is_null()) unsupported("normalizer '" + type_of(root.at("normalizer")) + "' with BPE");
  const json pre = root.value("pre_tokenizer", json());
  if (type_of(pre) != "ByteLevel") unsupported("BPE without the ByteLevel pre-tokenizer ('" + type_of(pre) + "')");
  if (!model.value("dropout", json()).is_null()) unsupported("BPE dropout");
  if (flag(model, "byte_fallback", false)) unsupported("BPE byte_fallback");
  if (!model.value("continuing_subword_prefix", json()).is_null() &&
      !model.at("continuing_subword_prefix").get<std::string>().empty()) {
    unsupported("BPE continuing_subword_prefix");
  }
  if (!model.value("end_of_word_suffix", json()).is_null() && !model.at("end_of_word_suffix").get<std::string>().empty()) {
    unsupported("BPE end_of_word_suffix");
  }
  std::vector<std::string> vocab = vocab_from_object(model.at("vocab"), added);
  int32_t unk = -1;
  if (!model.value("unk_token", json()).is_null()) {
    const std::string u = model.at("unk_token").get<std::string>();
    for (std::size_t i = 0; i < vocab.size() && unk < 0; ++i) {
      if (vocab[i] == u) unk = static_cast<int32_t>(i);
    }
  }
  auto m = make_bpe_impl(std::move(vocab), parse_merges(model.at("merges")), unk, flag(model, "ignore_merges", false),
                         std::move(added));
  m->bpe_add_prefix_space = flag(pre, "add_prefix_space", true);
  m->bpe_use_regex = flag(pre, "use_regex", true);
  return m;
}

// The WordPiece settings of a tokenizer.json as a TokenizerConfig.
TokenizerConfig wordpiece_config(const json& root, const std::vector<AddedToken>& added) {
  const json& model = root.at("model");
  const json norm = root.value("normalizer", json());
  if (type_of(norm) != "BertNormalizer") unsupported("WordPiece with normalizer '" + type_of(norm) + "'");
  if (!flag(norm, "clean_text", true)) unsupported("BertNormalizer without clean_text");
  const std::string pre = type_of(root.value("pre_tokenizer", json()));
  if (pre != "BertPreTokenizer") unsupported("WordPiece with pre-tokenizer '" + pre + "'");
  TokenizerConfig c;
  c.do_lower_case = flag(norm, "lowercase", true);
  c.strip_accents = norm.value("strip_accents", json()).is_null() ? -1 : (norm.at("strip_accents").get<bool>() ? 1 : 0);
  c.tokenize_chinese_chars = flag(norm, "handle_chinese_chars", true);
  c.unk_token = model.value("unk_token", std::string("[UNK]"));
  c.continuing_subword_prefix = model.value("continuing_subword_prefix", std::string("##"));
  c.max_input_chars_per_word = model.value("max_input_chars_per_word", std::size_t{100});
  for (const AddedToken& t : added) c.special_tokens.push_back(t.content);
  if (c.special_tokens.empty()) c.special_tokens.push_back(c.unk_token);
  const json post = root.value("post_processor", json());
  if (type_of(post) == "BertProcessing") {
    c.cls_token = post.at("cls").at(0).get<std::string>();
    c.sep_token = post.at("sep").at(0).get<std::string>();
  }
  return c;
}

void unigram_pre_tokenizer(const json& pre, unigram::Model& u) {
  const std::string type = type_of(pre);
  if (pre.is_null()) return;
  if (type == "Sequence") {
    for (const json& p : pre.at("pretokenizers")) unigram_pre_tokenizer(p, u);
  } else if (type == "WhitespaceSplit") {
    u.whitespace_split = true;
  } else if (type == "Metaspace") {
    u.metaspace = true;
    u.replacement = pre.value("replacement", std::string("\xE2\x96\x81"));
    if (u.replacement.empty()) throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: empty Metaspace replacement");
    const std::string scheme =
        pre.value("prepend_scheme", std::string(flag(pre, "add_prefix_space", true) ? "always" : "never"));
    u.prepend = scheme == "always" ? 0 : scheme == "first" ? 1 : 2;
    u.split = flag(pre, "split", true);
  } else {
    unsupported("Unigram with pre-tokenizer '" + type + "'");
  }
}

std::unique_ptr<Tokenizer::Impl> unigram_from_json(const json& root, std::vector<AddedToken> added) {
  const json& model = root.at("model");
  if (flag(model, "byte_fallback", false)) unsupported("Unigram byte_fallback");
  auto m = std::make_unique<Tokenizer::Impl>();
  auto u = std::make_unique<unigram::Model>();
  m->kind = TokenizerKind::unigram;
  double lowest = 0.0;
  for (const json& e : model.at("vocab")) {
    m->vocab.push_back(e.at(0).get<std::string>());
    u->scores.push_back(e.at(1).get<double>());
    lowest = m->vocab.size() == 1 ? u->scores.back() : std::min(lowest, u->scores.back());
  }
  if (m->vocab.empty()) throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: the Unigram vocabulary is empty");
  u->unk_score = lowest - 10.0;
  if (model.value("unk_id", json()).is_null()) unsupported("Unigram without unk_id");
  const int64_t unk = json_int(model.at("unk_id"), "tokenizer.json: Unigram unk_id");
  if (unk < 0 || unk >= INT32_MAX) throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: Unigram unk_id out of range");
  u->unk = static_cast<int32_t>(unk);
  if (u->unk < 0 || static_cast<std::size_t>(u->unk) >= m->vocab.size()) {
    throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: Unigram unk_id out of range");
  }
  for (const AddedToken& t : added) {
    if (t.id < 0 || static_cast<std::size_t>(t.id) >= m->vocab.size()) {
      throw Error(BERTRT_ERROR_FORMAT, "added token '" + t.content + "' has an id outside the vocabulary");
    }
  }
  u->trie.build(m->vocab);
  const json norm = root.value("normalizer", json());
  if (type_of(norm) == "Precompiled") {
    const json cm = norm.value("precompiled_charsmap", json());
    if (!cm.is_null()) u->set_charsmap(unigram::base64_decode(cm.get<std::string>()));
  } else if (!norm.is_null()) {
    unsupported("Unigram with normalizer '" + type_of(norm) + "'");
  }
  unigram_pre_tokenizer(root.value("pre_tokenizer", json()), *u);
  m->trie.build(m->vocab);
  m->added.build(std::move(added));
  m->unk = u->unk;
  const int64_t pad = m->lookup("<pad>");
  m->pad = pad < 0 ? 0 : pad;
  m->sep = m->lookup("</s>");
  m->mask = -1;
  m->unigram = std::move(u);
  set_plain_template(*m);
  return m;
}

}  // namespace

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json) {
  const json root = parse_json(tokenizer_json, "tokenizer.json");
  try {
    if (!root.is_object() || !root.contains("model") || !root.at("model").is_object()) {
      throw Error(BERTRT_ERROR_FORMAT, "tokenizer.json: no \"model\" object");
    }
    const std::string type = model_type(root.at("model"));
    std::vector<AddedToken> added = parse_added(root);
    const json post = root.value("post_processor", json());
    if (type == "BPE") {
      auto m = bpe_from_json(root, std::move(added));
      apply_post_processor(post, *m);
      return Tokenizer(m.release());
    }
    if (type == "Unigram") {
      auto m = unigram_from_json(root, std::move(added));
      apply_post_processor(post, *m);
      return Tokenizer(m.release());
    }
    if (type != "WordPiece") unsupported("model type '" + type + "'");
    std::vector<std::string> vocab = vocab_from_object(root.at("model").at("vocab"), added);
    Tokenizer t(std::move(vocab), wordpiece_config(root, added));
    apply_post_processor(post, *t.impl_);
    return t;
  } catch (const json::exception& e) {
    throw Error(BERTRT_ERROR_FORMAT, std::string("tokenizer.json: ") + e.what());
  }
}

}  // namespace bertrt::core
