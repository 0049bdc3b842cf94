#!/usr/bin/env bash
# Throughput of `bertrt embed` on a corpus of mixed-length sentences with a BERT-base-sized model
# (hidden 768, 12 layers, 12 heads, FFN 3072, vocab 30522, 512 positions; RANDOM weights from a
# fixed seed: only the speed means something), packed batches (the default: no padding, up to
# BATCH_TOKENS tokens a forward) against padded length-bucketed batches (--padded --batch-size 32:
# texts sorted by length, 32 a batch, padded to the batch's longest), in interleaved rounds; prints
# each round's throughput ratio (wall clock) and CPU-time ratio, the medians and the largest difference between the two outputs.
#
#   bench/embed_corpus.sh [BERTRT_BINARY]          (default: build/tools/bertrt, a release build)
#   N=2000 THREADS=2 ROUNDS=3 WORK=/tmp/embed-bench bench/embed_corpus.sh
#
# N: sentences (default 10000); ROUNDS: rounds (default 3); BATCH_TOKENS: --batch-tokens (default
# 2048); THREADS: --threads (default 0: the CPUs of the process's affinity mask);
# WORK: where the checkpoint, model file and corpus go (default $TMPDIR/bertrt-bench-embed; ~900 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
bertrt=${1:-build/tools/bertrt}
n=${N:-10000}
threads=${THREADS:-0}
rounds=${ROUNDS:-3}
batch_tokens=${BATCH_TOKENS:-2048}
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
# Interleaved rounds (odd rounds packed first, even rounds padded first); each run's texts/s from
# the wall time of the whole command (tokenizing, batching, forward, pooling, writing).
declare -A args=([packed]="--batch-tokens $batch_tokens" [padded]="--padded --batch-size 32")
: >"$work/rates.txt"
for ((r = 1; r <= rounds; ++r)); do
  order="packed padded"; ((r % 2)) || order="padded packed"
  for mode in $order; do
    log="$work/embed-$mode.log"
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %U %S" -o "$work/time-$mode.txt" \
      "$bertrt" embed "$work/base.bertrt" --input "$work/corpus.txt" --output "$work/out-$mode.npy" \
      ${args[$mode]} --threads "$threads" 2>"$log"
    read -r secs user sys <"$work/time-$mode.txt"
    cpu=$(echo "$user + $sys" | bc)
    echo "$r $mode $secs $cpu" >>"$work/rates.txt"
    echo "round $r $mode (${args[$mode]}): wall $secs s, CPU $cpu s; $(tail -n 1 "$log")"
  done
done
"$python" - "$work/rates.txt" "$n" "$work/out-packed.npy" "$work/out-padded.npy" <<'PY'
import sys
import numpy as np
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
t, c = {}, {}
for r, mode, secs, cpu in rows:
    t.setdefault(int(r), {})[mode] = float(secs)
    c.setdefault(int(r), {})[mode] = float(cpu)
ratios = sorted(v["padded"] / v["packed"] for v in t.values())
cpu_ratios = sorted(v["padded"] / v["packed"] for v in c.values())
med = lambda xs: float(np.median(xs))
print("packed: median %.1f s (%.1f texts/s); padded: median %.1f s (%.1f texts/s)" % (
    med([v["packed"] for v in t.values()]), n / med([v["packed"] for v in t.values()]),
    med([v["padded"] for v in t.values()]), n / med([v["padded"] for v in t.values()])))
print("throughput packed / padded per round: %s; median %.2fx" % (", ".join("%.2f" % x for x in ratios), med(ratios)))
print("CPU time padded / packed per round: %s; median %.2fx" % (", ".join("%.2f" % x for x in cpu_ratios),
                                                              med(cpu_ratios)))
a, b = np.load(sys.argv[3]), np.load(sys.argv[4])
print("max |packed - padded| = %.2e over %d vectors" % (np.abs(a - b).max(), len(a)))
PY
