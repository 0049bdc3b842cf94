// bertrt-seed MODEL ["text"]: the lookup -> edit -> continue workflow on the public C++ API.
// Tokenize, take the raw word-embedding rows, scale them, then run position/type embeddings +
// LayerNorm, the projection (ELECTRA), the encoder and mean pooling on the edited vectors.
#include <cstdio>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"

namespace {
void show(const char* name, const std::vector<size_t>& shape, const std::vector<float>& v) {
  std::printf("%-18s [", name);
  for (size_t i = 0; i < shape.size(); ++i) std::printf("%s%zu", i ? ", " : "", shape[i]);
  std::printf("]  first values:");
  for (size_t i = 0; i < 4 && i < v.size(); ++i) std::printf(" % .5f", static_cast<double>(v[i]));
  std::printf("\n");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bertrt-seed MODEL [\"text\"]\n");
    return 2;
  }
  const std::string text = argc > 2 ? argv[2] : "Hello, my dog is cute";
  try {
    bertrt::Model model(argv[1]);
    bertrt::Session session(model);
    bertrt::Tokenizer tokenizer(model);
    const bertrt::Encoding enc = tokenizer.encode(text);
    const size_t B = 1, T = enc.ids.size(), H = model.hidden_size();
    std::printf("text: \"%s\"\ntokens:", text.c_str());
    for (int64_t id : enc.ids) std::printf(" %s", tokenizer.id_to_token(id).c_str());
    std::printf("\nids:");
    for (int64_t id : enc.ids) std::printf(" %lld", static_cast<long long>(id));
    std::printf("\n");

    // E: the embedding width (hidden_size, except ELECTRA's narrower embeddings).
    const size_t E = static_cast<size_t>(model.config().embedding_size);
    std::vector<float> embeds(B * T * E), embedded(B * T * E), hidden(B * T * H), last(B * T * H), pooled(B * H);
    session.lookup(enc.ids, B, T, embeds);  // inputs_embeds = word_embeddings[input_ids]
    show("inputs_embeds", {B, T, E}, embeds);
    for (float& x : embeds) x *= 1.5f;      // the caller's edit
    show("edited (x1.5)", {B, T, E}, embeds);
    session.embed(embeds, enc.token_type_ids, {}, B, T, embedded);  // + position + type, LayerNorm
    show("embedding_output", {B, T, E}, embedded);
    session.project(embedded, B, T, hidden);  // ELECTRA's embeddings_project; a copy for the others
    session.encode(hidden, enc.attention_mask, B, T, last);
    show("last_hidden_state", {B, T, H}, last);
    session.pool(last, enc.attention_mask, B, T, BERTRT_POOL_MEAN, true, pooled);
    show("mean, normalized", {B, H}, pooled);
    return 0;
  } catch (const bertrt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
