// bertrt: the command-line tool.
#include <cstdio>
#include <cstring>
#include <string>

#include "bertrt/bertrt.h"
#include "bertrt/error.hpp"
#include "cli/commands.h"
#include "serve/launch.h"

namespace {

const char* kUsage =
    "usage: bertrt <command> [options]\n"
    "\n"
    "commands:\n"
    "  convert HF_DIR -o MODEL [--dtype f32|f16|bf16|int8]   Hugging Face checkpoint -> model file\n"
    "  info [MODEL]                                     config, tensors, checksums; kernels chosen\n"
    "  tokenize (MODEL | --tokenizer PATH | --vocab vocab.txt [--cased]) TEXT...   text -> ids, tokens, offsets\n"
    "  run MODEL --stage lookup|embed|encode|forward --out DIR [inputs...]   run one stage on .npy inputs\n"
    "  embed MODEL (TEXT... | --input FILE --output OUT.npy|.jsonl) [--sparse]   sentence embeddings (SPLADE)\n"
    "  classify MODEL TEXT... [--pair TEXT]             sequence-classification labels and probabilities\n"
    "  rerank MODEL --query Q (DOC... | --input FILE)   cross-encoder scores, best first\n"
    "  tag MODEL TEXT...                                token labels and entities (token-classification head)\n"
    "  fill-mask MODEL TEXT... [--top-k K]              best tokens at each mask token (masked-LM head)\n"
    "  serve MODEL [--host H] [--port P] [--threads N] ...   HTTP embedding server (docs/serve.md)\n"
    "  bench MODEL [--threads N] [--shapes 1x8,1x128,...] [--runs R] [--json]   forward latency per shape\n"
    "\n"
    "Run 'bertrt <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "convert") return bertrt::cli::cmd_convert(argc, argv);
    if (command == "info") return bertrt::cli::cmd_info(argc, argv);
    if (command == "run") return bertrt::cli::cmd_run(argc, argv);
    if (command == "bench") return bertrt::cli::cmd_bench(argc, argv);
    if (command == "tokenize") return bertrt::cli::cmd_tokenize(argc, argv);
    if (command == "embed") return bertrt::cli::cmd_embed(argc, argv);
    if (command == "classify") return bertrt::cli::cmd_classify(argc, argv);
    if (command == "rerank") return bertrt::cli::cmd_rerank(argc, argv);
    if (command == "tag") return bertrt::cli::cmd_tag(argc, argv);
    if (command == "fill-mask") return bertrt::cli::cmd_fill_mask(argc, argv);
    if (command == "serve") return bertrt::serve::exec_server(argc, argv);
    if (command == "--version") {
      std::printf("bertrt %s\n", bertrt_version());
      return 0;
    }
    std::fprintf(stderr, "bertrt: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const bertrt::Error& e) {
    std::fprintf(stderr, "bertrt %s: error: %s\n", command.c_str(), e.what());
    return e.status() == BERTRT_ERROR_INVALID_ARGUMENT ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bertrt %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
