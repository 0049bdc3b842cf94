#!/usr/bin/env bash
# bertrt rerank against bertrt bench on the same forward work: N (query, passage) pairs of exactly
# LEN tokens, reranked BATCH at a time, against `bertrt bench --shapes BATCHxLEN`
# (the same forwards without tokenization, batching or the head), both timed as whole processes
# (model open included; bench's first forward and RUNS - 1 timed ones, no warm-up: as many
# forwards as rerank runs). Rounds are interleaved; the medians of wall and CPU time and their
# ratios are printed with the CPU and the load.
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
if (( runs < 2 )); then echo "PAIRS / BATCH must be at least 2" >&2; exit 2; fi
# Each command is timed whole (model open included) by /usr/bin/time: wall seconds and CPU seconds
# (user + sys). CPU time hardly moves with other jobs on a shared machine; wall time does.
timed() {  # timed OUT CMD...: runs CMD with stdout to OUT; prints "wall cpu"
  local out=$1
  shift
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" > "$out"
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$work/time"
}
rw=() rc=() bw=() bc=()
for ((r = 1; r <= rounds; r++)); do
  read -r w c < <(timed "$work/ranked.jsonl" "$bertrt" rerank "$model" --query "$query" --input "$work/passages.txt" \
                    --batch-size "$batch" --threads "$threads")
  rw+=("$w") rc+=("$c")
  # bench runs one untimed first forward, then --runs: runs forwards in all, as rerank.
  read -r w c < <(timed /dev/null "$bertrt" bench "$model" --threads "$threads" --shapes "${batch}x${len}" \
                    --runs $((runs - 1)) --warmup 0)
  bw+=("$w") bc+=("$c")
  echo "round $r: rerank wall ${rw[-1]} s cpu ${rc[-1]} s; bench ${batch}x${len} x $runs: wall ${bw[-1]} s cpu ${bc[-1]} s"
done
[[ $(wc -l < "$work/ranked.jsonl") -eq $pairs ]] || { echo "rerank printed the wrong number of lines" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), threads $threads"
echo "load: $(uptime | sed 's/.*load average: //')"
w1=$(median "${rw[@]}") w2=$(median "${bw[@]}") c1=$(median "${rc[@]}") c2=$(median "${bc[@]}")
echo "median wall: rerank $w1 s, bench $w2 s, ratio $(ratio "$w1" "$w2")"
echo "median cpu:  rerank $c1 s, bench $c2 s, ratio $(ratio "$c1" "$c2")"
