#!/usr/bin/env bash
# bertrt against ONNX Runtime on the same weights, same machine, alternating runs.
#
# usage: bench/compare_peer.sh [--models minilm-l6-h384[,bert-base]] [--threads 1,2]
#          [--shapes 1x8,1x32,1x128,1x384,8x128] [--dtypes f32[,bf16,f16,int8]] [--rounds 5] [--runs R]
#          [--build DIR] [--out FILE.jsonl]
#
# Needs the peer kit set up (../shared/peer/setup.sh, make_models.sh; make_int8.sh for the ONNX Runtime
# int8 models). For every model and dtype D, converts the kit's Hugging Face directory with
# `bertrt convert --dtype D` into <peer cache>/bertrt/<model>-<D>.bertrt (every time: the file format
# follows the binary). Then, per model and thread count, runs ROUNDS rounds of: ONNX Runtime fp32
# (ort_bench.sh), ONNX Runtime int8 (<model>-int8-qattn and <model>-int8-dqmm, when make_int8.sh has
# built them) and `bertrt bench --json` for each dtype; odd rounds in that order, even rounds in the
# reverse order. bertrt's lines carry engine "bertrt-<D>". Prints compare_peer_table.py's table:
# per (model, threads, shape, dtype) the medians of bertrt, ONNX Runtime fp32 and the faster ONNX
# Runtime int8 variant, and the per-round ratios bertrt / ONNX Runtime (< 1: bertrt faster), median
# (min-max) over rounds. All lines are kept in --out (default bench-peer.jsonl in the current
# directory); compare.py and compare_peer_table.py read that file again.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEER="${BERTRT_PEER_KIT:-$ROOT/../shared/peer}"
models=minilm-l6-h384; threads=1,2; shapes=1x8,1x32,1x128,1x384,8x128; dtypes=f32; rounds=5; runs=
build="$ROOT/build"; out=bench-peer.jsonl
die() { echo "compare_peer: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models|--threads|--shapes|--dtypes|--rounds|--runs|--build|--out)
      [ $# -ge 2 ] || die "$1 needs a value"
      declare "${1#--}=$2"; shift 2 ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -d "$PEER" ] || die "peer kit not found at $PEER (set BERTRT_PEER_KIT)"
BERTRT="$build/tools/bertrt"
[ -x "$BERTRT" ] || die "no $BERTRT: build first (or pass --build DIR)"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[ -z "$runs" ] || [[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
IFS=, read -r -a model_list <<< "$models"
IFS=, read -r -a thread_list <<< "$threads"
IFS=, read -r -a dtype_list <<< "$dtypes"
for d in "${dtype_list[@]}"; do
  case "$d" in f32|f16|bf16|int8) ;; *) die "--dtypes: unknown dtype '$d' (f32, f16, bf16, int8)" ;; esac
done
for t in "${thread_list[@]}"; do [[ "$t" =~ ^[1-9][0-9]*$ ]] || die "--threads: '$t' is not a positive integer"; done
. "$PEER/common.sh"
mkdir -p "$PEER_CACHE/bertrt"
: > "$out"
echo "compare_peer: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs," \
     "bertrt $("$BERTRT" --version | cut -d' ' -f2), dtypes $dtypes, rounds $rounds" >&2

# One benchmark run of one engine; all its JSON lines go to stdout and to $out.
run_ort() {  # MODEL_DIR_NAME THREADS
  local a=(--model "$1" --threads "$2" --shapes "$shapes")
  [ -z "$runs" ] || a+=(--runs "$runs")
  "$PEER/ort_bench.sh" "${a[@]}" | tee -a "$out"
}
run_bertrt() {  # MODEL DTYPE THREADS
  local a=(bench "$PEER_CACHE/bertrt/$1-$2.bertrt" --name "$1" --threads "$3" --shapes "$shapes" --json)
  [ -z "$runs" ] || a+=(--runs "$runs")
  # stderr too: the load line (open and first-forward ms) is kept in $out
  "$BERTRT" "${a[@]}" 2>&1 | sed "s/^{\"engine\":\"bertrt\"/{\"engine\":\"bertrt-$2\"/" | tee -a "$out"
}

for m in "${model_list[@]}"; do
  hf="$PEER_CACHE/models/$m"
  [ -f "$hf/model.safetensors" ] || die "no $hf: run $PEER/make_models.sh --models $m"
  [ -f "$hf/model.onnx" ] || die "no $hf/model.onnx: run $PEER/make_models.sh --models $m"
  for d in "${dtype_list[@]}"; do
    "$BERTRT" convert "$hf" -o "$PEER_CACHE/bertrt/$m-$d.bertrt" --dtype "$d" >&2
  done
  engines=("ort $m")
  for v in int8-qattn int8-dqmm; do
    if [ -f "$PEER_CACHE/models/$m-$v/model.onnx" ]; then engines+=("ort $m-$v")
    else echo "compare_peer: no $m-$v (run $PEER/make_int8.sh $m): ONNX Runtime int8 left out" >&2; fi
  done
  for d in "${dtype_list[@]}"; do engines+=("bertrt $d"); done
  for t in "${thread_list[@]}"; do
    for r in $(seq 1 "$rounds"); do
      order=("${engines[@]}")
      if [ $((r % 2)) -eq 0 ]; then
        order=(); for ((i = ${#engines[@]} - 1; i >= 0; i--)); do order+=("${engines[i]}"); done
      fi
      echo "compare_peer: $m, $t thread(s), round $r/$rounds" >&2
      for e in "${order[@]}"; do
        read -r kind arg <<< "$e"
        if [ "$kind" = ort ]; then run_ort "$arg" "$t"; else run_bertrt "$m" "$arg" "$t"; fi
      done
    done
  done
done
/usr/bin/python3 "$HERE/compare_peer_table.py" "$out"
