// The task-head verbs' computations, shared by the bertrt CLI (classify, rerank, tag, fill-mask,
// embed --sparse) and the Python module: batching encodings through forward, the head's logits,
// softmax / sigmoid, top-k, entity grouping, SPLADE weights. Public API only (bertrt.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bertrt/bertrt.hpp"

namespace bertrt::heads {

// Throws Error(BERTRT_ERROR_NO_HEAD) for a model without a head, Error(BERTRT_ERROR_INVALID_ARGUMENT)
// for a head of another kind; both messages name the verb and what it needs.
void require_head(const Model& model, bertrt_head_kind kind, const char* verb);

// Encodings grouped for forward: sorted by token count (longest first, stable), batch_size at a
// time, padded with pad_id (type 0, mask 0). rows: the encodings' indices in the batch's order.
struct Batch {
  std::vector<size_t> rows;
  size_t seq_len = 0;
  std::vector<int64_t> ids, types, mask;  // [rows.size(), seq_len]
};
std::vector<Batch> make_batches(std::span<const Encoding> encodings, size_t batch_size, int64_t pad_id);

// A sequence head's logits [N, L] of every encoding, in input order.
std::vector<float> sequence_logits(Session& session, const Model& model, std::span<const Encoding> encodings,
                                   size_t batch_size, int64_t pad_id);
// A token head's logits of every encoding: [T_i, L] each, in input order.
std::vector<std::vector<float>> token_logits(Session& session, const Model& model,
                                             std::span<const Encoding> encodings, size_t batch_size, int64_t pad_id);

// How classify turns a sequence head's logits into scores: softmax (single-label), sigmoid
// (problem_type multi_label_classification) or none (num_labels 1: a regression, the raw score).
enum class ScoreFunction { softmax, sigmoid, none };
ScoreFunction classify_function(const bertrt_head_info& head);
const char* score_function_name(ScoreFunction f);
// Applies f to each row of [rows, width] in place (softmax: max-subtracted, in double).
void apply_scores(std::span<float> values, size_t width, ScoreFunction f);
float sigmoid(float x);

// Indices of the k largest values (all when k >= size), largest first, ties by lower index.
std::vector<size_t> top_k(std::span<const float> values, size_t k);

// One token's prediction for grouping: its label ("B-PER", "I-LOC", "O", ...), score and byte span.
struct TokenTag {
  std::string label;
  float score = 0;
  int64_t start = 0, end = 0;
};
// An entity as Hugging Face's token-classification pipeline groups them with
// aggregation_strategy="simple": a new entity starts at B-X, or at I-X (or a bare X) after a token
// of another type; its score is the mean of its tokens' scores, word the text from the first
// token's start to the last token's end; groups labelled O are dropped. tokens: the text's tokens
// in order without special tokens; text: the string the offsets index.
struct Entity {
  std::string entity_group;
  float score = 0;
  std::string word;
  int64_t start = 0, end = 0;
};
std::vector<Entity> group_entities(std::span<const TokenTag> tokens, std::string_view text);

// The mask token's id: the model's mask_token setting ("[MASK]", "<mask>") looked up in the
// tokenizer's vocabulary; Error(BERTRT_ERROR_INVALID_ARGUMENT) when the vocabulary has none.
int64_t mask_token_id(const Model& model, const Tokenizer& tokenizer);
struct MaskCandidate {
  int64_t token_id = 0;
  std::string token;
  float score = 0;  // softmax probability over the vocabulary
};
// Top-k tokens at each position of encoding whose id is mask_id, computed at those positions only
// (bertrt_session_head_at). Error(BERTRT_ERROR_INVALID_ARGUMENT) when the text has no mask token.
std::vector<std::vector<MaskCandidate>> fill_mask(Session& session, const Model& model, const Tokenizer& tokenizer,
                                                  const Encoding& encoding, int64_t mask_id, size_t k);

// SPLADE: per text w[v] = max over its tokens with mask 1 of log(1 + ReLU(logits[t, v])) from the
// masked-LM head, kept where w > threshold, the top_k largest of those (top_k 0: all); ids and
// weights by weight descending (ties: lower id first). Logits are computed a few hundred token rows
// at a time (head_at), never [B, T, V] at once.
struct SparseVector {
  std::vector<int64_t> ids;
  std::vector<float> weights;
};
std::vector<SparseVector> splade(Session& session, const Model& model, std::span<const Encoding> encodings,
                                 size_t batch_size, int64_t pad_id, size_t top_k, float threshold);
// The selection step alone: entries of dense (one weight per vocabulary id) above threshold, top_k.
SparseVector sparsify(std::span<const float> dense, size_t top_k, float threshold);

}  // namespace bertrt::heads
