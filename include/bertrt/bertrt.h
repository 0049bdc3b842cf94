/*
 * bertrt — BERT-family encoders on CPUs, every stage a first-class call.
 *
 * Worked example (error checks shortened):
 *
 *   bertrt_model* model = NULL;
 *   bertrt_model_open("model.bertrt", NULL, &model);
 *   bertrt_session* session = NULL;
 *   bertrt_session_create(model, &session);
 *
 *   int64_t input_ids[8] = {101, 7592, 1010, 2026, 3899, 2003, 10140, 102};
 *   float embeds[8 * 768], hidden[8 * 768], last[8 * 768], pooled[768];
 *   bertrt_session_lookup(session, input_ids, 1, 8, embeds);       // word_embeddings[input_ids]
 *   for (int i = 0; i < 8 * 768; ++i) embeds[i] *= 1.5f;            // edit the vectors
 *   bertrt_session_embed(session, embeds, NULL, NULL, 1, 8, hidden); // + position + type, LayerNorm
 *   bertrt_session_encode(session, hidden, NULL, 1, 8, NULL, last); // the encoder layers
 *   bertrt_session_pool(session, last, NULL, 1, 8, BERTRT_POOL_MEAN, 1, pooled);
 *
 *   bertrt_session_free(session);
 *   bertrt_model_free(model);
 *
 * Conventions
 * - Every call returns a bertrt_status; results come back through trailing *_out arguments or
 *   caller-allocated buffers. On failure, bertrt_last_error() holds a message for this thread.
 * - Tensors are dense, row-major, C order: ids/masks int64 [B, T]; vectors float32 [B, T, H].
 * - A bertrt_model is immutable after opening and may be shared by any number of threads.
 *   A bertrt_session holds one caller's scratch memory; use one session per thread.
 * - The library never aborts the process on bad input.
 */
#ifndef BERTRT_BERTRT_H
#define BERTRT_BERTRT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(BERTRT_SHARED_BUILD)
#define BERTRT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define BERTRT_API __attribute__((visibility("default")))
#else
#define BERTRT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

typedef enum bertrt_status {
  BERTRT_OK = 0,
  BERTRT_ERROR_INVALID_ARGUMENT = 1, /* NULL pointer, unknown option value */
  BERTRT_ERROR_IO = 2,               /* file cannot be opened, read, mapped or written */
  BERTRT_ERROR_FORMAT = 3,           /* malformed, truncated or inconsistent model file */
  BERTRT_ERROR_CHECKSUM = 4,         /* model file checksum mismatch */
  BERTRT_ERROR_UNSUPPORTED = 5,      /* valid but unsupported (format version, dtype, ...) */
  BERTRT_ERROR_SHAPE = 6,            /* B or T zero, mismatched shapes or buffer sizes */
  BERTRT_ERROR_TOKEN_ID = 7,         /* token id outside [0, vocab_size) */
  BERTRT_ERROR_TOKEN_TYPE = 8,       /* token type outside [0, type_vocab_size) */
  BERTRT_ERROR_POSITION = 9,         /* position id outside [0, max_position_embeddings) */
  BERTRT_ERROR_SEQUENCE_TOO_LONG = 10, /* T > max_position_embeddings */
  BERTRT_ERROR_NO_POOLER = 11,       /* the model was converted without pooler weights */
  BERTRT_ERROR_NON_FINITE = 12,      /* NaN or Inf in caller-provided vectors */
  BERTRT_ERROR_INVALID_UTF8 = 13,    /* tokenizer input is not valid UTF-8 */
  BERTRT_ERROR_OUT_OF_MEMORY = 14,
  BERTRT_ERROR_INTERNAL = 15,
  BERTRT_ERROR_ATTENTION_MASK = 16   /* attention_mask values other than 0 and 1 */
} bertrt_status;

/* A constant name for a status ("BERTRT_ERROR_SHAPE", ...). */
BERTRT_API const char* bertrt_status_str(bertrt_status status);
/* The message of the last failed call on this thread ("" if none). Valid until the next call. */
BERTRT_API const char* bertrt_last_error(void);

/* Library version "MAJOR.MINOR.PATCH" and the kernel ISA chosen at start-up ("avx512", ...). */
BERTRT_API const char* bertrt_version(void);
BERTRT_API const char* bertrt_kernel_isa(void);

/* ----------------------------------------------------------------- model */

typedef struct bertrt_model bertrt_model;
typedef struct bertrt_session bertrt_session;

typedef enum bertrt_pool_mode {
  BERTRT_POOL_CLS = 0,    /* token 0 of last_hidden_state */
  BERTRT_POOL_MEAN = 1,   /* mean over tokens whose attention_mask is 1 */
  BERTRT_POOL_MAX = 2,    /* element-wise max over tokens whose attention_mask is 1 */
  BERTRT_POOL_POOLER = 3, /* BERT's pooler: tanh(dense(last_hidden_state[:, 0])) */
  /* Not a mode: keeps the enum 32 bits wide, so any int a caller passes is a value the library
   * can read and reject. */
  BERTRT_POOL_MODE_MAX_ENUM = 0x7fffffff
} bertrt_pool_mode;

