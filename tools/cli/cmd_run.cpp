// bertrt run: one stage (or the whole forward) on .npy inputs, .npy outputs named as Hugging Face names them.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "bertrt/bertrt.hpp"
#include "cli/args.h"
#include "cli/commands.h"
#include "common/npy.h"

namespace bertrt::cli {
namespace {

struct Ids {
  std::vector<int64_t> data;
  size_t batch = 0, seq_len = 0;
};

// [B, T] int64/int32 (or [T]: a batch of one).
Ids read_ids(const std::string& path, const char* what) {
  const npy::Array a = npy::read(path);
  Ids ids;
  if (a.shape.size() == 2) {
    ids.batch = a.shape[0];
    ids.seq_len = a.shape[1];
  } else if (a.shape.size() == 1) {
    ids.batch = 1;
    ids.seq_len = a.shape[0];
  } else {
    throw Error(BERTRT_ERROR_SHAPE, std::string(what) + " must be [B, T], got a rank-" + std::to_string(a.shape.size()) + " array");
  }
  ids.data = npy::as_int64(a, what);
  return ids;
}

struct Vectors {
  std::vector<float> data;
  size_t batch = 0, seq_len = 0;
};

Vectors read_vectors(const std::string& path, const char* what, size_t hidden, const char* width_name) {
  const npy::Array a = npy::read(path);
  Vectors v;
  if (a.shape.size() == 3) {
    v.batch = a.shape[0];
    v.seq_len = a.shape[1];
  } else if (a.shape.size() == 2) {
    v.batch = 1;
    v.seq_len = a.shape[0];
  } else {
    throw Error(BERTRT_ERROR_SHAPE, std::string(what) + " must be [B, T, H]");
  }
  if (a.shape.back() != hidden)
    throw Error(BERTRT_ERROR_SHAPE, std::string(what) + " has last dimension " + std::to_string(a.shape.back()) +
                                        ", the model's " + width_name + " is " + std::to_string(hidden));
  v.data = npy::as_float32(a, what);
  return v;
}

void same_shape(const Ids& ids, size_t batch, size_t seq_len, const char* what) {
  if (ids.batch != batch || ids.seq_len != seq_len)
    throw Error(BERTRT_ERROR_SHAPE, std::string(what) + " is [" + std::to_string(ids.batch) + ", " +
                                        std::to_string(ids.seq_len) + "], inputs are [" + std::to_string(batch) + ", " +
                                        std::to_string(seq_len) + "]");
}

// The shape of the head's logits for a [B, T] input: [B, L] (sequence head), [B, T, L or V].
std::vector<size_t> logits_shape(const bertrt_head_info& head, size_t batch, size_t seq_len) {
  const size_t width = static_cast<size_t>(head.logits_size);
  if (head.kind == BERTRT_HEAD_SEQUENCE) return {batch, width};
  return {batch, seq_len, width};
}

}  // namespace

int cmd_run(int argc, char** argv) {
  const Args args(argc, argv, 2,
                  {"--stage", "--out", "--input-ids", "--attention-mask", "--token-type-ids", "--position-ids",
                   "--inputs-embeds", "--embedding-output", "--hidden", "--pool", "--threads"},
                  {"--help", "--output-hidden-states", "--output-attentions", "--normalize", "--verify-weights"});
  if (args.flag("--help")) {
    std::puts(
        "usage: bertrt run MODEL --stage lookup|embed|project|encode|head|forward --out DIR\n"
        "         [--input-ids F.npy] [--attention-mask F.npy] [--token-type-ids F.npy] [--position-ids F.npy]\n"
        "         [--inputs-embeds F.npy] [--embedding-output F.npy] [--hidden F.npy] [--output-hidden-states]\n"
        "         [--output-attentions] [--pool cls|mean|max|pooler] [--normalize] [--threads N]\n"
        "Ids are int64 or int32 [B, T]; vectors float32 [B, T, H] (inputs_embeds and embedding_output [B, T, E],\n"
        "E = embedding_size, which only ELECTRA sets apart from H). Stages: lookup --input-ids; embed\n"
        "--inputs-embeds (or --input-ids); project --embedding-output (ELECTRA's embeddings_project E -> H, a copy\n"
        "for other models); encode --hidden; head --hidden (last_hidden_state, with --attention-mask); forward\n"
        "--input-ids or --inputs-embeds. Writes float32 .npy files into\n"
        "DIR: inputs_embeds.npy (lookup), embedding_output.npy (embed, forward), hidden_states_0.npy (project),\n"
        "last_hidden_state.npy (encode, forward), hidden_states_0..L.npy, attentions_0..L-1.npy (when asked),\n"
        "pooler_output.npy (forward, model with pooler), pooled.npy (--pool), logits.npy (head, and forward on a\n"
        "model with a task head: [B, num_labels], [B, T, num_labels] or [B, T, vocab_size]).");
    return 0;
  }
  if (args.positional().size() != 1) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "run takes one MODEL");
  const auto stage = args.value("--stage");
  if (!stage) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "run needs --stage lookup|embed|project|encode|head|forward");
  if (*stage != "lookup" && *stage != "embed" && *stage != "project" && *stage != "encode" && *stage != "head" &&
      *stage != "forward")
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
                "unknown stage '" + *stage + "' (lookup, embed, project, encode, head, forward)");
  const auto out_dir = args.value("--out");
  if (!out_dir) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "run needs --out DIR");
  std::filesystem::create_directories(*out_dir);
  auto out = [&](const std::string& name) { return (std::filesystem::path(*out_dir) / name).string(); };

  Model model(args.positional()[0], args.flag("--verify-weights"));
  Session session(model);
  session.set_threads(static_cast<int>(args.integer("--threads", 0)));
  const bertrt_config& c = model.config();
  const bertrt_head_info head = model.head_info();
  const size_t H = static_cast<size_t>(c.hidden_size), L = static_cast<size_t>(c.num_hidden_layers),
               heads = static_cast<size_t>(c.num_attention_heads), E = static_cast<size_t>(c.embedding_size);

  // Inputs: the token grid comes from input_ids or the one vector input the stage takes:
  // --inputs-embeds (embed, forward), --embedding-output (project) or --hidden (encode).
  const std::string vector_option = *stage == "project" ? "--embedding-output"
                                    : *stage == "encode" || *stage == "head" ? "--hidden"
                                                         : "--inputs-embeds";
  for (const char* o : {"--inputs-embeds", "--embedding-output", "--hidden"})
    if (args.value(o) && o != vector_option)
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--stage " + *stage + " takes no " + o +
                                                     (*stage == "lookup" ? "" : " (its vectors come from " + vector_option + ")"));
  std::optional<Ids> input_ids, mask, types, positions;
  std::optional<Vectors> embeds;
  if (auto p = args.value("--input-ids")) input_ids = read_ids(*p, "input_ids");
  if (auto p = args.value(vector_option)) {
    std::string what = vector_option.substr(2);  // inputs_embeds, embedding_output, hidden
    std::replace(what.begin(), what.end(), '-', '_');
    const bool wide = what == "hidden";
    embeds = read_vectors(*p, what.c_str(), wide ? H : E, wide ? "hidden_size" : "embedding_size");
  }
  size_t B = 0, T = 0;
  if (input_ids) {
    B = input_ids->batch;
    T = input_ids->seq_len;
  } else if (embeds) {
    B = embeds->batch;
    T = embeds->seq_len;
  }
  if (auto p = args.value("--attention-mask")) mask = read_ids(*p, "attention_mask");
  if (auto p = args.value("--token-type-ids")) types = read_ids(*p, "token_type_ids");
  if (auto p = args.value("--position-ids")) positions = read_ids(*p, "position_ids");
  if (mask) same_shape(*mask, B, T, "attention_mask");
  if (types) same_shape(*types, B, T, "token_type_ids");
  if (positions) same_shape(*positions, B, T, "position_ids");
  auto span_of = [](const std::optional<Ids>& ids) {
    return ids ? std::span<const int64_t>(ids->data) : std::span<const int64_t>();
  };
  const std::vector<size_t> shape3 = {B, T, H}, shape_e = {B, T, E};
  const bool want_hidden = args.flag("--output-hidden-states"), want_attn = args.flag("--output-attentions");
  std::vector<float> last(B * T * H), hidden_states, attentions;
  if (want_hidden) hidden_states.resize((L + 1) * B * T * H);
  if (want_attn) attentions.resize(L * B * heads * T * T);

  auto write_layers = [&]() {
    for (size_t l = 0; want_hidden && l <= L; ++l)
      npy::write_float32(out("hidden_states_" + std::to_string(l) + ".npy"), hidden_states.data() + l * B * T * H, shape3);
    for (size_t l = 0; want_attn && l < L; ++l)
      npy::write_float32(out("attentions_" + std::to_string(l) + ".npy"), attentions.data() + l * B * heads * T * T,
                         {B, heads, T, T});
  };
  auto write_pool = [&]() {
    if (args.value("--pool")) {
      const bertrt_pool_mode m = pool_option(args, BERTRT_POOL_MEAN);
      std::vector<float> pooled(B * H);
      session.pool(last, span_of(mask), B, T, m, args.flag("--normalize"), pooled);
      npy::write_float32(out("pooled.npy"), pooled.data(), {B, H});
    }
  };

  if (*stage == "lookup") {
    if (!input_ids) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--stage lookup needs --input-ids");
    std::vector<float> result(B * T * E);
    session.lookup(input_ids->data, B, T, result);
    npy::write_float32(out("inputs_embeds.npy"), result.data(), shape_e);
  } else if (*stage == "embed") {
    std::vector<float> vectors;
    if (embeds) {
      vectors = std::move(embeds->data);
    } else if (input_ids) {
      vectors.resize(B * T * E);
      session.lookup(input_ids->data, B, T, vectors);
    } else {
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--stage embed needs --inputs-embeds (or --input-ids)");
    }
    std::vector<float> result(B * T * E);
    session.embed(vectors, span_of(types), span_of(positions), B, T, result);
    npy::write_float32(out("embedding_output.npy"), result.data(), shape_e);
  } else if (*stage == "project") {
    if (!embeds) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--stage project needs --embedding-output");
    std::vector<float> result(B * T * H);
    session.project(embeds->data, B, T, result);
    npy::write_float32(out("hidden_states_0.npy"), result.data(), shape3);
  } else if (*stage == "encode") {
    if (!embeds) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--stage encode needs --hidden");
    session.encode(embeds->data, span_of(mask), B, T, last, hidden_states, attentions);
    npy::write_float32(out("last_hidden_state.npy"), last.data(), shape3);
    write_layers();
    write_pool();
  } else if (*stage == "head") {
    if (!embeds) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--stage head needs --hidden (last_hidden_state [B, T, H])");
    const std::vector<size_t> shape = logits_shape(head, B, T);
    std::vector<float> logits(shape.size() == 2 ? shape[0] * shape[1] : shape[0] * shape[1] * shape[2]);
    session.head(embeds->data, span_of(mask), B, T, logits);
    npy::write_float32(out("logits.npy"), logits.data(), shape);
  } else {
    if (input_ids && embeds) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "give --input-ids or --inputs-embeds, not both");
    if (!input_ids && !embeds) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "--stage forward needs --input-ids or --inputs-embeds");
    std::vector<float> embedding_output(B * T * E), pooler(c.has_pooler ? B * H : 0), logits;
    const std::vector<size_t> shape_logits = logits_shape(head, B, T);
    if (head.kind != BERTRT_HEAD_NONE)
      logits.resize(shape_logits.size() == 2 ? B * shape_logits[1] : B * T * shape_logits[2]);
    bertrt_forward_inputs in{};
    in.input_ids = input_ids ? input_ids->data.data() : nullptr;
    in.inputs_embeds = embeds ? embeds->data.data() : nullptr;
    in.attention_mask = mask ? mask->data.data() : nullptr;
    in.token_type_ids = types ? types->data.data() : nullptr;
    in.position_ids = positions ? positions->data.data() : nullptr;
    in.batch = B;
    in.seq_len = T;
    bertrt_forward_outputs o{};
    o.last_hidden_state = last.data();
    o.embedding_output = embedding_output.data();
    o.pooler_output = c.has_pooler ? pooler.data() : nullptr;
    o.hidden_states = want_hidden ? hidden_states.data() : nullptr;
    o.attentions = want_attn ? attentions.data() : nullptr;
    o.logits = logits.empty() ? nullptr : logits.data();
    session.forward(in, o);
    npy::write_float32(out("embedding_output.npy"), embedding_output.data(), shape_e);
    npy::write_float32(out("last_hidden_state.npy"), last.data(), shape3);
    if (c.has_pooler) npy::write_float32(out("pooler_output.npy"), pooler.data(), {B, H});
    if (!logits.empty()) npy::write_float32(out("logits.npy"), logits.data(), shape_logits);
    write_layers();
    write_pool();
  }
  return 0;
}

}  // namespace bertrt::cli
