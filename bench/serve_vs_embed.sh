#!/usr/bin/env bash
# Throughput of `bertrt serve` against `bertrt embed` on the same N texts, side by side. Each round
# runs `bertrt embed --threads THREADS --input TEXTS --output OUT.npy` (timed whole by /usr/bin/time:
# wall, user + system CPU; process start and model open included) and a fresh
# `bertrt serve MODEL --threads THREADS --port 0 --max-batch-tokens BATCH_TOKENS`, which, once
# /info answers and one untimed warm-up request of 32 texts is done, receives the N texts from
# bench/serve_client.py in two scenarios:
#   single: 16 concurrent keep-alive clients, 1 text a request;
#   batch:   4 concurrent keep-alive clients, 32 texts a request;
# `POST /v1/embeddings` with `"encoding_format": "base64"`. The client checks every answer (status,
# count, dimensions) and, in round 1 (which runs embed first), that every vector equals embed's
# within TOLERANCE. A scenario's wall time runs from its first request to its last answer; the
# server's CPU time over the same span comes from /proc/PID/stat (utime + stime, all threads).
# Odd rounds run embed first, even rounds the server first. Prints each round, then per scenario
# the medians of server texts/s / embed texts/s (wall) and embed CPU-s / server CPU-s, and the
# client's own CPU time, with the CPU and the load average at start and end.
#
#   bench/serve_vs_embed.sh [BERTRT_BINARY]       (default: build/tools/bertrt, a release build with
#                                                  tools/serve/bertrt-serve beside it)
#   N=600 ROUNDS=3 WORK=/tmp/srv-bench bench/serve_vs_embed.sh build-srvb/tools/bertrt
#
# MODEL: a .bertrt file with a tokenizer and TEXTS: a file of texts, one a line (default: the
# BERT-base-shaped random model and the mixed-length corpus of bench/embed_corpus.sh, made in WORK
# by running it once with N=CORPUS_N ROUNDS=1 if missing); N: texts taken from the top of TEXTS
# (default 600); ROUNDS (default 3); THREADS (default 2); BATCH_TOKENS: the server's
# --max-batch-tokens and embed's --batch-tokens (default 2048); TOLERANCE (default 1e-5);
# WORK (default $TMPDIR/bertrt-bench-serve). SMALL_BATCH_TOKENS=T (default: not run): each round
# also runs `bertrt embed --batch-tokens T` last, to separate the cost of the server's smaller
# passes (16 x 1 forms passes of about 12 texts) from its HTTP, JSON and queueing work.
set -euo pipefail
cd "$(dirname "$0")/.."
bertrt=$(realpath "${1:-build/tools/bertrt}")
n=${N:-600}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
batch_tokens=${BATCH_TOKENS:-2048}
tolerance=${TOLERANCE:-1e-5}
small=${SMALL_BATCH_TOKENS:-}
work=${WORK:-${TMPDIR:-/tmp}/bertrt-bench-serve}
python=/usr/bin/python3
mkdir -p "$work"

if [[ -z ${MODEL:-} || -z ${TEXTS:-} ]]; then
  if [[ ! -f $work/base.bertrt || ! -f $work/corpus.txt ]]; then
    echo "making the BERT-base-shaped model and corpus in $work (bench/embed_corpus.sh)"
    N=${CORPUS_N:-1000} ROUNDS=1 THREADS=$threads WORK=$work bench/embed_corpus.sh "$bertrt" >"$work/make.log"
  fi
fi
model=${MODEL:-$work/base.bertrt}
texts=$work/texts.txt
head -n "$n" "${TEXTS:-$work/corpus.txt}" >"$texts"
if [[ $(wc -l <"$texts") -ne $n ]]; then echo "fewer than N=$n texts in ${TEXTS:-$work/corpus.txt}" >&2; exit 2; fi

server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" || true
    server_pid=
  fi
}
trap stop_server EXIT

# start_server: a fresh server on a port the OS picks (read from its "listening on" line; the client
# then waits for GET /health); sets server_pid and port.
start_server() {
  local log=$work/serve-$r.log
  : >"$log"  # empty before the server starts, so no earlier server's port is read
  "$bertrt" serve "$model" --host 127.0.0.1 --port 0 --threads "$threads" --max-batch-tokens "$batch_tokens" \
    2>>"$log" &
  server_pid=$!  # `bertrt serve` execs bertrt-serve: the same process
  port=
  for ((i = 0; i < 600; ++i)); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log")
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $port ]] || { echo "the server did not start in 60 s" >&2; cat "$log" >&2; exit 1; }
}

# run_embed [SCENARIO TOKENS]: `bertrt embed` with --batch-tokens TOKENS (default BATCH_TOKENS);
# appends "ROUND SCENARIO WALL CPU -" to results (SCENARIO: embed, or small for SMALL_BATCH_TOKENS).
run_embed() {
  local scenario=${1:-embed} tokens=${2:-$batch_tokens}
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$bertrt" embed "$model" --input "$texts" \
    --output "$work/$scenario.npy" --threads "$threads" --batch-tokens "$tokens" --quiet
  read -r wall user sys <"$work/time"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  echo "$r $scenario $wall $cpu -" >>"$work/results.txt"
  printf 'round %d %-7s %6.1f texts/s  wall %6.2f s  cpu %6.2f s  (embed --batch-tokens %d)\n' "$r" "$scenario:" \
    "$(awk -v w="$wall" -v n="$n" 'BEGIN { print n / w }')" "$wall" "$cpu" "$tokens"
}

