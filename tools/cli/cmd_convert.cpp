#include <cstdio>

#include "bertrt/error.hpp"
#include "bertrt/convert.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace bertrt::cli {
namespace {

void print_note(const char* message, void*) { std::fprintf(stderr, "note: %s\n", message); }

}  // namespace

int cmd_convert(int argc, char** argv) {
  const Args args(argc, argv, 2, {"--dtype", "--output"}, {"--help", "--quiet", "--no-heads", "--bf16-storage-only"});
  if (args.flag("--help")) {
    std::puts("usage: bertrt convert HF_DIR -o MODEL [--dtype f32|f16|bf16|int8] [--bf16-storage-only] [--no-heads]\n"
              "       [--quiet]\n"
              "Reads config.json, vocab.txt, tokenizer_config.json, special_tokens_map.json, sentence-transformers\n"
              "modules and the weights (model.safetensors [sharded], pytorch_model.bin, tf_model.h5).\n"
              "--dtype sets the storage of the word embeddings and weight matrices (default f32);\n"
              "int8 quantizes the weight matrices per output column and keeps the embeddings f32.\n"
              "bf16 packs the encoder matrices for bf16 dot-product kernels and rounds each layer's input to\n"
              "bf16 at run time; --bf16-storage-only keeps bf16 weights in the f32 kernels' layout instead\n"
              "(activations stay f32).\n"
              "The task head config.json's architecture names (*ForSequenceClassification, *ForTokenClassification,\n"
              "*ForMaskedLM) is kept; --no-heads converts the base model alone.");
    return 0;
  }
  if (args.positional().size() != 1) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "convert takes one HF_DIR");
  auto out = args.value("-o");
  if (!out) out = args.value("--output");
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "convert needs -o MODEL");
  const std::string dtype = args.value("--dtype").value_or("f32");
  if (dtype != "f32" && dtype != "f16" && dtype != "bf16" && dtype != "int8")
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--dtype must be f32, f16, bf16 or int8");
  bertrt_convert_options options{};
  options.dtype = dtype.c_str();
  options.no_heads = args.flag("--no-heads") ? 1 : 0;
  if (args.flag("--bf16-storage-only")) {
    if (dtype != "bf16") throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--bf16-storage-only needs --dtype bf16");
    options.bf16_storage_only = 1;
  }
  if (!args.flag("--quiet")) options.note = print_note;
  const bertrt_status status = bertrt_convert(args.positional()[0].c_str(), out->c_str(), &options);
  if (status != BERTRT_OK) throw Error(status, bertrt_last_error());
  if (!args.flag("--quiet")) std::fprintf(stderr, "wrote %s\n", out->c_str());
  return 0;
}

}  // namespace bertrt::cli