typedef enum bertrt_activation {
  BERTRT_ACTIVATION_GELU = 0,      /* exact erf form ("gelu") */
  BERTRT_ACTIVATION_GELU_TANH = 1, /* tanh approximation ("gelu_new", "gelu_pytorch_tanh") */
  BERTRT_ACTIVATION_RELU = 2,
  BERTRT_ACTIVATION_MAX_ENUM = 0x7fffffff /* not an activation: keeps the enum 32 bits wide */
} bertrt_activation;

typedef struct bertrt_open_options {
  /* Opening always bounds-checks every section and tensor and verifies the header checksum
     (header, metadata, tensor table). Nonzero: also verify every tensor's data checksum, which
     reads the whole file once (~70 ms for bert-base); a damaged weight cannot make the runtime
     read out of bounds, only compute with wrong numbers. */
  int verify_weights;
} bertrt_open_options;

typedef struct bertrt_config {
  int64_t vocab_size;
  int64_t hidden_size;
  int64_t num_hidden_layers;
  int64_t num_attention_heads;
  int64_t intermediate_size;
  int64_t max_position_embeddings;
  int64_t type_vocab_size;
  int64_t pad_token_id;
  double layer_norm_eps;
  bertrt_activation hidden_act;
  int has_pooler;                 /* pooler weights present */
  bertrt_pool_mode default_pool;  /* from sentence-transformers config, else MEAN */
  int default_normalize;          /* sentence-transformers Normalize module present */
  const char* weight_dtype;       /* "f32", "f16" or "bf16" */
} bertrt_config;

BERTRT_API bertrt_status bertrt_model_open(const char* path, const bertrt_open_options* options,
                                           bertrt_model** model_out);
BERTRT_API void bertrt_model_free(bertrt_model* model);
BERTRT_API bertrt_status bertrt_model_get_config(const bertrt_model* model, bertrt_config* config_out);

/* --------------------------------------------------------------- session */

BERTRT_API bertrt_status bertrt_session_create(const bertrt_model* model, bertrt_session** session_out);
BERTRT_API void bertrt_session_free(bertrt_session* session);
/* Threads used by this session's calls (0 = the OpenMP default). */
BERTRT_API bertrt_status bertrt_session_set_threads(bertrt_session* session, int threads);

/* inputs_embeds_out[B, T, H] = word_embeddings[input_ids[B, T]]. Nothing else is computed. */
BERTRT_API bertrt_status bertrt_session_lookup(bertrt_session* session, const int64_t* input_ids,
                                               size_t batch, size_t seq_len, float* inputs_embeds_out);

/* embedding_output[B, T, H] = LayerNorm(inputs_embeds + position_embeddings[position_ids]
 *                                        + token_type_embeddings[token_type_ids]).
 * token_type_ids NULL: zeros. position_ids NULL: 0..T-1 in every row. inputs_embeds may be any
 * caller vectors; NaN/Inf in them is rejected with BERTRT_ERROR_NON_FINITE. */
BERTRT_API bertrt_status bertrt_session_embed(bertrt_session* session, const float* inputs_embeds,
                                              const int64_t* token_type_ids, const int64_t* position_ids,
                                              size_t batch, size_t seq_len, float* embedding_output_out);

typedef struct bertrt_encode_outputs {
  /* Optional: [L + 1, B, T, H]: the input hidden state (0) and the output of every layer,
   * as Hugging Face's output_hidden_states. */
  float* hidden_states;
  /* Optional: [L, B, heads, T, T] attention probabilities of every layer. */
  float* attentions;
} bertrt_encode_outputs;

/* last_hidden_state_out[B, T, H] = the encoder layers applied to hidden[B, T, H].
 * attention_mask NULL: all ones. Keys with mask 0 are ignored; outputs at masked positions are
 * finite but unspecified. extra may be NULL. */
BERTRT_API bertrt_status bertrt_session_encode(bertrt_session* session, const float* hidden,
                                               const int64_t* attention_mask, size_t batch, size_t seq_len,
                                               const bertrt_encode_outputs* extra, float* last_hidden_state_out);

/* pooled_out[B, H] from last_hidden_state[B, T, H]; normalize nonzero divides each row by its
 * L2 norm (at least 1e-12). attention_mask NULL: all ones. */
BERTRT_API bertrt_status bertrt_session_pool(bertrt_session* session, const float* last_hidden_state,
                                             const int64_t* attention_mask, size_t batch, size_t seq_len,
                                             bertrt_pool_mode mode, int normalize, float* pooled_out);

typedef struct bertrt_forward_inputs {
  const int64_t* input_ids;      /* [B, T]; exactly one of input_ids and inputs_embeds */
  const float* inputs_embeds;    /* [B, T, H] */
  const int64_t* attention_mask; /* [B, T] or NULL */
  const int64_t* token_type_ids; /* [B, T] or NULL */
  const int64_t* position_ids;   /* [B, T] or NULL */
  size_t batch;
  size_t seq_len;
} bertrt_forward_inputs;

