#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "convert/convert.h"

namespace bertrt::cli {

int cmd_convert(int argc, char** argv) {
  const Args args(argc, argv, 2, {"--dtype", "--output"}, {"--help", "--quiet"});
  if (args.flag("--help")) {
    std::puts("usage: bertrt convert HF_DIR -o MODEL [--dtype f32|f16|bf16] [--quiet]\n"
              "Reads config.json, vocab.txt, tokenizer_config.json, special_tokens_map.json, sentence-transformers\n"
              "modules and the weights (model.safetensors [sharded], pytorch_model.bin, tf_model.h5).\n"
              "--dtype sets the storage of the word embeddings and weight matrices (default f32).");
    return 0;
  }
  if (args.positional().size() != 1) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "convert takes one HF_DIR");
  auto out = args.value("-o");
  if (!out) out = args.value("--output");
  if (!out) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "convert needs -o MODEL");
  convert::ConvertOptions options;
  const std::string dtype = args.value("--dtype").value_or("f32");
  if (dtype == "f32") options.dtype = format::TensorDType::f32;
  else if (dtype == "f16") options.dtype = format::TensorDType::f16;
  else if (dtype == "bf16") options.dtype = format::TensorDType::bf16;
  else throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--dtype must be f32, f16 or bf16");
  if (!args.flag("--quiet")) options.note = [](const std::string& s) { std::fprintf(stderr, "note: %s\n", s.c_str()); };
  convert::convert_directory(args.positional()[0], *out, options);
  if (!args.flag("--quiet")) std::fprintf(stderr, "wrote %s\n", out->c_str());
  return 0;
}

}  // namespace bertrt::cli
