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
 *   (A few getters that cannot fail return their value directly; they say so.)
 * - Tensors are dense, row-major, C order: ids/masks int64 [B, T]; vectors float32 [B, T, H].
 * - The library never aborts the process on bad input.
 *
 * Strings
 * - A `const char*` parameter without a length is a NUL-terminated UTF-8 string (paths, names).
 *   Texts given with a length (text, text_len) are (pointer, length) byte ranges: they need no
 *   NUL and may contain NUL bytes; bertrt_session_encode_texts takes either form.
 * - Returned `const char*` are NUL-terminated and owned by the library; never free them. Their
 *   lifetime is given at each call: static (lives as long as the program), "as long as the model"
 *   (until bertrt_model_free), "as long as the tokenizer", or, for bertrt_last_error, until the
 *   next bertrt call on the same thread.
 *
 * Buffers
 * - Caller buffers are read or written only during the call; the library keeps no pointer to
 *   them. Outputs must not overlap inputs or each other unless a call says otherwise (no call does
 *   today: lookup, embed, project, encode, pool, forward and encode_texts all need separate buffers).
 * - Arrays returned by an encoding (bertrt_encoding_ids, ...) live until bertrt_encoding_free.
 *
 * Threads
 * - The library starts no threads of its own except a session's helper threads: no OpenMP, no
 *   OpenBLAS, no global pool. A model starts none.
 * - bertrt_session_set_threads(s, n): n >= 1 uses at most n threads per call: the calling thread
 *   plus up to n - 1 helper threads that belong to the session. n = 0 (the default) means the
 *   environment variable BERTRT_NUM_THREADS when it is set (a count 1-4096; any other value makes
 *   the call fail with BERTRT_ERROR_INVALID_ARGUMENT), else the number of CPUs this process may
 *   run on (its affinity mask), counted when the call runs.
 * - Helpers are started the first time a call splits its work over more than one thread, kept for
 *   the session's lifetime, and joined by bertrt_session_free. Between calls they spin for a few
 *   microseconds and then sleep on a condition variable: an idle session uses no CPU. n = 1 never
 *   starts any.
 * - Small calls use fewer threads than allowed (a cut-off of a few MFLOP of work per thread).
 * - Results are bit-identical for every thread count.
 * - One session must not be used by two threads at once; any number of sessions may share one
 *   model. A model and a tokenizer are immutable after creation and may be used by any number of
 *   threads at once; an encoding is read-only and may be read from any thread.
 * - bertrt_last_error() is per thread.
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
  BERTRT_ERROR_ATTENTION_MASK = 16,  /* attention_mask values other than 0 and 1 */
  BERTRT_ERROR_NO_HEAD = 17          /* logits asked of a model without a task head */
} bertrt_status;

/* A constant name for a status ("BERTRT_ERROR_SHAPE", ...). Static string. */
BERTRT_API const char* bertrt_status_str(bertrt_status status);
/* The message of the last failed call on this thread ("" if none). Owned by the library, valid
 * until the next bertrt call on this thread (copy it to keep it). */
BERTRT_API const char* bertrt_last_error(void);

/* Library version "MAJOR.MINOR.PATCH". Static string. */
BERTRT_API const char* bertrt_version(void);

/* ------------------------------------------------------------- kernels */

/* The kernel ISA chosen at start-up ("scalar", "avx2", "avx512", "neon"): the best this CPU
 * supports, or the level BERTRT_ISA names. Static string. */
BERTRT_API const char* bertrt_kernel_isa(void);
/* The best ISA this CPU and OS support (what is chosen when BERTRT_ISA is unset). Static string. */
BERTRT_API const char* bertrt_kernel_best_isa(void);
/* Why BERTRT_ISA could not be honoured (an unknown name, or a level this CPU lacks), or NULL when
 * it is unset or honoured. While this is not NULL, bertrt_model_open and bertrt_session_create
 * fail with BERTRT_ERROR_UNSUPPORTED and this text. Static string. */
BERTRT_API const char* bertrt_kernel_isa_error(void);
/* The kernels of the chosen ISA: bertrt_kernel_count() entries, each named "<entry>__<isa>"
 * ("gather_f16__avx512", ...); bertrt_kernel_name returns NULL for index >= count. Static strings. */
