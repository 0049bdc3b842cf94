// Tokenizers from files: Tokenizer::from_bpe_files (vocab.json + merges.txt, as
// RobertaTokenizerFast assembles them), Tokenizer::from_file (a tokenizer.json, vocab.json,
// vocab.txt or a folder holding them), and the helpers tokenizer_json.h declares.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "tokenizer/tokenizer_json.h"

namespace bertrt::core {

using nlohmann::json;

nlohmann::json parse_json(std::string_view text, const char* what) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw Error(BERTRT_ERROR_FORMAT, std::string(what) + " is not valid JSON: " + e.what());
  }
}

int64_t json_int(const json& j, const char* what) {
  if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
    throw Error(BERTRT_ERROR_FORMAT, std::string(what) + " is not an integer: " + j.dump());
  return j.get<int64_t>();
}

std::vector<std::string> vocab_from_object(const json& object, const std::vector<AddedToken>& added) {
  if (!object.is_object()) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary is not a {token: id} object");
  int64_t top = -1;
  for (const auto& [token, id] : object.items()) top = std::max(top, json_int(id, "a vocabulary id"));
  for (const AddedToken& t : added) top = std::max(top, t.id);
  if (top < 0) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary is empty");
  if (top >= INT32_MAX) throw Error(BERTRT_ERROR_FORMAT, "vocabulary id " + std::to_string(top) + " too large");
  std::vector<std::string> vocab(static_cast<std::size_t>(top) + 1);
  std::vector<bool> have(vocab.size());
  for (const auto& [token, id] : object.items()) {
    const int64_t i = json_int(id, "a vocabulary id");
    if (i < 0) throw Error(BERTRT_ERROR_FORMAT, "vocabulary id " + std::to_string(i) + " of '" + token + "' is negative");
    if (have[static_cast<std::size_t>(i)]) throw Error(BERTRT_ERROR_FORMAT, "vocabulary id " + std::to_string(i) + " is used twice");
    vocab[static_cast<std::size_t>(i)] = token;
    have[static_cast<std::size_t>(i)] = true;
  }
  for (const AddedToken& t : added) {
    if (t.id < 0) throw Error(BERTRT_ERROR_FORMAT, "added token '" + t.content + "' has a negative id");
    vocab[static_cast<std::size_t>(t.id)] = t.content;
    have[static_cast<std::size_t>(t.id)] = true;
  }
  for (std::size_t i = 0; i < have.size(); ++i) {
    if (!have[i]) throw Error(BERTRT_ERROR_FORMAT, "the vocabulary has no token with id " + std::to_string(i));
  }
  return vocab;
}

std::unique_ptr<Tokenizer::Impl> make_bpe_impl(std::vector<std::string> vocab,
                                               const std::vector<std::pair<std::string, std::string>>& merges,
                                               int32_t unk, bool ignore_merges, std::vector<AddedToken> added) {
  auto m = std::make_unique<Tokenizer::Impl>();
  m->kind = TokenizerKind::bpe;
  m->vocab = std::move(vocab);
  m->bpe = std::make_unique<bpe::Model>(m->vocab, merges, unk, ignore_merges);
  for (const AddedToken& t : added) {
    if (t.id < 0 || static_cast<std::size_t>(t.id) >= m->vocab.size()) {
      throw Error(BERTRT_ERROR_FORMAT, "added token '" + t.content + "' has an id outside the vocabulary");
    }
  }
  m->added.build(std::move(added));
  m->trie.build(m->vocab);
  m->unk = unk;
  // Special ids for the C API's getters: the usual names, where the vocabulary has them.
  auto find = [&](std::initializer_list<const char*> names) -> int64_t {
    for (const char* n : names) {
      const int64_t id = m->lookup(n);
      if (id >= 0) return id;
    }
    return -1;
  };
  if (m->unk < 0) m->unk = find({"<unk>", "[UNK]"});
  m->cls = find({"<s>", "[CLS]"});
  m->sep = find({"</s>", "[SEP]"});
  m->mask = find({"<mask>", "[MASK]"});
  const int64_t pad = find({"<pad>", "[PAD]"});
  m->pad = pad < 0 ? 0 : pad;
  set_plain_template(*m);
  return m;
}

void set_roberta_template(Tokenizer::Impl& m, int64_t cls, int64_t sep) {
  m.cls = cls;
  m.sep = sep;
  PostTemplate& p = m.post;
  p.single = {{-1, 0, {cls}}, {0, 0, {}}, {-1, 0, {sep}}};
  p.pair = {{-1, 0, {cls}}, {0, 0, {}}, {-1, 0, {sep, sep}}, {1, 0, {}}, {-1, 0, {sep}}};
  p.n_single = 2;
  p.n_pair = 4;
}

