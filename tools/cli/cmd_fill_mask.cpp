// bertrt fill-mask: a masked-LM head's best tokens at each mask token of a text.
#include <cstdio>

#include "cli/commands.h"
#include "cli/task_heads.h"
#include "cli/verb_common.h"

namespace bertrt::cli {

int cmd_fill_mask(int argc, char** argv) {
  std::set<std::string> values = kVerbValueOptions;
  values.insert("--top-k");
  values.erase("--batch-size");
  const Args args(argc, argv, 2, values, {"--help"});
  if (args.flag("--help")) {
    std::puts(
        "usage: bertrt fill-mask MODEL TEXT... [--top-k K] [--input FILE] [--max-length N] [--threads N]\n"
        "A masked-LM head's predictions at every mask token of each text (the tokenizer's mask token:\n"
        "[MASK] for BERT, <mask> for RoBERTa), one JSON line a text, in input order:\n"
        "  {\"masks\": [[{\"token\": id, \"token_str\": string, \"score\": p}, ...], ...]}\n"
        "one list per mask token in text order, the K best tokens (default 5) by softmax probability over\n"
        "the vocabulary. Logits are computed at the mask positions only. A text without a mask token is an\n"
        "error.");
    return 0;
  }
  if (args.positional().empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "fill-mask needs MODEL (see --help)");
  const std::vector<std::string> texts = gather_texts(args, "fill-mask");
  const long k = args.integer("--top-k", 5);
  if (k <= 0) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--top-k must be positive");
  VerbModel m(args, args.positional()[0]);
  heads::require_head(m.model, BERTRT_HEAD_MASKED_LM, "fill-mask");
  std::vector<Encoding> encodings;
  for (const std::string& t : texts) encodings.push_back(m.encode(t));
  const int64_t mask_id = heads::mask_token_id(m.model, m.tok());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<std::vector<heads::MaskCandidate>> found;
    try {
      found = heads::fill_mask(m.session, m.model, m.tok(), encodings[i], mask_id, static_cast<size_t>(k));
    } catch (const Error& e) {
      throw Error(e.status(), "text " + std::to_string(i) + ": " + e.what());
    }
    nlohmann::ordered_json masks = nlohmann::ordered_json::array();
    for (const auto& position : found) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const heads::MaskCandidate& c : position)
        list.push_back({{"token", c.token_id}, {"token_str", c.token}, {"score", json_float(c.score)}});
      masks.push_back(list);
    }
    print_json_line(nlohmann::ordered_json{{"masks", masks}});
  }
  report_truncated(m, "fill-mask");
  return 0;
}

}  // namespace bertrt::cli