BERTRT_API size_t bertrt_kernel_count(void);
BERTRT_API const char* bertrt_kernel_name(size_t index);

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

/* Pool-mode names: "cls", "mean", "max", "pooler" (NUL-terminated, exact lowercase).
 * bertrt_pool_mode_from_name: BERTRT_ERROR_INVALID_ARGUMENT naming the valid names for any other.
 * bertrt_pool_mode_name: static string, or NULL for a value that is not a mode. */
BERTRT_API bertrt_status bertrt_pool_mode_from_name(const char* name, bertrt_pool_mode* mode_out);
BERTRT_API const char* bertrt_pool_mode_name(bertrt_pool_mode mode);

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
  const char* weight_dtype;       /* "f32", "f16", "bf16" or "int8" (int8 matrices, f32 embeddings); lives as long as the model */
  /* The architecture: "bert", "roberta", "xlm-roberta", "camembert", "distilbert" or "electra"
   * (static string). Files from converters before families existed are "bert". */
  const char* family;
  /* Width E of lookup's and embed's vectors (inputs_embeds, embedding_output): hidden_size, except
   * for ELECTRA, whose embeddings are narrower and projected to hidden_size before the encoder. */
  int64_t embedding_size;
  /* Longest seq_len: max_position_embeddings, minus padding_idx + 1 for RoBERTa, XLM-RoBERTa and
   * CamemBERT (their positions start at padding_idx + 1). */
  int64_t max_sequence_length;
} bertrt_config;

/* Opens (maps) a model file; path is NUL-terminated. options NULL: defaults. The model keeps the
 * file mapped until bertrt_model_free. Errors: BERTRT_ERROR_IO, _FORMAT, _CHECKSUM, _UNSUPPORTED
 * (also when BERTRT_ISA names an unknown level or one this CPU lacks: bertrt_kernel_isa_error()). */
BERTRT_API bertrt_status bertrt_model_open(const char* path, const bertrt_open_options* options,
                                           bertrt_model** model_out);
/* Frees a model (NULL: nothing). Sessions and tokenizers made from it keep what they need and may
 * be freed later, but every string the model returned (weight_dtype, tensor names, ...) dies here. */
BERTRT_API void bertrt_model_free(bertrt_model* model);
BERTRT_API bertrt_status bertrt_model_get_config(const bertrt_model* model, bertrt_config* config_out);

/* What the model file says about itself (for `bertrt info`). Strings live as long as the model. */
typedef struct bertrt_model_file_info {
  uint32_t format_version;
  uint64_t header_checksum;   /* verified on every open */
  int weights_verified;       /* opened with verify_weights: every tensor's data checksum verified */
  size_t tensor_count;
  const char* hidden_act;     /* as written in config.json ("gelu", "gelu_new", ...) */
} bertrt_model_file_info;

typedef struct bertrt_tensor_info {
  const char* name;   /* "encoder.layer.0.attention.qkv.weight", ...; lives as long as the model */
  const char* dtype;  /* "f32", "f16", "bf16", "i8", "i32"; static */
  const char* layout; /* "row_major", "panel", "panel_i8" or "panel_bf16x2" (pre-packed for the GEMM kernels); static */
  size_t ndim;
  uint64_t shape[8];  /* the first ndim entries; logical shape, also for packed matrices */
  uint64_t nbytes;    /* bytes in the file */
} bertrt_tensor_info;

/* The tokenizer settings stored in the model file. Strings live as long as the model. */
typedef struct bertrt_tokenizer_settings {
  size_t vocab_size;
  int do_lower_case;
  int strip_accents;          /* -1: follow do_lower_case; 0: never; 1: always */
  int tokenize_chinese_chars;
  int64_t model_max_length;   /* from tokenizer_config.json, at most max_position_embeddings */
  const char* unk_token;
  const char* cls_token;
  const char* sep_token;
  const char* pad_token;
  const char* mask_token;
} bertrt_tokenizer_settings;

BERTRT_API bertrt_status bertrt_model_get_file_info(const bertrt_model* model, bertrt_model_file_info* info_out);
/* Tensor index in [0, tensor_count), in file order; BERTRT_ERROR_INVALID_ARGUMENT past the end. */
BERTRT_API bertrt_status bertrt_model_get_tensor_info(const bertrt_model* model, size_t index,
                                                      bertrt_tensor_info* info_out);
