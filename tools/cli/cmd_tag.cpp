// bertrt tag: a token-classification head's label per token and the entities they form.
#include <cstdio>

#include "cli/commands.h"
#include "cli/task_heads.h"
#include "cli/verb_common.h"

namespace bertrt::cli {

int cmd_tag(int argc, char** argv) {
  const Args args(argc, argv, 2, kVerbValueOptions, {"--help"});
  if (args.flag("--help")) {
    std::puts(
        "usage: bertrt tag MODEL TEXT... [--input FILE] [--batch-size N] [--max-length N] [--threads N]\n"
        "A token-classification head's predictions, one JSON line a text, in input order:\n"
        "  {\"tokens\": [{\"token\", \"label\", \"score\", \"start\", \"end\"}, ...],\n"
        "   \"entities\": [{\"entity_group\", \"score\", \"word\", \"start\", \"end\"}, ...]}\n"
        "Each token (special tokens left out) gets its best label and that label's softmax probability;\n"
        "start/end are byte offsets [start, end) into the text. Entities are grouped as Hugging Face's\n"
        "token-classification pipeline with aggregation_strategy=\"simple\": a new entity starts at B-X, or at\n"
        "I-X after a token of another type; its score is the mean of its tokens' scores, its word the text\n"
        "from its first token's start to its last token's end; O tokens form no entity.");
    return 0;
  }
  if (args.positional().empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "tag needs MODEL (see --help)");
  const std::vector<std::string> texts = gather_texts(args, "tag");
  VerbModel m(args, args.positional()[0]);
  heads::require_head(m.model, BERTRT_HEAD_TOKEN, "tag");
  const std::vector<std::string> labels = m.model.labels();
  const size_t L = labels.size();
  std::vector<Encoding> encodings;
  for (const std::string& t : texts) encodings.push_back(m.encode(t));
  std::vector<std::vector<float>> logits =
      heads::token_logits(m.session, m.model, encodings, m.batch_size, m.tok().pad_id());
  for (size_t i = 0; i < texts.size(); ++i) {
    const Encoding& e = encodings[i];
    heads::apply_scores(logits[i], L, heads::ScoreFunction::softmax);
    std::vector<heads::TokenTag> tags;
    nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
    for (size_t t = 0; t < e.ids.size(); ++t) {
      if (e.sequence_ids[t] < 0) continue;  // [CLS], [SEP], ...
      const std::span<const float> row(logits[i].data() + t * L, L);
      const size_t best = heads::top_k(row, 1)[0];
      tags.push_back({labels[best], row[best], e.offsets[2 * t], e.offsets[2 * t + 1]});
      tokens.push_back({{"token", e.tokens[t]}, {"label", labels[best]}, {"score", json_float(row[best])},
                        {"start", e.offsets[2 * t]}, {"end", e.offsets[2 * t + 1]}});
    }
    nlohmann::ordered_json entities = nlohmann::ordered_json::array();
    for (const heads::Entity& ent : heads::group_entities(tags, texts[i]))
      entities.push_back({{"entity_group", ent.entity_group}, {"score", json_float(ent.score)}, {"word", ent.word},
                          {"start", ent.start}, {"end", ent.end}});
    nlohmann::ordered_json out;
    out["tokens"] = tokens;
    out["entities"] = entities;
    print_json_line(out);
  }
  report_truncated(m, "tag");
  return 0;
}

}  // namespace bertrt::cli