# run_server: both scenarios on a fresh server; appends "ROUND SCENARIO WALL SERVER_CPU CLIENT_CPU".
run_server() {
  start_server
  local check=()
  ((r == 1)) && check=(--check-npy "$work/embed.npy" --tolerance "$tolerance")
  local scenario clients per out wall scpu ccpu passes tokens warm=32
  for scenario in single batch; do
    if [[ $scenario == single ]]; then clients=16 per=1; else clients=4 per=32; fi
    out=$("$python" bench/serve_client.py --port "$port" --input "$texts" --clients "$clients" --per-request "$per" \
            --server-pid "$server_pid" --warmup "$warm" "${check[@]}")
    warm=0
    wall=$(sed -n 's/.* wall=\([^ ]*\).*/\1/p' <<<"$out")
    scpu=$(sed -n 's/.* server_cpu=\([^ ]*\).*/\1/p' <<<"$out")
    ccpu=$(sed -n 's/.* client_cpu=\([^ ]*\).*/\1/p' <<<"$out")
    passes=$(sed -n 's/.* passes=\([^ ]*\).*/\1/p' <<<"$out")
    tokens=$(sed -n 's/.* tokens=\([^ ]*\).*/\1/p' <<<"$out")
    echo "$r $scenario $wall $scpu $ccpu" >>"$work/results.txt"
    printf 'round %d %-7s %6.1f texts/s  wall %6.2f s  server cpu %6.2f s  client cpu %5.2f s  %d passes, %.1f texts %.0f tokens a pass%s\n' \
      "$r" "$scenario:" "$(awk -v w="$wall" -v n="$n" 'BEGIN { print n / w }')" "$wall" "$scpu" "$ccpu" "$passes" \
      "$(awk -v p="$passes" -v n="$n" 'BEGIN { print n / p }')" "$(awk -v p="$passes" -v t="$tokens" 'BEGIN { print t / p }')" \
      "$(sed -n 's/.*\( max_diff=[^ ]*\).*/;\1 against embed/p' <<<"$out")"
  done
  stop_server
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; threads $threads"
echo "model: $model; $n texts ($(wc -w <"$texts") words) from ${TEXTS:-$work/corpus.txt}"
# embed's fixed cost (process start, model open, one short forward), part of each embed run's time.
head -n 1 "$texts" >"$work/one.txt"
/usr/bin/time -f '%e' -o "$work/time" "$bertrt" embed "$model" --input "$work/one.txt" --output "$work/one.npy" \
  --threads "$threads" --quiet
echo "bertrt embed of 1 text (start, open, one forward): $(cat "$work/time") s"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$work/results.txt"
for ((r = 1; r <= rounds; ++r)); do
  if ((r % 2)); then run_embed; run_server; else run_server; run_embed; fi
  if [[ -n $small ]]; then run_embed small "$small"; fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

"$python" - "$work/results.txt" "$n" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
embed = {r: (float(w), float(c)) for r, s, w, c, _ in rows if s == "embed"}
print("%-8s %-34s %-34s %s" % ("", "server / embed texts/s (wall)", "embed CPU-s / server CPU-s", "client CPU-s / server CPU-s"))
for scenario, label in [("single", "16 x 1"), ("batch", "4 x 32")]:
    wall, cpu, client = [], [], []
    for r, s, w, c, cc in rows:
        if s != scenario:
            continue
        ew, ec = embed[r]
        wall.append(ew / float(w))
        cpu.append(ec / float(c))
        client.append(float(cc) / float(c))
    fmt = lambda xs: "%s; median %.2f" % (" ".join("%.2f" % x for x in xs), statistics.median(xs))
    print("%-8s %-34s %-34s %s" % (label, fmt(wall), fmt(cpu), fmt(client)))
ew = statistics.median(w for w, _ in embed.values())
print("embed: median %.1f texts/s (%.2f s for %d texts)" % (n / ew, ew, n))
small = {r: (float(w), float(c)) for r, s, w, c, _ in rows if s == "small"}
single = {r: (float(w), float(c)) for r, s, w, c, _ in rows if s == "single"}
if small:
    med = lambda xs: "%s; median %.2f" % (" ".join("%.2f" % x for x in xs), statistics.median(xs))
    print("embed at SMALL_BATCH_TOKENS / embed: texts/s (wall) %s; embed CPU-s / its CPU-s %s" % (
        med([embed[r][0] / small[r][0] for r in small]), med([embed[r][1] / small[r][1] for r in small])))
    print("16 x 1 server / embed at SMALL_BATCH_TOKENS: texts/s (wall) %s; embed CPU-s / server CPU-s %s" % (
        med([small[r][0] / single[r][0] for r in small]), med([small[r][1] / single[r][1] for r in small])))
PY