BERTRT_API bertrt_status bertrt_model_get_tokenizer_settings(const bertrt_model* model,
                                                             bertrt_tokenizer_settings* settings_out);

/* --------------------------------------------------------------- session */

/* A session shares the model (it keeps it alive: the model may be freed first) and owns its
 * scratch memory and helper threads. BERTRT_ERROR_UNSUPPORTED when bertrt_kernel_isa_error() is
 * set. One thread at a time per session (see Threads above). */
BERTRT_API bertrt_status bertrt_session_create(const bertrt_model* model, bertrt_session** session_out);
/* Joins the session's helper threads and frees it (NULL: nothing). */
BERTRT_API void bertrt_session_free(bertrt_session* session);
/* Threads per call: n >= 1 at most n (the caller plus up to n - 1 helpers of this session); 0 (the
 * default) BERTRT_NUM_THREADS when set, else the CPUs in this process's affinity mask, counted at
 * each call (see Threads above). Negative: an error. */
BERTRT_API bertrt_status bertrt_session_set_threads(bertrt_session* session, int threads);

/* inputs_embeds_out[B, T, E] = word_embeddings[input_ids[B, T]]. Nothing else is computed.
 * E is bertrt_config.embedding_size (= hidden_size except for ELECTRA).
 * The session's calls below write only the caller's output buffers and the session's scratch. */
BERTRT_API bertrt_status bertrt_session_lookup(bertrt_session* session, const int64_t* input_ids,
                                               size_t batch, size_t seq_len, float* inputs_embeds_out);

/* embedding_output[B, T, E] = LayerNorm(inputs_embeds + position_embeddings[position_ids]
 *                                        + token_type_embeddings[token_type_ids]).
 * Widths E (bertrt_config.embedding_size). token_type_ids NULL: zeros (DistilBERT has no token
 * types: any nonzero id is BERTRT_ERROR_TOKEN_TYPE). position_ids NULL: 0..T-1 in every row; for
 * RoBERTa, XLM-RoBERTa and CamemBERT padding_idx + 1 .. padding_idx + T (pad_token_id + 1 ..) in
 * every row, padded rows included, as Hugging Face does from inputs_embeds: there are no ids here
 * to find the padding in. (bertrt_session_forward from input_ids uses the id rule instead:
 * padding_idx + the running count of non-pad ids, pad ids get padding_idx; to reproduce it here,
 * pass those position_ids.) inputs_embeds may be any caller vectors; NaN/Inf in them is rejected
 * with BERTRT_ERROR_NON_FINITE. For ELECTRA the output is the E-wide LayerNorm output, before
 * embeddings_project; bertrt_session_project (and bertrt_session_forward) apply the projection to H.
 * embedding_output_out must not overlap inputs_embeds. */
BERTRT_API bertrt_status bertrt_session_embed(bertrt_session* session, const float* inputs_embeds,
                                              const int64_t* token_type_ids, const int64_t* position_ids,
                                              size_t batch, size_t seq_len, float* embedding_output_out);

/* hidden_out[B, T, H] = embedding_output[B, T, E] W + b: ELECTRA's embeddings_project, the step
 * between embed and encode that bertrt_session_forward takes (the same code, on the session's
 * threads), so that lookup -> embed -> project -> encode equals forward. Models without a
 * projection (every other family, and ELECTRA with embedding_size == hidden_size) have E == H and
 * get an unchanged copy: the staged sequence is the same for every model. NaN/Inf in
 * embedding_output is BERTRT_ERROR_NON_FINITE; batch or seq_len 0 is BERTRT_ERROR_SHAPE.
 * hidden_out must not overlap embedding_output. */
BERTRT_API bertrt_status bertrt_session_project(bertrt_session* session, const float* embedding_output,
                                                size_t batch, size_t seq_len, float* hidden_out);

typedef struct bertrt_encode_outputs {
  /* Optional: [L + 1, B, T, H]: the input hidden state (0) and the output of every layer,
   * as Hugging Face's output_hidden_states. */
  float* hidden_states;
  /* Optional: [L, B, heads, T, T] attention probabilities of every layer. */
  float* attentions;
} bertrt_encode_outputs;

