#!/usr/bin/env bash
# Numerics of bertrt f32 / bf16 / int8 and of ONNX Runtime int8 against ONNX Runtime fp32 on the peer
# kit's models, same inputs for all.
#
# usage: bench/int8_accuracy.sh [--models minilm-l6-h384,bert-base] [--dtypes f32,bf16,int8]
#          [--build DIR] [--work DIR]
#
# Needs the peer kit set up (../shared/peer/setup.sh, make_models.sh, make_int8.sh) and Debian's
# python3-numpy. Inputs per model: ref_2x16, the kit's reference input (ref_*.npy, row 2 padded),
# and bench_1x128, the benchmark's input (ids 1000 + xorshift32 % 29000 seeded 12345, as ort_bench.js
# and bertrt bench; mask all ones, token types zero). Converts the kit's Hugging Face folder with
# `bertrt convert --dtype D` into WORK (default int8-accuracy/ in the current directory; the model
# files are deleted at the end), runs `bertrt run --stage forward` (1 thread) and ONNX Runtime fp32,
# int8-qattn and int8-dqmm (bench/ort_outputs.js, 1 thread), and prints int8_accuracy.py's tables,
# then the kit's own figures for ONNX Runtime int8 (ort_compare.js, JSON lines) for comparison.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEER="${BERTRT_PEER_KIT:-$ROOT/../shared/peer}"
models=minilm-l6-h384,bert-base; dtypes=f32,bf16,int8; build="$ROOT/build"; work=int8-accuracy
die() { echo "int8_accuracy: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models|--dtypes|--build|--work)
      [ $# -ge 2 ] || die "$1 needs a value"
      declare "${1#--}=$2"; shift 2 ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -d "$PEER" ] || die "peer kit not found at $PEER (set BERTRT_PEER_KIT)"
BERTRT="$build/tools/bertrt"
[ -x "$BERTRT" ] || die "no $BERTRT: build first (or pass --build DIR)"
PY=/usr/bin/python3
"$PY" -c 'import numpy' 2>/dev/null || die "$PY cannot import numpy (apt-get install python3-numpy)"
. "$PEER/common.sh"
IFS=, read -r -a model_list <<< "$models"
IFS=, read -r -a dtype_list <<< "$dtypes"
for d in "${dtype_list[@]}"; do
  case "$d" in f32|f16|bf16|int8) ;; *) die "--dtypes: unknown dtype '$d' (f32, f16, bf16, int8)" ;; esac
done
mkdir -p "$work"
echo "int8_accuracy: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $("$BERTRT" --version)" >&2

for m in "${model_list[@]}"; do
  hf="$PEER_CACHE/models/$m"
  [ -f "$hf/model.safetensors" ] || die "no $hf: run $PEER/make_models.sh --models $m"
  for v in int8-qattn int8-dqmm; do
    [ -f "$PEER_CACHE/models/$m-$v/model.onnx" ] || die "no $m-$v: run $PEER/make_int8.sh $m"
  done
  w="$work/$m"; rm -rf "$w"; mkdir -p "$w/ref_2x16/inputs" "$w/bench_1x128/inputs" "$w/ref_2x16/pytorch"
  for n in input_ids attention_mask token_type_ids; do cp "$hf/ref_$n.npy" "$w/ref_2x16/inputs/$n.npy"; done
  cp "$hf/ref_last_hidden_state.npy" "$w/ref_2x16/pytorch/last_hidden_state.npy"
  cp "$hf/ref_pooler_output.npy" "$w/ref_2x16/pytorch/pooler_output.npy"
  "$PY" - "$w/bench_1x128/inputs" <<'EOF'
import sys, numpy as np
x, ids = 12345, []
for _ in range(128):
    x ^= (x << 13) & 0xFFFFFFFF; x ^= x >> 17; x ^= (x << 5) & 0xFFFFFFFF
    ids.append(1000 + x % 29000)
d = sys.argv[1]
np.save(d + "/input_ids.npy", np.array([ids], dtype=np.int64))
np.save(d + "/attention_mask.npy", np.ones((1, 128), dtype=np.int64))
np.save(d + "/token_type_ids.npy", np.zeros((1, 128), dtype=np.int64))
EOF
  for d in "${dtype_list[@]}"; do
    "$BERTRT" convert "$hf" -o "$w/$m-$d.bertrt" --dtype "$d" >/dev/null 2>&1 || die "bertrt convert --dtype $d failed for $m"
  done
  for c in ref_2x16 bench_1x128; do
    in="$w/$c/inputs"
    for d in "${dtype_list[@]}"; do
      "$BERTRT" run "$w/$m-$d.bertrt" --stage forward --threads 1 --input-ids "$in/input_ids.npy" \
        --attention-mask "$in/attention_mask.npy" --token-type-ids "$in/token_type_ids.npy" --out "$w/$c/bertrt-$d" >/dev/null
    done
    for v in "" -int8-qattn -int8-dqmm; do
      node "$HERE/ort_outputs.js" --kit "$PEER" --model "$m$v" --inputs "$in" --out "$w/$c/ort${v:--fp32}"
    done
  done
  rm -f "$w/$m"-*.bertrt
done
"$PY" "$HERE/int8_accuracy.py" "$work"
echo
echo "ONNX Runtime int8 against ONNX Runtime fp32 by the kit's ort_compare.js:"
for m in "${model_list[@]}"; do
  for v in int8-qattn int8-dqmm; do node "$PEER/ort_compare.js" --ref-model "$m" --model "$m-$v"; done
done
