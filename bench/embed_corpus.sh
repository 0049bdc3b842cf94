#!/usr/bin/env bash
# Throughput of `bertrt embed` on a corpus of mixed-length sentences with a BERT-base-sized model
# (hidden 768, 12 layers, 12 heads, FFN 3072, vocab 30522, 512 positions; RANDOM weights from a
# fixed seed: only the speed means something), length-bucketed batches (--batch-size 32) against
# one text at a time (--batch-size 1, i.e. the sum of per-text forwards at batch 1).
#
#   bench/embed_corpus.sh [BERTRT_BINARY]          (default: build/tools/bertrt, a release build)
#   N=2000 THREADS=2 WORK=/tmp/embed-bench bench/embed_corpus.sh
#
# N: sentences (default 10000); THREADS: --threads (default 0: the CPUs of the process's affinity mask);
# WORK: where the checkpoint, model file and corpus go (default $TMPDIR/bertrt-bench-embed; ~900 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
bertrt=${1:-build/tools/bertrt}
n=${N:-10000}
threads=${THREADS:-0}
work=${WORK:-${TMPDIR:-/tmp}/bertrt-bench-embed}
python=/usr/bin/python3
mkdir -p "$work"

if [[ ! -f "$work/base.bertrt" ]]; then
  "$python" - "$work/hf" tests/data/vocab/bert-base-uncased/vocab.txt <<'PY'
import json, os, shutil, struct, sys
import numpy as np
out, vocab = sys.argv[1], sys.argv[2]
H, L, heads, I, P, V = 768, 12, 12, 3072, 512, 30522
os.makedirs(out, exist_ok=True)
shutil.copy(vocab, os.path.join(out, "vocab.txt"))
json.dump({"architectures": ["BertModel"], "model_type": "bert", "hidden_size": H, "num_hidden_layers": L,
           "num_attention_heads": heads, "intermediate_size": I, "max_position_embeddings": P,
           "type_vocab_size": 2, "vocab_size": V, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
           "pad_token_id": 0}, open(os.path.join(out, "config.json"), "w"))
json.dump({"do_lower_case": True}, open(os.path.join(out, "tokenizer_config.json"), "w"))
rng = np.random.default_rng(1234)
def w(*shape):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02))
t = {"embeddings.word_embeddings.weight": w(V, H), "embeddings.position_embeddings.weight": w(P, H),
     "embeddings.token_type_embeddings.weight": w(2, H),
     "embeddings.LayerNorm.weight": np.ones(H, np.float32), "embeddings.LayerNorm.bias": np.zeros(H, np.float32),
     "pooler.dense.weight": w(H, H), "pooler.dense.bias": np.zeros(H, np.float32)}
for i in range(L):
    p = "encoder.layer.%d." % i
    for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
        t[p + n + ".weight"], t[p + n + ".bias"] = w(H, H), w(H)
    t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"] = w(I, H), w(I)
    t[p + "output.dense.weight"], t[p + "output.dense.bias"] = w(H, I), w(H)
    for n in ["attention.output.LayerNorm", "output.LayerNorm"]:
        t[p + n + ".weight"], t[p + n + ".bias"] = np.ones(H, np.float32), np.zeros(H, np.float32)
header, off = {"__metadata__": {"format": "pt"}}, 0
names = sorted(t)
for k in names:
    header[k] = {"dtype": "F32", "shape": list(t[k].shape), "data_offsets": [off, off + t[k].nbytes]}
    off += t[k].nbytes
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    for k in names:
        f.write(t[k].tobytes())
PY
  "$bertrt" convert "$work/hf" -o "$work/base.bertrt" >/dev/null
  rm -rf "$work/hf"
fi

# N sentences from the demo vocabulary (bertrt-make-demo's words), lengths mixed as in a real
# corpus: 60% short (3-15 words), 30% medium (16-60), 10% long (61-250), in random order.
"$python" - "$work/corpus.txt" "$n" <<'PY'
import sys
import numpy as np
out, n = sys.argv[1], int(sys.argv[2])
words = ("hello my dog is cute the a cat and bert runs on cpu , . ! ? ' - dogs cats running "
         "runs hello cute cpu").split()
rng = np.random.default_rng(42)
kind = rng.random(n)
lengths = np.where(kind < 0.6, rng.integers(3, 16, n), np.where(kind < 0.9, rng.integers(16, 61, n),
                                                                 rng.integers(61, 251, n)))
with open(out, "w") as f:
    for k in lengths:
        f.write(" ".join(rng.choice(words, size=k)) + "\n")
PY

echo "corpus: $n sentences, $(wc -w <"$work/corpus.txt") words; model: BERT-base shape, random weights"
lscpu | grep -E 'Model name|^CPU\(s\)' | sed 's/  */ /g'
for bs in 32 1; do
  log="$work/embed-b$bs.log"
  start=$(date +%s.%N)
  "$bertrt" embed "$work/base.bertrt" --input "$work/corpus.txt" --output "$work/out-b$bs.npy" \
    --batch-size "$bs" --threads "$threads" 2>"$log"
  end=$(date +%s.%N)
  echo "--batch-size $bs: $(tail -n 1 "$log") [wall $(echo "$end - $start" | bc) s]"
done
"$python" -c "
import numpy as np, sys
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print('max |batch 32 - batch 1| = %.2e over %d vectors' % (np.abs(a - b).max(), len(a)))
" "$work/out-b32.npy" "$work/out-b1.npy"