/* last_hidden_state_out[B, T, H] = the encoder layers applied to hidden[B, T, H].
 * attention_mask NULL: all ones. Keys with mask 0 are ignored; outputs at masked positions are
 * finite but unspecified. extra may be NULL. last_hidden_state_out, extra->hidden_states and
 * extra->attentions must not overlap hidden or each other. */
BERTRT_API bertrt_status bertrt_session_encode(bertrt_session* session, const float* hidden,
                                               const int64_t* attention_mask, size_t batch, size_t seq_len,
                                               const bertrt_encode_outputs* extra, float* last_hidden_state_out);

/* pooled_out[B, H] from last_hidden_state[B, T, H]; normalize nonzero divides each row by its
 * L2 norm (at least 1e-12). attention_mask NULL: all ones. pooled_out must not overlap
 * last_hidden_state. */
BERTRT_API bertrt_status bertrt_session_pool(bertrt_session* session, const float* last_hidden_state,
                                             const int64_t* attention_mask, size_t batch, size_t seq_len,
                                             bertrt_pool_mode mode, int normalize, float* pooled_out);

typedef struct bertrt_forward_inputs {
  const int64_t* input_ids;      /* [B, T]; exactly one of input_ids and inputs_embeds */
  const float* inputs_embeds;    /* [B, T, E] (E = embedding_size) */
  const int64_t* attention_mask; /* [B, T] or NULL */
  const int64_t* token_type_ids; /* [B, T] or NULL */
  const int64_t* position_ids;   /* [B, T] or NULL */
  size_t batch;
  size_t seq_len;
} bertrt_forward_inputs;

typedef struct bertrt_forward_outputs {
  float* last_hidden_state; /* [B, T, H], required */
  float* embedding_output;  /* [B, T, E], optional (ELECTRA: before embeddings_project) */
  float* pooler_output;     /* [B, H], optional; BERTRT_ERROR_NO_POOLER if the model has none */
  float* hidden_states;     /* [L + 1, B, T, H], optional; [0] is the encoder input (ELECTRA:
                               the projected embedding output) */
  float* attentions;        /* [L, B, heads, T, T], optional */
  float* logits;            /* optional: the task head's logits, as bertrt_session_head writes them
                               ([B, L], [B, T, L] or [B, T, V]); BERTRT_ERROR_NO_HEAD without a head */
} bertrt_forward_outputs;

/* lookup (when input_ids is given) -> embed (-> ELECTRA's embeddings_project) -> encode (-> pooler)
 * (-> head). Default position ids as bertrt_session_embed, except that RoBERTa-family models given
 * input_ids count non-pad ids (see there). The output buffers must not overlap the inputs or each
 * other. Zero-initialise both structs (`bertrt_forward_outputs out = {0};`) and set the fields you
 * use: fields are appended over time, and a field left uninitialised is read as a buffer. */
BERTRT_API bertrt_status bertrt_session_forward(bertrt_session* session, const bertrt_forward_inputs* inputs,
                                                const bertrt_forward_outputs* outputs);

/* -------------------------------------------------------- packed batches */

/* A packed batch: `batch` sequences of different lengths back to back, with no padding. Sequence b
 * holds token rows [offsets[b], offsets[b + 1]) of every per-token array ([N] ids, [N, E] or [N, H]
 * vectors), N = offsets[batch]. offsets[0] must be 0 and every sequence hold 1 .. the model's
 * maximum length of tokens (BERTRT_ERROR_SHAPE / _SEQUENCE_TOO_LONG otherwise); batch >= 1.
 * The linear layers run over all N rows at once, attention within each sequence: a batch of
 * mixed lengths pays for no pad token. Every result equals the one its sequence gets alone (the
 * padded calls with batch 1 and a mask of ones) within float32 rounding.
 * Row-wise stages need no packed variant: bertrt_session_lookup and bertrt_session_project take
 * the N rows as batch N, seq_len 1. */
typedef struct bertrt_packed_inputs {
  const int64_t* input_ids;      /* [N]; exactly one of input_ids and inputs_embeds */
  const float* inputs_embeds;    /* [N, E] (E = embedding_size) */
  const int64_t* token_type_ids; /* [N] or NULL (zeros) */
  const int64_t* position_ids;   /* [N] or NULL: each sequence's own defaults (as bertrt_session_forward
                                    gives that sequence alone) */
  const int64_t* offsets;        /* [batch + 1] */
  size_t batch;
} bertrt_packed_inputs;