void set_plain_template(Tokenizer::Impl& m) {
  PostTemplate& p = m.post;
  p.single = {{0, 0, {}}};
  p.pair = {{0, 0, {}}, {1, 1, {}}};
  p.n_single = 0;
  p.n_pair = 0;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(BERTRT_ERROR_IO, "cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(BERTRT_ERROR_IO, "cannot read '" + path + "'");
  return ss.str();
}

namespace {

// The merges of a merges.txt: "#version" first line skipped, one "a b" pair a line.
std::vector<std::pair<std::string, std::string>> parse_merges_txt(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.substr(0, 8) == "#version")) continue;
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos || line.find(' ', sp + 1) != std::string_view::npos) {
      throw Error(BERTRT_ERROR_FORMAT, "merges.txt line " + std::to_string(line_no) + " is not two tokens");
    }
    out.emplace_back(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
  }
  return out;
}

// do_lower_case from a folder's tokenizer_config.json (true when absent).
bool folder_lowercase(const std::filesystem::path& dir) {
  const auto cfg = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(cfg)) return true;
  const json j = parse_json(read_text_file(cfg.string()), "tokenizer_config.json");
  return !(j.is_object() && j.contains("do_lower_case") && j.at("do_lower_case").is_boolean() &&
           !j.at("do_lower_case").get<bool>());
}

}  // namespace

Tokenizer Tokenizer::from_bpe_files(std::string_view vocab_json, std::string_view merges_txt) {
  const json vocab_obj = parse_json(vocab_json, "vocab.json");
  try {
    std::vector<std::string> vocab = vocab_from_object(vocab_obj, {});
    std::vector<AddedToken> added;
    for (const char* name : {"<s>", "<pad>", "</s>", "<unk>", "<mask>"}) {
      if (!vocab_obj.contains(name)) continue;
      AddedToken t;
      t.content = name;
      t.id = json_int(vocab_obj.at(name), "a vocabulary id");
      t.lstrip = t.content == "<mask>";
      t.special = true;
      added.push_back(std::move(t));
    }
    auto m = make_bpe_impl(std::move(vocab), parse_merges_txt(merges_txt), -1, false, std::move(added));
    m->bpe_add_prefix_space = false;
    m->post.trim_offsets = true;
    m->post.trim_prefix_space = false;
    if (vocab_obj.contains("<s>") && vocab_obj.contains("</s>")) {
      set_roberta_template(*m, json_int(vocab_obj.at("<s>"), "the id of <s>"), json_int(vocab_obj.at("</s>"), "the id of </s>"));
    }
    return Tokenizer(m.release());
  } catch (const json::exception& e) {
    throw Error(BERTRT_ERROR_FORMAT, std::string("vocab.json: ") + e.what());
  }
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "tokenizer.json")) return from_json(read_text_file((p / "tokenizer.json").string()));
    if (fs::exists(p / "vocab.json") && fs::exists(p / "merges.txt")) {
      return from_bpe_files(read_text_file((p / "vocab.json").string()), read_text_file((p / "merges.txt").string()));
    }
    if (fs::exists(p / "vocab.txt")) {
      TokenizerConfig config;
      config.do_lower_case = folder_lowercase(p);
      return from_vocab_file((p / "vocab.txt").string(), config);
    }
    throw Error(BERTRT_ERROR_IO, "'" + path + "' holds no tokenizer.json, vocab.json + merges.txt or vocab.txt");
  }
  if (!fs::exists(p, ec)) throw Error(BERTRT_ERROR_IO, "no such file: '" + path + "'");
  if (p.extension() == ".model") {
    // Reading the protobuf would make the runtime link protobuf: the converter library does it.
    throw Error(BERTRT_ERROR_UNSUPPORTED, "'" + path +
                                              "' is a SentencePiece model: turn it into a tokenizer.json with "
                                              "bertrt_sentencepiece_to_tokenizer_json (bertrt/convert.h) or "
                                              "bertrt tokenize --tokenizer");
  }
  if (p.extension() != ".json") return from_vocab_file(path);
  const std::string text = read_text_file(path);
  const json j = parse_json(text, p.filename().string().c_str());
  // A tokenizer.json has a "model" object; a vocab.json maps tokens (perhaps "model") to ids.
  if (j.is_object() && j.contains("model") && j.at("model").is_object()) return from_json(text);
  const fs::path merges = p.parent_path() / "merges.txt";
  if (!fs::exists(merges)) throw Error(BERTRT_ERROR_IO, "'" + path + "' is a vocab.json but no merges.txt is beside it");
  return from_bpe_files(text, read_text_file(merges.string()));
}

}  // namespace bertrt::core
