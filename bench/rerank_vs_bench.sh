#!/usr/bin/env bash
# bertrt rerank against bertrt bench on the same forward work: N (query, passage) pairs of exactly
# LEN tokens, reranked BATCH at a time, against `bertrt bench --shapes BATCHxLEN --runs N/BATCH`
# (the same forwards without tokenization, batching or the head). Rounds are interleaved; the
# medians and their ratio are printed with the CPU and the load.
#
#   bench/rerank_vs_bench.sh BERTRT MODEL VOCAB_TXT [PAIRS=100] [LEN=200] [BATCH=20] [ROUNDS=3] [THREADS=2]
#
# MODEL: a converted cross-encoder (bench/make_cross_encoder.py makes a random BERT-base one);
# VOCAB_TXT: its WordPiece vocabulary, from which one-token words are drawn so that every pair is
# exactly LEN tokens.
set -euo pipefail
bertrt=$1 model=$2 vocab=$3
pairs=${4:-100} len=${5:-200} batch=${6:-20} rounds=${7:-3} threads=${8:-2}
if (( pairs % batch )); then echo "PAIRS must be a multiple of BATCH" >&2; exit 2; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One-token lowercase words of the vocabulary (ids 2000..): a query of 8, passages of LEN - 11.
mapfile -t words < <(awk 'NR > 2000 && /^[a-z]+$/' "$vocab" | head -5000)
pick() {  # pick N: N random words separated by spaces
  local n=$1 out=() i
  for ((i = 0; i < n; i++)); do out+=("${words[RANDOM % ${#words[@]}]}"); done
  echo "${out[*]}"
}
query=$(pick 8)
for ((i = 0; i < pairs; i++)); do pick $((len - 11)); done > "$work/passages.txt"
got=$("$bertrt" tokenize "$model" "$query" --pair "$(head -1 "$work/passages.txt")" | grep -o '"ids":\[[^]]*\]' | tr -cd ',' | wc -c)
echo "tokens per pair: $((got + 1)) (want $len)"

runs=$((pairs / batch))
rerank_ms=() bench_ms=()
for ((r = 1; r <= rounds; r++)); do
  t0=$(date +%s%N)
  "$bertrt" rerank "$model" --query "$query" --input "$work/passages.txt" --batch-size "$batch" \
    --threads "$threads" > "$work/ranked.jsonl"
  t1=$(date +%s%N)
  rerank_ms+=($(( (t1 - t0) / 1000000 )))
  med=$("$bertrt" bench "$model" --threads "$threads" --shapes "${batch}x${len}" --runs "$runs" --warmup 1 --json \
        2>/dev/null | grep -o '"median_ms":[0-9.]*' | cut -d: -f2)
  bench_ms+=($(awk -v m="$med" -v n="$runs" 'BEGIN { printf "%d", m * n }'))
  echo "round $r: rerank ${rerank_ms[-1]} ms, bench ${batch}x${len} x $runs: ${bench_ms[-1]} ms"
done
[[ $(wc -l < "$work/ranked.jsonl") -eq $pairs ]] || { echo "rerank printed the wrong number of lines" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
rm_med=$(median "${rerank_ms[@]}") bm_med=$(median "${bench_ms[@]}")
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
echo "load: $(uptime | sed 's/.*load average: //')"
echo "median: rerank $rm_med ms, bench $bm_med ms, ratio $(awk -v a="$rm_med" -v b="$bm_med" 'BEGIN { printf "%.3f", a / b }')"