/* bertrt_session_forward over a packed batch. outputs as there, with N rows in place of [B, T]:
 * last_hidden_state [N, H], embedding_output [N, E], pooler_output [B, H], hidden_states
 * [L + 1, N, H], logits [B, L] (sequence head), [N, L] or [N, V]; attentions must be NULL
 * (BERTRT_ERROR_INVALID_ARGUMENT: ask a padded forward for them). */
BERTRT_API bertrt_status bertrt_session_forward_packed(bertrt_session* session, const bertrt_packed_inputs* inputs,
                                                       const bertrt_forward_outputs* outputs);
/* The staged calls over a packed batch, each as its padded twin with N rows in place of [B, T]
 * (default position ids per sequence, as bertrt_session_embed gives each sequence alone). */
BERTRT_API bertrt_status bertrt_session_embed_packed(bertrt_session* session, const float* inputs_embeds,
                                                     const int64_t* token_type_ids, const int64_t* position_ids,
                                                     const int64_t* offsets, size_t batch,
                                                     float* embedding_output_out);
/* hidden_states (optional): [L + 1, N, H]. */
BERTRT_API bertrt_status bertrt_session_encode_packed(bertrt_session* session, const float* hidden,
                                                      const int64_t* offsets, size_t batch, float* hidden_states,
                                                      float* last_hidden_state_out);
/* pooled_out [B, H]. */
BERTRT_API bertrt_status bertrt_session_pool_packed(bertrt_session* session, const float* last_hidden_state,
                                                    const int64_t* offsets, size_t batch, bertrt_pool_mode mode,
                                                    int normalize, float* pooled_out);
/* logits_out: [B, L] for a sequence head (token 0 of each sequence), else [N, L] or [N, V]. */
BERTRT_API bertrt_status bertrt_session_head_packed(bertrt_session* session, const float* last_hidden_state,
                                                    const int64_t* offsets, size_t batch, float* logits_out);

/* ------------------------------------------------------------------ head */

/* The task head a model file may hold: bertrt_convert keeps the head of a *ForSequenceClassification,
 * *ForTokenClassification or *ForMaskedLM checkpoint (BERT, RoBERTa, XLM-RoBERTa, CamemBERT,
 * DistilBERT, ELECTRA) unless told not to. */
typedef enum bertrt_head_kind {
  BERTRT_HEAD_NONE = 0,      /* no head: logits are BERTRT_ERROR_NO_HEAD */
  BERTRT_HEAD_SEQUENCE = 1,  /* num_labels logits per sequence, from its token 0 */
  BERTRT_HEAD_TOKEN = 2,     /* num_labels logits per token */
  BERTRT_HEAD_MASKED_LM = 3, /* vocab_size logits per token */
  BERTRT_HEAD_KIND_MAX_ENUM = 0x7fffffff /* not a kind: keeps the enum 32 bits wide */
} bertrt_head_kind;

typedef struct bertrt_head_info {
  bertrt_head_kind kind;
  int64_t num_labels;       /* sequence and token heads: the classifier's outputs (1: a regression or
                               reranker score); 0 for a masked LM or no head */
  int64_t logits_size;      /* logits per row: num_labels, vocab_size for a masked LM, 0 without a head */
  const char* problem_type; /* config.json's problem_type ("single_label_classification",
                               "multi_label_classification", "regression"), "" when it has none */
  const char* architecture; /* config.json's architectures[0] ("BertForSequenceClassification", ...), ""
                               without a head */
} bertrt_head_info;

/* Strings in info_out live as long as the model. */
BERTRT_API bertrt_status bertrt_model_get_head_info(const bertrt_model* model, bertrt_head_info* info_out);
/* The name of label index (config.json's id2label; "LABEL_<index>" when it has none), lives as long
 * as the model. BERTRT_ERROR_INVALID_ARGUMENT for index >= num_labels (any index without labels). */
