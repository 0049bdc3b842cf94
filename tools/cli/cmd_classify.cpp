// bertrt classify: a sequence-classification head's labels with probabilities, one JSON line a text.
#include <cstdio>

#include "cli/commands.h"
#include "cli/task_heads.h"
#include "cli/verb_common.h"

namespace bertrt::cli {

int cmd_classify(int argc, char** argv) {
  std::set<std::string> values = kVerbValueOptions;
  values.insert({"--pair", "--function"});
  const Args args(argc, argv, 2, values, {"--help"});
  if (args.flag("--help")) {
    std::puts(
        "usage: bertrt classify MODEL TEXT... [--pair TEXT]... [--input FILE] [--function softmax|sigmoid|none]\n"
        "         [--batch-size N] [--max-length N] [--threads N]\n"
        "A sequence-classification head's scores, one JSON line a text, in input order:\n"
        "  {\"label\": top label, \"score\": its score, \"labels\": [{\"label\", \"score\"}, ...] best first}.\n"
        "Scores: softmax over the labels; sigmoid per label when the model's problem_type is\n"
        "multi_label_classification; the raw logit for a one-label head (a regression or a reranker's score).\n"
        "--function overrides that choice. --pair: the second text of the pair, once (for every text) or once\n"
        "per text. --input FILE: more texts, one a line (.jsonl: objects with \"text\").");
    return 0;
  }
  if (args.positional().empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "classify needs MODEL (see --help)");
  const std::vector<std::string> texts = gather_texts(args, "classify");
  const std::vector<std::string> pairs = args.values("--pair");
  if (!pairs.empty() && pairs.size() != 1 && pairs.size() != texts.size())
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "give --pair once or once per text (" + std::to_string(texts.size()) +
                                                   " texts, " + std::to_string(pairs.size()) + " pairs)");
  VerbModel m(args, args.positional()[0]);
  heads::require_head(m.model, BERTRT_HEAD_SEQUENCE, "classify");
  const bertrt_head_info head = m.model.head_info();
  heads::ScoreFunction f = heads::classify_function(head);
  if (auto name = args.value("--function")) {
    if (*name == "softmax") f = heads::ScoreFunction::softmax;
    else if (*name == "sigmoid") f = heads::ScoreFunction::sigmoid;
    else if (*name == "none") f = heads::ScoreFunction::none;
    else throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--function must be softmax, sigmoid or none, not '" + *name + "'");
  }
  std::vector<Encoding> encodings;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string* pair = pairs.empty() ? nullptr : &pairs[pairs.size() == 1 ? 0 : i];
    encodings.push_back(m.encode(texts[i], pair));
  }
  std::vector<float> scores = heads::sequence_logits(m.session, m.model, encodings, m.batch_size, m.tok().pad_id());
  const size_t L = static_cast<size_t>(head.num_labels);
  heads::apply_scores(scores, L, f);
  const std::vector<std::string> labels = m.model.labels();
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::span<const float> row(scores.data() + i * L, L);
    const std::vector<size_t> order = heads::top_k(row, L);
    nlohmann::ordered_json out, all = nlohmann::ordered_json::array();
    out["label"] = labels[order[0]];
    out["score"] = json_float(row[order[0]]);
    for (size_t j : order) all.push_back({{"label", labels[j]}, {"score", json_float(row[j])}});
    out["labels"] = all;
    print_json_line(out);
  }
  report_truncated(m, "classify");
  return 0;
}

}  // namespace bertrt::cli
