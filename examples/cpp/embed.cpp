// The seed workflow with the bertrt C++ layer: token ids -> lookup -> edit the vectors ->
// forward from the edited vectors -> one pooled vector per text (the model's pooling defaults).
//
//   c++ -std=c++20 embed.cpp $(pkg-config --cflags --libs bertrt) -o embed            (shared)
//   c++ -std=c++20 embed.cpp $(pkg-config --static --cflags --libs bertrt) -o embed   (static)
//   ./embed model.bertrt [--scale S] "first text" "second text"
//
// The edit multiplies every input vector by S (default 1.5); --scale 1 gives the vectors of
// `bertrt embed`. Prints one line per text: its pooled vector, numbers separated by spaces.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <bertrt/bertrt.hpp>

int main(int argc, char** argv) {
  float scale = 1.5f;
  int first = 2;
  if (argc >= 4 && std::strcmp(argv[2], "--scale") == 0) {
    scale = std::strtof(argv[3], nullptr);
    first = 4;
  }
  if (argc <= first) {
    std::fprintf(stderr, "usage: %s MODEL [--scale S] TEXT...\n", argv[0]);
    return 2;
  }
  try {
    const bertrt::Model model(argv[1]);
    bertrt::Session session(model);
    const bertrt::Tokenizer tokenizer(model);
    const bertrt_config& config = model.config();
    const size_t max_length = static_cast<size_t>(config.max_position_embeddings);
    const size_t hidden = model.hidden_size();

    // 1. Token ids, padded to the longest text (padding id: the model's pad_token_id).
    std::vector<bertrt::Encoding> encodings;
    size_t width = 0;
    for (int i = first; i < argc; ++i) {
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

    // 2. lookup: the word embeddings of the ids.
    std::vector<float> embeds(batch * width * hidden), last(embeds.size()), pooled(batch * hidden);
    session.lookup(ids, batch, width, embeds);

    // 3. edit: any change to the vectors; here a scale.
    for (float& v : embeds) v *= scale;

    // 4. forward from the edited vectors.
    bertrt_forward_inputs in{};
    in.inputs_embeds = embeds.data();
    in.attention_mask = mask.data();
    in.token_type_ids = types.data();
    in.batch = batch;
    in.seq_len = width;
    bertrt_forward_outputs out{};
    out.last_hidden_state = last.data();
    session.forward(in, out);

    // 5. one pooled vector per text.
    session.pool(last, mask, batch, width, config.default_pool, config.default_normalize != 0, pooled);

    for (size_t b = 0; b < batch; ++b) {
      for (size_t j = 0; j < hidden; ++j)
        std::printf(j ? " %.7g" : "%.7g", static_cast<double>(pooled[b * hidden + j]));
      std::printf("\n");
    }
  } catch (const bertrt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
