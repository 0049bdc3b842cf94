// The C API: argument checks, then the C++ implementation under guard_call (no exception escapes).
#include "bertrt/bertrt.h"

#include "c_api_types.h"
#include "common/error.h"

using bertrt::Error;
using bertrt::guard_call;

namespace {

template <typename T>
void require(const T* p, const char* name) {
  if (!p) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, std::string(name) + " is NULL");
}

// A BERTRT_ISA that names an unknown level, or one this CPU lacks, is an error of every call that
// would compute with the kernels, not a silent fallback.
void require_isa() {
  if (const char* why = bertrt::kernels::isa_error()) throw Error(BERTRT_ERROR_UNSUPPORTED, why);
}

}  // namespace

extern "C" {

const char* bertrt_version(void) { return "0.1.0"; }

const char* bertrt_kernel_isa(void) { return bertrt::kernels::isa_name(bertrt::kernels::active().isa); }

bertrt_status bertrt_model_open(const char* path, const bertrt_open_options* options, bertrt_model** model_out) {
  return guard_call([&] {
    require(path, "path");
    require(model_out, "model_out");
    *model_out = nullptr;
    require_isa();
    const auto verify = options && options->verify_weights ? bertrt::format::Verify::all : bertrt::format::Verify::structure;
    auto model = std::make_unique<bertrt_model>();
    model->impl = bertrt::core::Model::open(path, verify);
    model->weights_verified = verify == bertrt::format::Verify::all;
    *model_out = model.release();
  });
}

void bertrt_model_free(bertrt_model* model) { delete model; }

bertrt_status bertrt_model_get_config(const bertrt_model* model, bertrt_config* config_out) {
  return guard_call([&] {
    require(model, "model");
    require(config_out, "config_out");
    const bertrt::core::ModelConfig& c = model->impl->config();
    config_out->vocab_size = static_cast<int64_t>(c.vocab_size);
    config_out->hidden_size = static_cast<int64_t>(c.hidden_size);
    config_out->num_hidden_layers = static_cast<int64_t>(c.num_layers);
    config_out->num_attention_heads = static_cast<int64_t>(c.num_heads);
    config_out->intermediate_size = static_cast<int64_t>(c.intermediate_size);
    config_out->max_position_embeddings = static_cast<int64_t>(c.max_positions);
    config_out->type_vocab_size = static_cast<int64_t>(c.type_vocab_size);
    config_out->pad_token_id = c.pad_token_id;
    config_out->layer_norm_eps = c.layer_norm_eps;
    switch (c.hidden_act) {
      case bertrt::kernels::Activation::gelu_tanh: config_out->hidden_act = BERTRT_ACTIVATION_GELU_TANH; break;
      case bertrt::kernels::Activation::relu: config_out->hidden_act = BERTRT_ACTIVATION_RELU; break;
      default: config_out->hidden_act = BERTRT_ACTIVATION_GELU; break;
    }
    config_out->has_pooler = model->impl->has_pooler() ? 1 : 0;
    config_out->default_pool = c.default_pool;
    config_out->default_normalize = c.default_normalize ? 1 : 0;
    config_out->weight_dtype = c.weight_dtype.c_str();
    config_out->family = bertrt::core::family_name(c.family);
    config_out->embedding_size = static_cast<int64_t>(c.embedding_size);
    config_out->max_sequence_length = static_cast<int64_t>(c.max_seq_len);
  });
}

bertrt_status bertrt_session_create(const bertrt_model* model, bertrt_session** session_out) {
  return guard_call([&] {
    require(model, "model");
    require(session_out, "session_out");
    *session_out = nullptr;
    require_isa();
    *session_out = new bertrt_session(model->impl);
  });
}

void bertrt_session_free(bertrt_session* session) { delete session; }

bertrt_status bertrt_session_set_threads(bertrt_session* session, int threads) {
  return guard_call([&] {
    require(session, "session");
    session->impl.set_threads(threads);
  });
}

bertrt_status bertrt_session_lookup(bertrt_session* session, const int64_t* input_ids, size_t batch, size_t seq_len,
                                    float* inputs_embeds_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.lookup(input_ids, batch, seq_len, inputs_embeds_out);
  });
}

bertrt_status bertrt_session_embed(bertrt_session* session, const float* inputs_embeds, const int64_t* token_type_ids,
                                   const int64_t* position_ids, size_t batch, size_t seq_len,
                                   float* embedding_output_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.embed(inputs_embeds, token_type_ids, position_ids, batch, seq_len, embedding_output_out);
  });
}

bertrt_status bertrt_session_project(bertrt_session* session, const float* embedding_output, size_t batch,
                                     size_t seq_len, float* hidden_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.project(embedding_output, batch, seq_len, hidden_out);
  });
}

bertrt_status bertrt_session_encode(bertrt_session* session, const float* hidden, const int64_t* attention_mask,
                                    size_t batch, size_t seq_len, const bertrt_encode_outputs* extra,
                                    float* last_hidden_state_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.encode(hidden, attention_mask, batch, seq_len, extra ? extra->hidden_states : nullptr,
                         extra ? extra->attentions : nullptr, last_hidden_state_out);
  });
}

