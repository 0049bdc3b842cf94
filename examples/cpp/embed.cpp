// Sentence embeddings with the bertrt C++ layer: tokenize, forward, pool with the model's defaults.
//
//   c++ -std=c++20 embed.cpp $(pkg-config --static --cflags --libs bertrt) -o embed
//   ./embed model.bertrt "first text" "second text"
//
// Prints one line per text: its pooled vector, numbers separated by spaces.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <bertrt/bertrt.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL TEXT...\n", argv[0]);
    return 2;
  }
  try {
    const bertrt::Model model(argv[1]);
    bertrt::Session session(model);
    const bertrt::Tokenizer tokenizer(model);
    const bertrt_config& config = model.config();
    const size_t max_length = static_cast<size_t>(config.max_position_embeddings);
    const size_t hidden = model.hidden_size();

    // Tokenize each text, then pad to the longest (padding id: the model's pad_token_id).
    std::vector<bertrt::Encoding> encodings;
    size_t width = 0;
    for (int i = 2; i < argc; ++i) {
      encodings.push_back(tokenizer.encode(argv[i], nullptr, max_length));
      width = std::max(width, encodings.back().ids.size());
    }
    const size_t batch = encodings.size();
    std::vector<int64_t> ids(batch * width, config.pad_token_id), types(batch * width, 0), mask(batch * width, 0);
    for (size_t b = 0; b < batch; ++b) {
      std::copy(encodings[b].ids.begin(), encodings[b].ids.end(), ids.begin() + b * width);
      std::copy(encodings[b].token_type_ids.begin(), encodings[b].token_type_ids.end(), types.begin() + b * width);
      std::copy(encodings[b].attention_mask.begin(), encodings[b].attention_mask.end(), mask.begin() + b * width);
    }

    // The stages one by one: lookup -> embed -> encode -> pool.
    std::vector<float> embeds(batch * width * hidden), emb(embeds.size()), last(embeds.size()), pooled(batch * hidden);
    session.lookup(ids, batch, width, embeds);
    session.embed(embeds, types, {}, batch, width, emb);
    session.encode(emb, mask, batch, width, last);
    session.pool(last, mask, batch, width, config.default_pool, config.default_normalize != 0, pooled);

    for (size_t b = 0; b < batch; ++b) {
      for (size_t j = 0; j < hidden; ++j) std::printf(j ? " %.7g" : "%.7g", static_cast<double>(pooled[b * hidden + j]));
      std::printf("\n");
    }
  } catch (const bertrt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