typedef struct bertrt_forward_outputs {
  float* last_hidden_state; /* [B, T, H], required */
  float* embedding_output;  /* [B, T, H], optional */
  float* pooler_output;     /* [B, H], optional; BERTRT_ERROR_NO_POOLER if the model has none */
  float* hidden_states;     /* [L + 1, B, T, H], optional */
  float* attentions;        /* [L, B, heads, T, T], optional */
} bertrt_forward_outputs;

/* lookup (when input_ids is given) -> embed -> encode (-> pooler). */
BERTRT_API bertrt_status bertrt_session_forward(bertrt_session* session, const bertrt_forward_inputs* inputs,
                                                const bertrt_forward_outputs* outputs);

/* ------------------------------------------------------------- tokenizer */

typedef struct bertrt_tokenizer bertrt_tokenizer;
typedef struct bertrt_encoding bertrt_encoding;

typedef enum bertrt_truncation {
  BERTRT_TRUNCATION_LONGEST_FIRST = 0,
  BERTRT_TRUNCATION_ONLY_FIRST = 1,
  BERTRT_TRUNCATION_ONLY_SECOND = 2,
  BERTRT_TRUNCATION_MAX_ENUM = 0x7fffffff /* not a strategy: keeps the enum 32 bits wide */
} bertrt_truncation;

typedef struct bertrt_tokenizer_options {
  int do_lower_case;         /* lowercase (and strip accents unless strip_accents says otherwise) */
  int strip_accents;         /* -1: follow do_lower_case; 0: never; 1: always */
  int tokenize_chinese_chars;/* put spaces around CJK ideographs */
} bertrt_tokenizer_options;

/* The tokenizer stored in a model file (it keeps its own copy: free it in any order). */
BERTRT_API bertrt_status bertrt_tokenizer_from_model(const bertrt_model* model, bertrt_tokenizer** tokenizer_out);
/* A tokenizer from a plain vocab.txt (one token a line, split on '\n' only). options NULL: uncased. */
BERTRT_API bertrt_status bertrt_tokenizer_from_vocab_file(const char* vocab_path, const bertrt_tokenizer_options* options,
                                                          bertrt_tokenizer** tokenizer_out);
BERTRT_API void bertrt_tokenizer_free(bertrt_tokenizer* tokenizer);
BERTRT_API size_t bertrt_tokenizer_vocab_size(const bertrt_tokenizer* tokenizer);
/* The token string of an id, or NULL when out of range. */
BERTRT_API const char* bertrt_tokenizer_id_to_token(const bertrt_tokenizer* tokenizer, int64_t id);

/* Encodes text (and text_pair, may be NULL) with [CLS]/[SEP]. max_length 0: no truncation.
 * Lengths are in bytes; texts must be valid UTF-8. */
BERTRT_API bertrt_status bertrt_tokenizer_encode(const bertrt_tokenizer* tokenizer, const char* text, size_t text_len,
                                                 const char* text_pair, size_t text_pair_len, size_t max_length,
                                                 bertrt_truncation truncation, bertrt_encoding** encoding_out);
BERTRT_API void bertrt_encoding_free(bertrt_encoding* encoding);
BERTRT_API size_t bertrt_encoding_length(const bertrt_encoding* encoding);
BERTRT_API const int64_t* bertrt_encoding_ids(const bertrt_encoding* encoding);
BERTRT_API const int64_t* bertrt_encoding_token_type_ids(const bertrt_encoding* encoding);
BERTRT_API const int64_t* bertrt_encoding_attention_mask(const bertrt_encoding* encoding);
/* [length, 2]: each token's [start, end) in bytes of its own input text; special tokens (0, 0). */
BERTRT_API const int64_t* bertrt_encoding_offsets(const bertrt_encoding* encoding);
/* Which text each token came from: 0, 1, or -1 for special tokens. */
BERTRT_API const int64_t* bertrt_encoding_sequence_ids(const bertrt_encoding* encoding);

/* Batch encoding into caller buffers [batch, padded_len], padded with pad id / type 0 / mask 0.
 * pad_to 0: pad to the longest row; otherwise to pad_to (rows longer than pad_to are an error
 * unless max_length truncates them). text_pairs may be NULL. padded_len_out receives the width. */
BERTRT_API bertrt_status bertrt_tokenizer_encode_batch_size(const bertrt_tokenizer* tokenizer, const char* const* texts,
                                                            const char* const* text_pairs, size_t batch, size_t max_length,
                                                            bertrt_truncation truncation, size_t pad_to,
                                                            size_t* padded_len_out);
BERTRT_API bertrt_status bertrt_tokenizer_encode_batch(const bertrt_tokenizer* tokenizer, const char* const* texts,
                                                       const char* const* text_pairs, size_t batch, size_t max_length,
                                                       bertrt_truncation truncation, size_t padded_len,
                                                       int64_t* input_ids_out, int64_t* token_type_ids_out,
                                                       int64_t* attention_mask_out);

#ifdef __cplusplus
}
#endif

#endif /* BERTRT_BERTRT_H */
