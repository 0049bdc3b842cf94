// The task-head stage: logits from hidden rows, for the head a model file holds (sequence or token
// classification, masked LM; docs/format.md, "Task heads"). Inputs are validated by the caller.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/aligned.h"
#include "model/model.h"
#include "stages/stages.h"

namespace bertrt::core {

// The head stage's scratch, owned by a Session; buffers only grow.
struct HeadScratch {
  AlignedVector<float> rows;       // [n, H] gathered rows (token 0 of each sequence, chosen tokens)
  AlignedVector<float> inner;      // [n, X] after the dense layer (masked LM: and the LayerNorm)
  AlignedVector<float> zeros;      // [X] zeros: the LayerNorm kernel's second input
  AlignedVector<float> pack;       // [threads, X * kColBlock] a tied f32 decoder block, in panels
  AlignedVector<uint16_t> pack16;  // the same for f16 / bf16 word embeddings
};

// logits[n, logits_size] of the model's head over hidden rows x[n, H]: a sequence head's x holds
// token 0 of each sequence; token and masked-LM heads take any tokens. rows (optional, for x a
// whole [batch, seq_len, H] grid): only each sequence's rows up to its last valid token are
// computed, the logits of the rest are zeros. Dense layers run on the session's team through
// linear(); a tied decoder packs blocks of the word embeddings transposed, one block per job.
// Results do not depend on the thread count.
void head(const Model& model, Workspace& ws, HeadScratch& hs, const float* x, size_t n, const RowBlocks* rows,
          float* logits);

}  // namespace bertrt::core
