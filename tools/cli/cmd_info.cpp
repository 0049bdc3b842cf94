#include <cinttypes>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "format/model_file.h"
#include "kernels/kernels.h"
#include "model/model.h"

namespace bertrt::cli {

int cmd_info(int argc, char** argv) {
  const Args args(argc, argv, 2, {}, {"--help", "--verify-weights"});
  if (args.flag("--help")) {
    std::puts("usage: bertrt info [MODEL] [--verify-weights]\nPrints the kernel ISA chosen for this CPU and, with MODEL,\n"
              "the model's config, tokenizer settings, tensors (name, dtype, shape, bytes) and checksums.\n"
              "--verify-weights: also verify every tensor's data checksum (reads the whole file).");
    return 0;
  }
  const kernels::KernelTable& table = kernels::active();
  std::printf("bertrt %s\nkernels: %s (best for this CPU: %s)\n", bertrt_version(), kernels::isa_name(table.isa),
              kernels::isa_name(kernels::best_isa()));
  if (const char* why = kernels::isa_error()) std::printf("  BERTRT_ISA: %s\n", why);
  for (size_t i = 0; i < kernels::kernel_count(); ++i) std::printf("  %s\n", kernels::kernel_name(table, i));
  if (args.positional().empty()) return 0;
  const std::string path = args.positional()[0];
  const bool verify_weights = args.flag("--verify-weights");
  auto model = core::Model::open(path, verify_weights ? format::Verify::all : format::Verify::structure);
  const auto& c = model->config();
  const auto& f = model->file();
  std::printf("model: %s\nformat version: %u\nheader checksum: %016" PRIx64 " (verified)\ntensor data: %s\n",
              path.c_str(), f.version(), f.checksum(),
              verify_weights ? "every tensor's checksum verified" : "not verified (--verify-weights checks it)");
  std::printf("config:\n  vocab_size %zu\n  hidden_size %zu\n  num_hidden_layers %zu\n  num_attention_heads %zu\n"
              "  intermediate_size %zu\n  max_position_embeddings %zu\n  type_vocab_size %zu\n  pad_token_id %" PRId64
              "\n  layer_norm_eps %g\n  hidden_act %s\n  weight_dtype %s\n  pooler %s\n",
              c.vocab_size, c.hidden_size, c.num_layers, c.num_heads, c.intermediate_size, c.max_positions,
              c.type_vocab_size, c.pad_token_id, static_cast<double>(c.layer_norm_eps), c.hidden_act_name.c_str(),
              c.weight_dtype.c_str(), model->has_pooler() ? "yes" : "no");
  std::printf("pooling: %s%s\n", core::pool_mode_name(c.default_pool), c.default_normalize ? " + normalize" : "");
  const auto& t = model->tokenizer_data();
  std::printf("tokenizer: %zu tokens, do_lower_case %d, strip_accents %d, tokenize_chinese_chars %d, model_max_length %" PRId64 "\n",
              t.vocab ? t.vocab->size() : 0, t.do_lower_case ? 1 : 0, t.strip_accents, t.tokenize_chinese_chars ? 1 : 0,
              t.model_max_length);
  uint64_t total = 0;
  std::printf("tensors: %zu\n", f.tensors().size());
  for (const auto& ti : f.tensors()) {
    std::string shape;
    for (size_t i = 0; i < ti.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(ti.shape[i]);
    std::printf("  %-40s %-5s [%s] %" PRIu64 " bytes\n", ti.name.c_str(), format::dtype_name(ti.dtype), shape.c_str(),
                ti.nbytes);
    total += ti.nbytes;
  }
  std::printf("tensor bytes: %" PRIu64 "\n", total);
  return 0;
}

}  // namespace bertrt::cli