BERTRT_API bertrt_status bertrt_model_get_head_label(const bertrt_model* model, size_t index, const char** label_out);
/* "none", "sequence", "token", "masked_lm"; NULL for a value that is not a kind. Static string. */
BERTRT_API const char* bertrt_head_kind_name(bertrt_head_kind kind);

/* logits_out from last_hidden_state[B, T, H] (the encoder's output):
 * - sequence head: [B, L], from token 0 of each row (BERT: classifier(pooler); RoBERTa, XLM-R,
 *   CamemBERT: out_proj(tanh(dense)); DistilBERT: classifier(relu(pre_classifier)); ELECTRA:
 *   out_proj(gelu(dense)));
 * - token head: [B, T, L], classifier per token;
 * - masked LM: [B, T, V], LayerNorm(act(dense)) times the decoder (the word embeddings when tied) + bias.
 * attention_mask [B, T] or NULL (all ones): token and masked-LM logits are computed for each row's
 * tokens up to its last token with mask 1; those after it are written as zeros (masked tokens
 * before it are computed like the others). A sequence head reads token 0 whatever the mask.
 * Errors: BERTRT_ERROR_NO_HEAD, _SHAPE (batch or seq_len 0), _SEQUENCE_TOO_LONG, _NON_FINITE
 * (NaN/Inf in last_hidden_state), _ATTENTION_MASK. logits_out must not overlap the
 * inputs. The dense layers and the decoder run on the session's threads. */
BERTRT_API bertrt_status bertrt_session_head(bertrt_session* session, const float* last_hidden_state,
                                             const int64_t* attention_mask, size_t batch, size_t seq_len,
                                             float* logits_out);
/* Token and masked-LM heads at chosen tokens only (fill-mask computes no T * V logits it does not
 * need): logits_out[count, L or V] for positions[count], flat token indices b * seq_len + t into
 * last_hidden_state[B, T, H], in any order, repeats allowed; row i equals the row of position i in
 * bertrt_session_head's output (where that call computes it: before the row's last valid token
 * or at it; head_at takes no mask and computes every position it is given). Only the rows at positions are read (NaN/Inf in them:
 * BERTRT_ERROR_NON_FINITE). Errors: BERTRT_ERROR_NO_HEAD; _INVALID_ARGUMENT for a sequence head;
 * _POSITION for a position outside [0, B * T); _SHAPE for count 0. */
BERTRT_API bertrt_status bertrt_session_head_at(bertrt_session* session, const float* last_hidden_state, size_t batch,
                                                size_t seq_len, const int64_t* positions, size_t count,
                                                float* logits_out);

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

/* The tokenizer stored in a model file (it keeps its own copy: free it in any order): the model's
 * tokenizer.json when the converter stored one, else its vocab.json + merges.txt (byte-level BPE),
 * else its WordPiece vocabulary; BERTRT_ERROR_FORMAT when the model holds no tokenizer.
 * A tokenizer is immutable: any number of threads may encode with it at once. */
BERTRT_API bertrt_status bertrt_tokenizer_from_model(const bertrt_model* model, bertrt_tokenizer** tokenizer_out);
/* A tokenizer from a file or folder (path NUL-terminated): a Hugging Face tokenizer.json, whose
 * model says which tokenizer it is (WordPiece; byte-level BPE as RoBERTa and GPT-2 use;
 * SentencePiece Unigram with its Precompiled normalizer and Metaspace, as T5 and XLM-RoBERTa use); a
 * vocab.json with merges.txt beside it (byte-level BPE assembled as RoBERTa's: "<s> A </s></s> B
 * </s>" when the vocabulary has <s> and </s>); a vocab.txt (uncased WordPiece); or a folder
 * holding tokenizer.json, else vocab.json + merges.txt, else vocab.txt (uncased unless its
 * tokenizer_config.json says do_lower_case false). Errors: BERTRT_ERROR_IO (nothing readable),
 * BERTRT_ERROR_FORMAT (bad JSON or vocabulary), BERTRT_ERROR_UNSUPPORTED (a tokenizer.json model
 * type or component this library does not implement; the message names it). */
