#!/usr/bin/env python3
"""Writes a BERT-base-sized cross-encoder (BertForSequenceClassification, num_labels 1) with RANDOM
weights in Hugging Face layout, for timing `bertrt rerank` (bench/rerank_vs_bench.sh); its scores
mean nothing.

    bench/make_cross_encoder.py OUT_DIR [--layers 12] [--hidden 768] [--seed 1]

OUT_DIR receives config.json, model.safetensors (float32), vocab.txt (bert-base-uncased's, from
tests/data/vocab) and tokenizer_config.json. numpy only."""
import argparse
import json
import os
import shutil
import struct

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def tensors(rng, vocab, hidden, layers, intermediate, positions):
    def normal(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

    t = {
        "bert.embeddings.word_embeddings.weight": normal(vocab, hidden),
        "bert.embeddings.position_embeddings.weight": normal(positions, hidden),
        "bert.embeddings.token_type_embeddings.weight": normal(2, hidden),
        "bert.embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "bert.embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
        "bert.pooler.dense.weight": normal(hidden, hidden),
        "bert.pooler.dense.bias": np.zeros(hidden, np.float32),
        "classifier.weight": normal(1, hidden),
        "classifier.bias": np.zeros(1, np.float32),
    }
    for i in range(layers):
        p = "bert.encoder.layer.%d." % i
        for name in ("query", "key", "value"):
            t[p + "attention.self.%s.weight" % name] = normal(hidden, hidden)
            t[p + "attention.self.%s.bias" % name] = np.zeros(hidden, np.float32)
        t[p + "attention.output.dense.weight"] = normal(hidden, hidden)
        t[p + "attention.output.dense.bias"] = np.zeros(hidden, np.float32)
        t[p + "attention.output.LayerNorm.weight"] = np.ones(hidden, np.float32)
        t[p + "attention.output.LayerNorm.bias"] = np.zeros(hidden, np.float32)
        t[p + "intermediate.dense.weight"] = normal(intermediate, hidden)
        t[p + "intermediate.dense.bias"] = np.zeros(intermediate, np.float32)
        t[p + "output.dense.weight"] = normal(hidden, intermediate)
        t[p + "output.dense.bias"] = np.zeros(hidden, np.float32)
        t[p + "output.LayerNorm.weight"] = np.ones(hidden, np.float32)
        t[p + "output.LayerNorm.bias"] = np.zeros(hidden, np.float32)
    return t


def write_safetensors(path, named):
    header, offset = {}, 0
    for name, a in named.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for a in named.values():
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.hidden % 64:
        ap.error("--hidden must be a multiple of 64 (heads of 64)")
    os.makedirs(a.out_dir, exist_ok=True)
    vocab_src = os.path.join(ROOT, "tests", "data", "vocab", "bert-base-uncased", "vocab.txt")
    shutil.copyfile(vocab_src, os.path.join(a.out_dir, "vocab.txt"))
    with open(vocab_src, encoding="utf-8") as f:
        vocab = sum(1 for _ in f)
    config = {
        "architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": vocab,
        "hidden_size": a.hidden, "num_hidden_layers": a.layers, "num_attention_heads": a.hidden // 64,
        "intermediate_size": 4 * a.hidden, "max_position_embeddings": 512, "type_vocab_size": 2,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0},
    }
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(a.out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512}, f)
    rng = np.random.default_rng(a.seed)
    write_safetensors(os.path.join(a.out_dir, "model.safetensors"),
                      tensors(rng, vocab, a.hidden, a.layers, 4 * a.hidden, 512))


if __name__ == "__main__":
    main()
