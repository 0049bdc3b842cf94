/*
 * bertrt converter — a Hugging Face BERT checkpoint directory -> a bertrt model file.
 *
 *   bertrt_convert_options options = {"f16", NULL, NULL, 0, 0};   // fields left out must be zero
 *   if (bertrt_convert("path/to/bert-base-uncased", "bert-f16.bertrt", &options) != BERTRT_OK)
 *     fprintf(stderr, "%s\n", bertrt_last_error());
 *
 * The converter is not part of libbertrt: link libbertrt_convert.a, which holds the converter
 * and the whole runtime, in place of libbertrt (pkg-config --static --libs bertrt-convert).
 * It reads config.json, vocab.txt, tokenizer_config.json, special_tokens_map.json,
 * sentence-transformers modules (modules.json, 1_Pooling/config.json, 2_Normalize) and the weights
 * (model.safetensors, sharded safetensors, pytorch_model.bin or tf_model.h5 when built with HDF5).
 * Strings are NUL-terminated UTF-8 paths. Thread-safe: conversions share no state.
 */
#ifndef BERTRT_CONVERT_H
#define BERTRT_CONVERT_H

#include "bertrt/bertrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Receives one note ("skipping 'cls.seq_relationship.bias' (task head: not used by the
 * BertForPreTraining head)",
 * "reading .../model.safetensors", ...). message is NUL-terminated and valid only during the call. */
typedef void (*bertrt_convert_note_fn)(const char* message, void* user_data);

typedef struct bertrt_convert_options {
  /* Storage of the word embeddings and weight matrices: "f32" (NULL: f32), "f16" or "bf16";
   * biases, LayerNorm parameters and position/type embeddings stay f32. "int8": the weight
   * matrices quantized to int8 per output column (the word embeddings stay f32); the runtime then
   * quantizes each layer's input rows at run time. */
  const char* dtype;
  bertrt_convert_note_fn note; /* NULL: no notes */
  void* note_user_data;        /* passed to note unchanged */
  /* 0 (the default): keep the task head that config.json's architectures[0] names
   * (*ForSequenceClassification, *ForTokenClassification, *ForMaskedLM of every family);
   * nonzero: convert the base model alone, the head's tensors skipped with a note. */
  int no_heads;
  /* 0 (the default): a "bf16" file holds its encoder, pooler and projection matrices packed for the
   * bf16 dot-product kernels, and each layer's input rows are rounded to bf16 at run time; nonzero:
   * bf16 storage only (the f32 panel layout, widened to f32 inside the f32 kernels; activations
   * stay f32): slower where the CPU has bf16 dot-product instructions, and the same arithmetic as
   * f32 on the stored weights. Ignored for other dtypes. */
  int bf16_storage_only;
} bertrt_convert_options;

/* Converts the checkpoint in directory hf_dir into the model file out_path (replaced if it
 * exists). options NULL: f32, no notes. Errors: BERTRT_ERROR_INVALID_ARGUMENT (NULL path, unknown
 * dtype), BERTRT_ERROR_IO (missing files, cannot write), BERTRT_ERROR_FORMAT (malformed files,
 * shapes that disagree with config.json, an incomplete task head), BERTRT_ERROR_UNSUPPORTED
 * (model_type other than bert, roberta, xlm-roberta, camembert, distilbert, electra, relative
 * position embeddings, unknown pooling or activation); bertrt_last_error() names the file and field. */
BERTRT_API bertrt_status bertrt_convert(const char* hf_dir, const char* out_path, const bertrt_convert_options* options);

/* The tokenizer.json equivalent of a SentencePiece Unigram model, as Hugging Face's converters
 * make it (bertrt_tokenizer_from_json reads it; bertrt_convert stores it for a folder whose only
 * tokenizer is such a model). path: a spiece.model / sentencepiece.bpe.model file, or a folder
 * holding one. family: "t5" (ids as in the file, "A </s>" / "A </s> B </s>", <extra_id_N>
 * tokens), "xlm-roberta" or "camembert" (fairseq ids, "<s> A </s>" / "<s> A </s></s> B </s>",
 * <mask> last), or NULL: what the folder's tokenizer_config.json (tokenizer_class) or config.json
 * (model_type) names, else "t5". On success *json_out is a NUL-terminated string of *json_len_out
 * bytes (json_len_out may be NULL), allocated with malloc: release it with free(). Errors:
 * BERTRT_ERROR_INVALID_ARGUMENT (NULL path or json_out, unknown family), BERTRT_ERROR_IO,
 * BERTRT_ERROR_FORMAT (a damaged .model), BERTRT_ERROR_UNSUPPORTED (BPE, word or char models,
 * byte_fallback, another tokenizer_class). */
BERTRT_API bertrt_status bertrt_sentencepiece_to_tokenizer_json(const char* path, const char* family, char** json_out,
                                                                size_t* json_len_out);

#ifdef __cplusplus
}
#endif

#endif /* BERTRT_CONVERT_H */
