// bertrt rerank: a cross-encoder's scores of (query, document) pairs, best first.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "cli/commands.h"
#include "cli/task_heads.h"
#include "cli/verb_common.h"

namespace bertrt::cli {

int cmd_rerank(int argc, char** argv) {
  std::set<std::string> values = kVerbValueOptions;
  values.insert({"--query", "--top-k"});
  const Args args(argc, argv, 2, values, {"--help", "--sigmoid", "--documents"});
  if (args.flag("--help")) {
    std::puts(
        "usage: bertrt rerank MODEL --query Q (DOC... | --input FILE) [--sigmoid] [--top-k K] [--documents]\n"
        "         [--batch-size N] [--max-length N] [--threads N]\n"
        "Scores each (query, document) pair with a cross-encoder (a sequence-classification head with one\n"
        "label) and prints one JSON line a document, best first: {\"index\": i, \"score\": s} (i: the\n"
        "document's place in the input, from 0; with --documents also \"document\"). The score is the raw\n"
        "logit; --sigmoid maps it to (0, 1). Pairs are tokenized as (query, document), documents cut to the\n"
        "model's length (--max-length; truncation only_second), and run --batch-size pairs at a time (default\n"
        "32), pairs of similar length together. --top-k: the K best only. --input FILE: documents one a line\n"
        "(.jsonl: objects with \"text\").");
    return 0;
  }
  if (args.positional().empty()) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "rerank needs MODEL (see --help)");
  const auto query = args.value("--query");
  if (!query) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "rerank needs --query TEXT");
  const std::vector<std::string> docs = gather_texts(args, "rerank");
  const long top = args.integer("--top-k", 0);
  if (top < 0) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--top-k must not be negative");
  VerbModel m(args, args.positional()[0]);
  heads::require_head(m.model, BERTRT_HEAD_SEQUENCE, "rerank");
  const bertrt_head_info head = m.model.head_info();
  if (head.num_labels != 1)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "rerank needs a cross-encoder (a sequence head with one label); this "
                                               "head has " + std::to_string(head.num_labels) + " labels: use classify");
  std::vector<Encoding> encodings;
  encodings.reserve(docs.size());
  for (const std::string& d : docs) encodings.push_back(m.encode(*query, &d, BERTRT_TRUNCATION_ONLY_SECOND));
  std::vector<float> scores = heads::sequence_logits(m.session, m.model, encodings, m.batch_size, m.tok().pad_id());
  if (args.flag("--sigmoid")) heads::apply_scores(scores, 1, heads::ScoreFunction::sigmoid);
  const size_t k = top > 0 ? static_cast<size_t>(top) : scores.size();
  for (size_t i : heads::top_k(scores, k)) {
    nlohmann::ordered_json out;
    out["index"] = i;
    out["score"] = json_float(scores[i]);
    if (args.flag("--documents")) out["document"] = docs[i];
    print_json_line(out);
  }
  report_truncated(m, "rerank");
  return 0;
}

}  // namespace bertrt::cli
