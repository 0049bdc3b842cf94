#!/usr/bin/env bash
# Two bertrt builds side by side (before/after a change), same machine, interleaved rounds: odd rounds
# run the old build first, even rounds the new one. Each build converts the checkpoint itself (the
# file layout may differ between them), then `bertrt bench --json` times every shape.
#
# usage: bench/compare_builds.sh OLD_BUILD NEW_BUILD HF_DIR [--dtype f32|f16|bf16] [--threads 1,2]
#          [--shapes 1x8,1x32,1x128,1x384,8x128] [--rounds 5] [--out FILE.jsonl]
#
# Prints, per (threads, shape), the median over rounds of each build's median ms and the median
# and range of the per-round ratio new / old (< 1: the new build is faster). Do not run it beside a
# build or another benchmark; on a shared machine read the ratio's range, not one round.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,11p "$0"; exit 2; }
old="$1/tools/bertrt"; new="$2/tools/bertrt"; hf="$3"; shift 3
dtype=f32; threads=1,2; shapes=1x8,1x32,1x128,1x384,8x128; rounds=5; out=bench-builds.jsonl
while [ $# -gt 0 ]; do
  case "$1" in
    --dtype|--threads|--shapes|--rounds|--out) declare "${1#--}=$2"; shift 2 ;;
    *) echo "compare_builds: unknown argument $1" >&2; exit 2 ;;
  esac
done
for b in "$old" "$new"; do [ -x "$b" ] || { echo "compare_builds: no $b" >&2; exit 2; }; done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$old" convert "$hf" -o "$tmp/old.bertrt" --dtype "$dtype" >/dev/null 2>&1
"$new" convert "$hf" -o "$tmp/new.bertrt" --dtype "$dtype" >/dev/null 2>&1
: > "$out"
echo "compare_builds: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, $hf ($dtype)" >&2
run() { "$2" bench "$tmp/$1.bertrt" --threads "$3" --shapes "$shapes" --min-time 1 --json 2>/dev/null |
        sed "s/^{/{\"build\":\"$1\",/" >> "$out"; }
IFS=, read -r -a thread_list <<< "$threads"
for ((r = 1; r <= rounds; ++r)); do
  for t in "${thread_list[@]}"; do
    if (( r % 2 )); then run old "$old" "$t"; run new "$new" "$t"; else run new "$new" "$t"; run old "$old" "$t"; fi
  done
  echo "compare_builds: round $r of $rounds done" >&2
done
/usr/bin/python3 - "$out" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs[(r["build"], r["threads"], f'{r["batch"]}x{r["seq"]}')].append(r["median_ms"])
print("threads shape   old ms   new ms   new/old (range over rounds)")
for (build, t, shape), old in sorted(runs.items(), key=lambda kv: (kv[0][1], int(kv[0][2].split("x")[0]) * 1000 + int(kv[0][2].split("x")[1]))):
    if build != "old": continue
    new = runs[("new", t, shape)]
    k = min(len(old), len(new))
    ratios = [new[i] / old[i] for i in range(k)]
    print(f"{t:7d} {shape:6s} {statistics.median(old):8.2f} {statistics.median(new):8.2f}   "
          f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
PY
