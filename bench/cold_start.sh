#!/usr/bin/env bash
# Cold start: time from starting a fresh `bertrt` process to its first 1x8 forward, and its peak RSS,
# against the model file's size; page cache warm, and cold when run as root.
#
# usage: bench/cold_start.sh [--models bert-base[,minilm-l6-h384]] [--dtypes int8[,f32,bf16]]
#          [--rounds 5] [--threads 1] [--build DIR] [--work DIR] [--no-cold]
#
# Converts the peer kit's Hugging Face folder (../shared/peer, make_models.sh) with `bertrt convert
# --dtype D` into WORK (default cold-start/ in the current directory), then runs cold_start.py on the
# files: warm page cache (after one untimed run), then cold (sync; echo 3 > /proc/sys/vm/drop_caches
# before each run; skipped with --no-cold or when not root). Target for int8 bert-base: open +
# first 1x8 forward <= 30 ms, peak RSS <= file size + 64 MB.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEER="${BERTRT_PEER_KIT:-$ROOT/../shared/peer}"
models=bert-base; dtypes=int8; rounds=5; threads=1; build="$ROOT/build"; work=cold-start; cold=1
die() { echo "cold_start: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models|--dtypes|--rounds|--threads|--build|--work)
      [ $# -ge 2 ] || die "$1 needs a value"
      declare "${1#--}=$2"; shift 2 ;;
    --no-cold) cold=0; shift ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -d "$PEER" ] || die "peer kit not found at $PEER (set BERTRT_PEER_KIT)"
BERTRT="$build/tools/bertrt"
[ -x "$BERTRT" ] || die "no $BERTRT: build first (or pass --build DIR)"
. "$PEER/common.sh"
IFS=, read -r -a model_list <<< "$models"
IFS=, read -r -a dtype_list <<< "$dtypes"
mkdir -p "$work"
files=()
for m in "${model_list[@]}"; do
  hf="$PEER_CACHE/models/$m"
  [ -f "$hf/model.safetensors" ] || die "no $hf: run $PEER/make_models.sh --models $m"
  for d in "${dtype_list[@]}"; do
    "$BERTRT" convert "$hf" -o "$work/$m-$d.bertrt" --dtype "$d" >/dev/null 2>&1 || die "bertrt convert --dtype $d failed for $m"
    files+=("$work/$m-$d.bertrt")
  done
done
echo "cold_start: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, $("$BERTRT" --version)," \
     "$(df -P "$work" | awk 'NR==2 {print $1}')"
args=(--bertrt "$BERTRT" --rounds "$rounds" --threads "$threads" "${files[@]}")
/usr/bin/python3 "$HERE/cold_start.py" "${args[@]}"
if [ "$cold" = 1 ]; then
  if [ -w /proc/sys/vm/drop_caches ]; then /usr/bin/python3 "$HERE/cold_start.py" --cold "${args[@]}"
  else echo "cold_start: not allowed to drop the page cache (not root): cold runs skipped" >&2; fi
fi
