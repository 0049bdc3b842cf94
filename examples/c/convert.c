/* Converting a checkpoint with the installed converter, then embedding texts with the result
 * through the one text -> vectors call (bertrt_session_encode_texts, the model's pooling defaults).
 *
 *   cc convert.c $(pkg-config --static --cflags --libs bertrt-convert) -o convert
 *   ./convert HF_DIR OUT.bertrt "first text" "second text"
 *
 * libbertrt_convert.a holds the converter and the whole runtime: link it in place of libbertrt.
 * Prints one line per text: its vector, numbers separated by spaces. */
#include <stdio.h>
#include <stdlib.h>

#include <bertrt/bertrt.h>
#include <bertrt/convert.h>

static int fail(const char* what, bertrt_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, bertrt_status_str(status), bertrt_last_error());
  return 1;
}

static void note(const char* message, void* user_data) {
  (void)user_data;
  fprintf(stderr, "note: %s\n", message);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s HF_DIR OUT.bertrt TEXT...\n", argv[0]);
    return 2;
  }
  /* dtype, note, note_user_data, no_heads, bf16_storage_only */
  bertrt_convert_options options = {"f32", note, NULL, 0, 0};
  bertrt_status s = bertrt_convert(argv[1], argv[2], &options);
  if (s != BERTRT_OK) return fail("bertrt_convert", s);

  bertrt_model* model = NULL;
  bertrt_session* session = NULL;
  bertrt_tokenizer* tokenizer = NULL;
  bertrt_config config;
  if ((s = bertrt_model_open(argv[2], NULL, &model)) != BERTRT_OK) return fail("bertrt_model_open", s);
  if ((s = bertrt_model_get_config(model, &config)) != BERTRT_OK) return fail("bertrt_model_get_config", s);
  if ((s = bertrt_session_create(model, &session)) != BERTRT_OK) return fail("bertrt_session_create", s);
  if ((s = bertrt_tokenizer_from_model(model, &tokenizer)) != BERTRT_OK) return fail("bertrt_tokenizer_from_model", s);

  const size_t count = (size_t)(argc - 3), hidden = (size_t)config.hidden_size;
  float* vectors = malloc(count * hidden * sizeof(float));
  if (!vectors) return 1;
  s = bertrt_session_encode_texts(session, tokenizer, (const char* const*)(argv + 3), NULL, count, NULL, vectors, NULL);
  if (s != BERTRT_OK) return fail("bertrt_session_encode_texts", s);
  for (size_t i = 0; i < count; ++i) {
    for (size_t j = 0; j < hidden; ++j) printf(j ? " %.9g" : "%.9g", (double)vectors[i * hidden + j]);
    printf("\n");
  }
  free(vectors);
  bertrt_tokenizer_free(tokenizer);
  bertrt_session_free(session);
  bertrt_model_free(model);
  return 0;
}
