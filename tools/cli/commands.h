// The bertrt subcommands; each returns the process exit code and throws bertrt::Error on failure.
#pragma once

namespace bertrt::cli {

int cmd_convert(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_embed(int argc, char** argv);
int cmd_classify(int argc, char** argv);
int cmd_rerank(int argc, char** argv);
int cmd_tag(int argc, char** argv);
int cmd_fill_mask(int argc, char** argv);

class Args;
// bertrt embed --sparse (SPLADE vectors from a masked-LM head), with cmd_embed's parsed arguments.
int embed_sparse(const Args& args);

}  // namespace bertrt::cli
