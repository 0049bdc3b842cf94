#!/usr/bin/env bash
# bertrt against ONNX Runtime on the same weights, same machine, alternating runs.
#
# usage: bench/compare_peer.sh [--models minilm-l6-h384[,bert-base]] [--threads 1,2]
#          [--shapes 1x8,1x32,1x128,1x384,8x128] [--rounds 5] [--runs R] [--build DIR] [--out FILE.jsonl]
#
# Needs the peer kit set up (../shared/peer/setup.sh, make_models.sh). For every model, converts the
# kit's Hugging Face directory with `bertrt convert` into <peer cache>/bertrt/<model>.bertrt (every
# time: the file format follows the binary), then runs ../shared/peer/interleave.sh (odd rounds ONNX
# Runtime first, even rounds bertrt first) with `bertrt bench --json`, and prints compare.py's table:
# per (model, threads, shape) both medians and the ratio bertrt / ONNX Runtime (< 1: bertrt faster),
# median (min-max) over rounds. All JSON lines are kept in --out (default bench-peer.jsonl in the
# current directory).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEER="${BERTRT_PEER_KIT:-$ROOT/../shared/peer}"
models=minilm-l6-h384; threads=1,2; shapes=1x8,1x32,1x128,1x384,8x128; rounds=5; runs=
build="$ROOT/build"; out=bench-peer.jsonl
die() { echo "compare_peer: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models|--threads|--shapes|--rounds|--runs|--build|--out)
      [ $# -ge 2 ] || die "$1 needs a value"
      declare "${1#--}=$2"; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -d "$PEER" ] || die "peer kit not found at $PEER (set BERTRT_PEER_KIT)"
BERTRT="$build/tools/bertrt"
[ -x "$BERTRT" ] || die "no $BERTRT: build first (or pass --build DIR)"
. "$PEER/common.sh"
mkdir -p "$PEER_CACHE/bertrt"
: > "$out"
echo "compare_peer: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs," \
     "bertrt $("$BERTRT" --version | cut -d' ' -f2), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" >&2
IFS=, read -r -a model_list <<< "$models"
IFS=, read -r -a thread_list <<< "$threads"
for m in "${model_list[@]}"; do
  hf="$PEER_CACHE/models/$m"
  [ -f "$hf/model.safetensors" ] || die "no $hf: run $PEER/make_models.sh --models $m"
  file="$PEER_CACHE/bertrt/$m.bertrt"
  "$BERTRT" convert "$hf" -o "$file" >&2
  for t in "${thread_list[@]}"; do
    cmd=("$BERTRT" bench "$file" --name {model} --threads {threads} --shapes {shapes} --json)
    [ -z "$runs" ] || cmd+=(--runs {runs})
    args=(--model "$m" --threads "$t" --shapes "$shapes" --rounds "$rounds")
    [ -z "$runs" ] || args+=(--runs "$runs")
    "$PEER/interleave.sh" "${args[@]}" -- "${cmd[@]}" | tee -a "$out"
  done
done
"$PEER/compare.py" "$out"
