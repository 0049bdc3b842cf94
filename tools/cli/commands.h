// The bertrt subcommands; each returns the process exit code and throws bertrt::Error on failure.
#pragma once

namespace bertrt::cli {

int cmd_convert(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_embed(int argc, char** argv);

}  // namespace bertrt::cli