BERTRT_API bertrt_status bertrt_tokenizer_from_file(const char* path, bertrt_tokenizer** tokenizer_out);
/* As bertrt_tokenizer_from_file, from the text of a tokenizer.json (json_len bytes). */
BERTRT_API bertrt_status bertrt_tokenizer_from_json(const char* json, size_t json_len, bertrt_tokenizer** tokenizer_out);
/* A tokenizer from a plain vocab.txt (one token a line, split on '\n' only); vocab_path is
 * NUL-terminated. options NULL: uncased. */
BERTRT_API bertrt_status bertrt_tokenizer_from_vocab_file(const char* vocab_path, const bertrt_tokenizer_options* options,
                                                          bertrt_tokenizer** tokenizer_out);
BERTRT_API void bertrt_tokenizer_free(bertrt_tokenizer* tokenizer);
/* These getters return their value directly (0 or -1 for a NULL tokenizer). */
BERTRT_API size_t bertrt_tokenizer_vocab_size(const bertrt_tokenizer* tokenizer);
/* Ids of the special tokens: pad (0 when the vocabulary has none, as Hugging Face pads then),
 * cls, sep, unk (WordPiece: always present; byte-level BPE: <s>, </s>, <unk>, -1 when absent).
 * -1 for a NULL tokenizer. */
BERTRT_API int64_t bertrt_tokenizer_pad_id(const bertrt_tokenizer* tokenizer);
BERTRT_API int64_t bertrt_tokenizer_cls_id(const bertrt_tokenizer* tokenizer);
BERTRT_API int64_t bertrt_tokenizer_sep_id(const bertrt_tokenizer* tokenizer);
BERTRT_API int64_t bertrt_tokenizer_unk_id(const bertrt_tokenizer* tokenizer);
/* The token string of an id (NUL-terminated, lives as long as the tokenizer), or NULL when out of
 * range. */
BERTRT_API const char* bertrt_tokenizer_id_to_token(const bertrt_tokenizer* tokenizer, int64_t id);

/* Encodes text (and text_pair, may be NULL) with the tokenizer's special tokens ("[CLS] A [SEP]
 * B [SEP]" for BERT, "<s> A </s></s> B </s>" for RoBERTa, or what its tokenizer.json's
 * post-processor says). max_length 0: no truncation; otherwise at most max_length ids in all.
 * text and text_pair are (pointer, length) byte ranges (no NUL needed); they must be valid UTF-8.
 * The encoding owns its arrays; free it with bertrt_encoding_free. */
BERTRT_API bertrt_status bertrt_tokenizer_encode(const bertrt_tokenizer* tokenizer, const char* text, size_t text_len,
                                                 const char* text_pair, size_t text_pair_len, size_t max_length,
                                                 bertrt_truncation truncation, bertrt_encoding** encoding_out);
/* As bertrt_tokenizer_encode without the special tokens the template adds (Hugging Face's
 * add_special_tokens=False): the texts' tokens alone, token types 0 (text) and 1 (text_pair). */
BERTRT_API bertrt_status bertrt_tokenizer_encode_plain(const bertrt_tokenizer* tokenizer, const char* text,
                                                       size_t text_len, const char* text_pair, size_t text_pair_len,
                                                       size_t max_length, bertrt_truncation truncation,
                                                       bertrt_encoding** encoding_out);
BERTRT_API void bertrt_encoding_free(bertrt_encoding* encoding);
/* Number of tokens. The arrays below hold length entries (offsets 2 * length), belong to the
 * encoding and live until bertrt_encoding_free; NULL for a NULL encoding. */
BERTRT_API size_t bertrt_encoding_length(const bertrt_encoding* encoding);
BERTRT_API const int64_t* bertrt_encoding_ids(const bertrt_encoding* encoding);
BERTRT_API const int64_t* bertrt_encoding_token_type_ids(const bertrt_encoding* encoding);
BERTRT_API const int64_t* bertrt_encoding_attention_mask(const bertrt_encoding* encoding);
/* [length, 2]: each token's [start, end) in bytes of its own input text; special tokens (0, 0).
 * A byte-level BPE token holding part of a character covers the whole character. */
BERTRT_API const int64_t* bertrt_encoding_offsets(const bertrt_encoding* encoding);
/* Which text each token came from: 0, 1, or -1 for special tokens. */
BERTRT_API const int64_t* bertrt_encoding_sequence_ids(const bertrt_encoding* encoding);
/* The string of token index (NUL-terminated, lives as long as the encoding), as Hugging Face
 * reports it: the vocabulary entry of its id, except for an added token that took whitespace with
 * lstrip/rstrip (" <mask>"). NULL for a NULL encoding or an index out of range. */
