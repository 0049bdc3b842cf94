#include "stages/stages.h"

namespace bertrt::core {

void lookup(const Model& model, const int64_t* input_ids, size_t n, float* out) {
  const kernels::KernelTable& k = kernels::active();
  const size_t h = model.config().embedding_size;
  switch (model.word_embeddings_dtype()) {
    case kernels::DType::f32: k.gather_f32(static_cast<const float*>(model.word_embeddings()), input_ids, n, h, out); break;
    case kernels::DType::f16: k.gather_f16(static_cast<const uint16_t*>(model.word_embeddings()), input_ids, n, h, out); break;
    case kernels::DType::bf16: k.gather_bf16(static_cast<const uint16_t*>(model.word_embeddings()), input_ids, n, h, out); break;
  }
}

void default_position_ids(const ModelConfig& c, const int64_t* input_ids, size_t batch, size_t seq_len,
                          int64_t* out) {
  const auto offset = static_cast<int64_t>(c.position_offset);
  if (!roberta_positions(c.family) || !input_ids) {
    // 0..T-1 (BERT, DistilBERT, ELECTRA); padding_idx + 1 .. padding_idx + T from inputs_embeds.
    for (size_t i = 0; i < batch * seq_len; ++i) out[i] = offset + static_cast<int64_t>(i % seq_len);
    return;
  }
  // RoBERTa from ids: padding_idx + the running count of non-pad ids; pad ids get padding_idx.
  const int64_t pad = c.pad_token_id;
  for (size_t b = 0; b < batch; ++b) {
    int64_t count = 0;
    for (size_t t = 0; t < seq_len; ++t) {
      const size_t i = b * seq_len + t;
      out[i] = input_ids[i] == pad ? pad : pad + ++count;
    }
  }
}

void embed(const Model& model, Workspace& ws, const float* inputs_embeds, const int64_t* input_ids,
           const int64_t* token_type_ids, const int64_t* position_ids, const Sequences& seqs, float* out) {
  const ModelConfig& c = model.config();
  const size_t n = seqs.rows();
  // Defaults: token types 0, positions by the family's rule; one buffer [2N] holds both.
  if (!token_type_ids || !position_ids) {
    int64_t* defaults = grow(ws.ids, 2 * n);
    if (!token_type_ids) {
      for (size_t i = 0; i < n; ++i) defaults[i] = 0;
      token_type_ids = defaults;
    }
    if (!position_ids) {
      const int64_t* ids = inputs_embeds ? nullptr : input_ids;
      if (!seqs.packed()) {
        default_position_ids(c, ids, seqs.batch, seqs.seq_len, defaults + n);
      } else {
        for (size_t s = 0; s < seqs.batch; ++s) {
          const size_t r0 = seqs.first_row(s);
          default_position_ids(c, ids ? ids + r0 : nullptr, 1, seqs.length(s), defaults + n + r0);
        }
      }
      position_ids = defaults + n;
    }
  }
  kernels::EmbedLayerNormArgs a;
  a.rows = n;
  a.hidden = c.embedding_size;
  a.inputs_embeds = inputs_embeds;
  a.word_table = model.word_embeddings();
  a.word_dtype = model.word_embeddings_dtype();
  a.input_ids = input_ids;
  a.position_table = model.position_embeddings();
  a.position_ids = position_ids;
  a.type_table = model.token_type_embeddings();
  a.token_type_ids = token_type_ids;
  a.gamma = model.embeddings_ln_gamma();
  a.beta = model.embeddings_ln_beta();
  a.eps = c.layer_norm_eps;
  a.out = out;
  kernels::active().embed_layernorm(a);
}

}  // namespace bertrt::core
