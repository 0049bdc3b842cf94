/* The seed workflow with the bertrt C API: token ids -> lookup -> edit the vectors ->
 * forward from the edited vectors -> one pooled vector per text (the model's pooling defaults).
 *
 *   cc embed.c $(pkg-config --cflags --libs bertrt) -o embed              (shared)
 *   cc embed.c $(pkg-config --static --cflags --libs bertrt) -o embed     (static)
 *   ./embed model.bertrt [--scale S] "first text" "second text"
 *
 * The edit multiplies every input vector by S (default 1.5); --scale 1 leaves the vectors as
 * looked up, which gives the same vectors as `bertrt embed`. Prints one line per text: its pooled
 * vector, numbers separated by spaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bertrt/bertrt.h>

static int fail(const char* what, bertrt_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, bertrt_status_str(status), bertrt_last_error());
  return 1;
}

int main(int argc, char** argv) {
  float scale = 1.5f;
  int first = 2;
  if (argc >= 4 && strcmp(argv[2], "--scale") == 0) {
    scale = strtof(argv[3], NULL);
    first = 4;
  }
  if (argc <= first) {
    fprintf(stderr, "usage: %s MODEL [--scale S] TEXT...\n", argv[0]);
    return 2;
  }
  const char* const* texts = (const char* const*)(argv + first);
  const size_t batch = (size_t)(argc - first);
  bertrt_model* model = NULL;
  bertrt_session* session = NULL;
  bertrt_tokenizer* tokenizer = NULL;
  bertrt_config config;
  bertrt_status s;
  int rc = 1;
  int64_t *ids = NULL, *types = NULL, *mask = NULL;
  float *embeds = NULL, *last = NULL, *pooled = NULL;

  if ((s = bertrt_model_open(argv[1], NULL, &model)) != BERTRT_OK) return fail("open", s);
  if ((s = bertrt_model_get_config(model, &config)) != BERTRT_OK) { rc = fail("config", s); goto done; }
  if ((s = bertrt_session_create(model, &session)) != BERTRT_OK) { rc = fail("session", s); goto done; }
  if ((s = bertrt_tokenizer_from_model(model, &tokenizer)) != BERTRT_OK) { rc = fail("tokenizer", s); goto done; }

  /* 1. Token ids [batch, width], padded to the longest text, truncated to the model's limit. */
  const size_t max_length = (size_t)config.max_position_embeddings;
  size_t width = 0;
  s = bertrt_tokenizer_encode_batch_size(tokenizer, texts, NULL, batch, max_length, BERTRT_TRUNCATION_LONGEST_FIRST,
                                         0, &width);
  if (s != BERTRT_OK) { rc = fail("tokenize", s); goto done; }
  const size_t hidden = (size_t)config.hidden_size;
  const size_t n = batch * width * hidden;
  ids = malloc(batch * width * sizeof *ids);
  types = malloc(batch * width * sizeof *types);
  mask = malloc(batch * width * sizeof *mask);
  embeds = malloc(n * sizeof *embeds);
  last = malloc(n * sizeof *last);
  pooled = malloc(batch * hidden * sizeof *pooled);
  if (!ids || !types || !mask || !embeds || !last || !pooled) { fprintf(stderr, "out of memory\n"); goto done; }
  s = bertrt_tokenizer_encode_batch(tokenizer, texts, NULL, batch, max_length, BERTRT_TRUNCATION_LONGEST_FIRST, width,
                                    ids, types, mask);
  if (s != BERTRT_OK) { rc = fail("tokenize", s); goto done; }

  /* 2. lookup: the word embeddings of the ids, nothing else. */
  s = bertrt_session_lookup(session, ids, batch, width, embeds);
  if (s != BERTRT_OK) { rc = fail("lookup", s); goto done; }

  /* 3. edit: any change to the vectors; here a scale. */
  for (size_t i = 0; i < n; ++i) embeds[i] *= scale;

  /* 4. forward from the edited vectors (position and type embeddings, LayerNorm, the encoder). */
  bertrt_forward_inputs in = {0};
  in.inputs_embeds = embeds;
  in.attention_mask = mask;
  in.token_type_ids = types;
  in.batch = batch;
  in.seq_len = width;
  bertrt_forward_outputs out = {0};
  out.last_hidden_state = last;
  if ((s = bertrt_session_forward(session, &in, &out)) != BERTRT_OK) { rc = fail("forward", s); goto done; }

  /* 5. one pooled vector per text. */
  s = bertrt_session_pool(session, last, mask, batch, width, config.default_pool, config.default_normalize, pooled);
  if (s != BERTRT_OK) { rc = fail("pool", s); goto done; }

  for (size_t b = 0; b < batch; ++b) {
    for (size_t j = 0; j < hidden; ++j) printf(j ? " %.7g" : "%.7g", (double)pooled[b * hidden + j]);
    printf("\n");
  }
  rc = 0;

done:
  free(ids);
  free(types);
  free(mask);
  free(embeds);
  free(last);
  free(pooled);
  bertrt_tokenizer_free(tokenizer);
  bertrt_session_free(session);
  bertrt_model_free(model);
  return rc;
}
