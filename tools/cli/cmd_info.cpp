#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "cli/args.h"
#include "cli/commands.h"

namespace bertrt::cli {
namespace {

void print_kernels() {
  std::printf("bertrt %s\nkernels: %s (best for this CPU: %s)\n", bertrt_version(), bertrt_kernel_isa(),
              bertrt_kernel_best_isa());
  if (const char* why = bertrt_kernel_isa_error()) std::printf("  BERTRT_ISA: %s\n", why);
  for (size_t i = 0; i < bertrt_kernel_count(); ++i) std::printf("  %s\n", bertrt_kernel_name(i));
}

void print_config(const Model& model) {
  const bertrt_config& c = model.config();
  const bertrt_model_file_info f = model.file_info();
  std::printf("family: %s\n", c.family);
  std::printf("config:\n  vocab_size %" PRId64 "\n  hidden_size %" PRId64 "\n  num_hidden_layers %" PRId64
              "\n  num_attention_heads %" PRId64 "\n  intermediate_size %" PRId64 "\n  max_position_embeddings %" PRId64
              "\n  type_vocab_size %" PRId64 "\n  pad_token_id %" PRId64
              "\n  layer_norm_eps %g\n  hidden_act %s\n  weight_dtype %s\n  pooler %s\n",
              c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size,
              c.max_position_embeddings, c.type_vocab_size, c.pad_token_id,
              c.layer_norm_eps, f.hidden_act, c.weight_dtype,
              c.has_pooler ? "yes" : "no");
  if (c.embedding_size != c.hidden_size) std::printf("  embedding_size %" PRId64 "\n", c.embedding_size);
  std::printf("  max_sequence_length %" PRId64 "\n", c.max_sequence_length);
  std::printf("pooling: %s%s\n", pool_mode_name(c.default_pool).c_str(), c.default_normalize ? " + normalize" : "");
  const bertrt_head_info head = model.head_info();
  if (head.kind == BERTRT_HEAD_NONE) {
    std::printf("head: none\n");
  } else {
    std::printf("head: %s (%s), %" PRId64 " logits per %s\n", bertrt_head_kind_name(head.kind), head.architecture,
                head.logits_size, head.kind == BERTRT_HEAD_SEQUENCE ? "sequence" : "token");
    if (head.num_labels > 0) {
      std::printf("  num_labels %" PRId64 "\n  labels:", head.num_labels);
      const std::vector<std::string> labels = model.labels();
      for (size_t i = 0; i < labels.size(); ++i) std::printf(" %zu=%s", i, labels[i].c_str());
      std::printf("\n");
    }
    if (*head.problem_type) std::printf("  problem_type %s\n", head.problem_type);
  }
  const bertrt_tokenizer_settings t = model.tokenizer_settings();
  std::printf("tokenizer: %zu tokens, do_lower_case %d, strip_accents %d, tokenize_chinese_chars %d, model_max_length %" PRId64 "\n",
              t.vocab_size, t.do_lower_case, t.strip_accents, t.tokenize_chinese_chars, t.model_max_length);
}

void print_tensors(const Model& model) {
  const size_t count = model.file_info().tensor_count;
  uint64_t total = 0;
  std::printf("tensors: %zu\n", count);
  for (size_t i = 0; i < count; ++i) {
    const bertrt_tensor_info ti = model.tensor_info(i);
    std::string shape;
    for (size_t d = 0; d < ti.ndim; ++d) shape += (d ? ", " : "") + std::to_string(ti.shape[d]);
    std::printf("  %-40s %-5s %-9s [%s] %" PRIu64 " bytes\n", ti.name, ti.dtype, ti.layout, shape.c_str(), ti.nbytes);
    total += ti.nbytes;
  }
  std::printf("tensor bytes: %" PRIu64 "\n", total);
}

}  // namespace

int cmd_info(int argc, char** argv) {
  const Args args(argc, argv, 2, {}, {"--help", "--verify-weights"});
  if (args.flag("--help")) {
    std::puts("usage: bertrt info [MODEL] [--verify-weights]\nPrints the kernel ISA chosen for this CPU and, with MODEL,\n"
              "the model's config, tokenizer settings, tensors (name, dtype, layout, shape, bytes) and checksums.\n"
              "--verify-weights: also verify every tensor's data checksum (reads the whole file).");
    return 0;
  }
  print_kernels();
  if (args.positional().empty()) return 0;
  const std::string path = args.positional()[0];
  const Model model(path, args.flag("--verify-weights"));
  const bertrt_model_file_info f = model.file_info();
  std::printf("model: %s\nformat version: %u\nheader checksum: %016" PRIx64 " (verified)\ntensor data: %s\n",
              path.c_str(), f.format_version, f.header_checksum,
              f.weights_verified ? "every tensor's checksum verified" : "not verified (--verify-weights checks it)");
  print_config(model);
  print_tensors(model);
  return 0;
}

}  // namespace bertrt::cli
