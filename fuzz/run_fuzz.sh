#!/usr/bin/env bash
# run_fuzz.sh FUZZER SEED_DIR [SECONDS]: fuzzes from a copy of the seeds (new inputs stay out of
# the repository) for a bounded time; a crash leaves its reproducer in the working directory.
set -euo pipefail
fuzzer=$1; seeds=$2; seconds=${3:-${BERTRT_FUZZ_SECONDS:-60}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 "$work" "$seeds"