bertrt_status bertrt_session_pool(bertrt_session* session, const float* last_hidden_state,
                                  const int64_t* attention_mask, size_t batch, size_t seq_len, bertrt_pool_mode mode,
                                  int normalize, float* pooled_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.pool(last_hidden_state, attention_mask, batch, seq_len, mode, normalize != 0, pooled_out);
  });
}

bertrt_status bertrt_session_forward(bertrt_session* session, const bertrt_forward_inputs* inputs,
                                     const bertrt_forward_outputs* outputs) {
  return guard_call([&] {
    require(session, "session");
    require(inputs, "inputs");
    require(outputs, "outputs");
    session->impl.forward(*inputs, *outputs);
  });
}

// -------------------------------------------------------- packed batches

bertrt_status bertrt_session_forward_packed(bertrt_session* session, const bertrt_packed_inputs* inputs,
                                            const bertrt_forward_outputs* outputs) {
  return guard_call([&] {
    require(session, "session");
    require(inputs, "inputs");
    require(outputs, "outputs");
    session->impl.forward_packed(*inputs, *outputs);
  });
}

bertrt_status bertrt_session_embed_packed(bertrt_session* session, const float* inputs_embeds,
                                          const int64_t* token_type_ids, const int64_t* position_ids,
                                          const int64_t* offsets, size_t batch, float* embedding_output_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.embed_packed(inputs_embeds, token_type_ids, position_ids, offsets, batch, embedding_output_out);
  });
}

bertrt_status bertrt_session_encode_packed(bertrt_session* session, const float* hidden, const int64_t* offsets,
                                           size_t batch, float* hidden_states, float* last_hidden_state_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.encode_packed(hidden, offsets, batch, hidden_states, last_hidden_state_out);
  });
}

bertrt_status bertrt_session_pool_packed(bertrt_session* session, const float* last_hidden_state,
                                         const int64_t* offsets, size_t batch, bertrt_pool_mode mode, int normalize,
                                         float* pooled_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.pool_packed(last_hidden_state, offsets, batch, mode, normalize != 0, pooled_out);
  });
}

bertrt_status bertrt_session_head_packed(bertrt_session* session, const float* last_hidden_state,
                                         const int64_t* offsets, size_t batch, float* logits_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.head_packed(last_hidden_state, offsets, batch, logits_out);
  });
}

// ------------------------------------------------------------------ head

const char* bertrt_head_kind_name(bertrt_head_kind kind) {
  switch (kind) {
    case BERTRT_HEAD_NONE: return "none";
    case BERTRT_HEAD_SEQUENCE: return "sequence";
    case BERTRT_HEAD_TOKEN: return "token";
    case BERTRT_HEAD_MASKED_LM: return "masked_lm";
    default: return nullptr;
  }
}

bertrt_status bertrt_model_get_head_info(const bertrt_model* model, bertrt_head_info* info_out) {
  return guard_call([&] {
    require(model, "model");
    require(info_out, "info_out");
    using bertrt::core::HeadKind;
    const bertrt::core::HeadWeights& h = model->impl->head();
    *info_out = bertrt_head_info{};
    info_out->kind = h.kind == HeadKind::sequence    ? BERTRT_HEAD_SEQUENCE
                     : h.kind == HeadKind::token     ? BERTRT_HEAD_TOKEN
                     : h.kind == HeadKind::masked_lm ? BERTRT_HEAD_MASKED_LM
                                                     : BERTRT_HEAD_NONE;
    info_out->num_labels = static_cast<int64_t>(h.labels.size());
    info_out->logits_size = h.kind == HeadKind::none ? 0 : static_cast<int64_t>(h.logits_size());
    info_out->problem_type = h.problem_type.c_str();
    info_out->architecture = h.architecture.c_str();
  });
}

bertrt_status bertrt_model_get_head_label(const bertrt_model* model, size_t index, const char** label_out) {
  return guard_call([&] {
    require(model, "model");
    require(label_out, "label_out");
    *label_out = nullptr;
    const auto& labels = model->impl->head().labels;
    if (index >= labels.size())
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "label index " + std::to_string(index) + " is outside the head's " +
                                                     std::to_string(labels.size()) + " labels");
    *label_out = labels[index].c_str();
  });
}

bertrt_status bertrt_session_head(bertrt_session* session, const float* last_hidden_state,
                                  const int64_t* attention_mask, size_t batch, size_t seq_len, float* logits_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.head(last_hidden_state, attention_mask, batch, seq_len, logits_out);
  });
}

bertrt_status bertrt_session_head_at(bertrt_session* session, const float* last_hidden_state, size_t batch,
                                     size_t seq_len, const int64_t* positions, size_t count, float* logits_out) {
  return guard_call([&] {
    require(session, "session");
    session->impl.head_at(last_hidden_state, batch, seq_len, positions, count, logits_out);
  });
}

}  // extern "C"
