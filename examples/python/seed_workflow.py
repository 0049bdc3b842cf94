#!/usr/bin/env python3
"""The seed workflow with the bertrt Python module and numpy: token ids -> lookup -> edit the
vectors -> forward from the edited vectors -> one pooled vector per text (the model's pooling
defaults). The same computation as examples/c/embed.c and examples/cpp/embed.cpp.

    python3 seed_workflow.py model.bertrt [--scale S] "first text" "second text"

The edit multiplies every input vector by S (default 1.5). Prints one line per text: its pooled
vector, numbers separated by spaces.
"""
import sys

import numpy as np

import bertrt


def main(argv):
    scale = 1.5
    first = 2
    if len(argv) >= 4 and argv[2] == "--scale":
        scale = float(argv[3])
        first = 4
    if len(argv) <= first:
        print("usage: %s MODEL [--scale S] TEXT..." % argv[0], file=sys.stderr)
        return 2
    model = bertrt.Model(argv[1])
    texts = argv[first:]
    config = model.config

    # 1. token ids [B, T], padded to the longest text
    enc = model.tokenize(texts)
    # 2. lookup: the word embeddings of the ids, float32 [B, T, H]
    embeds = model.lookup(enc["input_ids"])
    # 3. edit: any numpy computation on the vectors; here a scale
    embeds = embeds * np.float32(scale)
    # 4. forward from the edited vectors
    out = model.forward_from_embeds(embeds, attention_mask=enc["attention_mask"],
                                    token_type_ids=enc["token_type_ids"])
    # 5. one pooled vector per text
    pooled = model.pool(out["last_hidden_state"], attention_mask=enc["attention_mask"],
                        mode=config["default_pool"], normalize=config["default_normalize"])
    for row in pooled:
        print(" ".join("%.7g" % v for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