BERTRT_API const char* bertrt_encoding_token(const bertrt_encoding* encoding, size_t index);

/* Batch encoding into caller buffers [batch, padded_len], padded with pad id / type 0 / mask 0.
 * pad_to 0: pad to the longest row; otherwise to pad_to (rows longer than pad_to are an error
 * unless max_length truncates them). texts[i] and text_pairs[i] are NUL-terminated; text_pairs
 * may be NULL, and so may any text_pairs[i]. padded_len_out receives the width: call
 * bertrt_tokenizer_encode_batch_size first, allocate [batch, width], then encode_batch.
 * token_type_ids_out and attention_mask_out may be NULL. */
BERTRT_API bertrt_status bertrt_tokenizer_encode_batch_size(const bertrt_tokenizer* tokenizer, const char* const* texts,
                                                            const char* const* text_pairs, size_t batch, size_t max_length,
                                                            bertrt_truncation truncation, size_t pad_to,
                                                            size_t* padded_len_out);
BERTRT_API bertrt_status bertrt_tokenizer_encode_batch(const bertrt_tokenizer* tokenizer, const char* const* texts,
                                                       const char* const* text_pairs, size_t batch, size_t max_length,
                                                       bertrt_truncation truncation, size_t padded_len,
                                                       int64_t* input_ids_out, int64_t* token_type_ids_out,
                                                       int64_t* attention_mask_out);

/* ------------------------------------------------------------ texts -> vectors */

/* Called after each batch: done texts of total embedded so far. */
typedef void (*bertrt_progress_fn)(size_t done, size_t total, void* user_data);

typedef struct bertrt_encode_texts_options {
  size_t max_length;        /* tokens per text, [CLS] and [SEP] included; longer texts are cut.
                               0: the model's max_position_embeddings */
  size_t batch_size;        /* padded: texts per forward, 0: 32; packed: at most this many texts
                               per forward, 0: no limit but max_batch_tokens */
  bertrt_pool_mode pool;    /* CLS, MEAN, MAX or POOLER */
  int normalize;            /* nonzero: L2-normalise each vector */
  bertrt_progress_fn progress; /* NULL: none */
  void* progress_user_data;    /* passed to progress unchanged */
  size_t max_batch_tokens;  /* packed: tokens per forward (a longer text runs alone); 0: 2048 */
  int padded;               /* nonzero: length-sorted batches padded to their longest text, as
                               before packed batches existed (kept for comparison) */
} bertrt_encode_texts_options;

/* Sentence embeddings: out[count, H] for texts[count], in input order. Each text is encoded alone
 * (no pair) with tokenizer, cut to max_length tokens. By default the texts run as packed batches
 * (bertrt_session_forward_packed; no padding): in input order, as many per forward as fit in
 * max_batch_tokens (and batch_size, when set). With padded set, they are sorted by token count
 * (longest first, stable) and run batch_size at a time through forward (input_ids and
 * attention_mask, padded with the tokenizer's pad id). Then pooled. Either way a text's vector
 * does not depend on its batch beyond float32 rounding, and not at all on the thread count.
 * text_lens NULL: every texts[i] is NUL-terminated; otherwise texts[i] is a (pointer, length) byte
 * range of text_lens[i] bytes. Texts must be valid UTF-8.
 * options NULL: the model's default pooling and normalisation (bertrt_config.default_pool,
 * default_normalize), packed batches of at most 2048 tokens. truncated_out (may be NULL) receives how many
 * texts were cut. count 0 writes nothing. out must not overlap the texts. On error, out is
 * unspecified and bertrt_last_error() names the text ("texts[3]: ..."). */
BERTRT_API bertrt_status bertrt_session_encode_texts(bertrt_session* session, const bertrt_tokenizer* tokenizer,
                                                     const char* const* texts, const size_t* text_lens, size_t count,
                                                     const bertrt_encode_texts_options* options, float* out,
                                                     size_t* truncated_out);

#ifdef __cplusplus
}
#endif

#endif /* BERTRT_BERTRT_H */
