#!/usr/bin/env bash
# libFuzzer targets (clang, ASan + UBSan), each for a bounded time from the seed corpora in fuzz/corpus.
# BERTRT_FUZZ_SECONDS sets the time per target (run_fuzz.sh's default is 60; CI gives each 15 s,
# two at a time, to stay inside its time budget; longer runs: fuzz/run_fuzz.sh FUZZER SEEDS SECONDS).
set -uo pipefail
export BERTRT_FUZZ_SECONDS=${BERTRT_FUZZ_SECONDS:-15}
dir=build-ci-fuzz
[[ -d $dir ]] || CC=clang CXX=clang++ meson setup $dir --buildtype=debugoptimized -Dfuzzing=true -Dtests=false \
  -Dpython=disabled -Dbenchmarks=disabled || exit 1
# Only the fuzzers (each compiles the sources it tests with its own instrumentation); the library,
# tools and examples of this configuration are not needed here.
targets=$(ninja -C $dir -t targets all 2>/dev/null | grep -o '^fuzz/fuzz_[a-z0-9_]*' | sort -u)
[[ -n $targets ]] || { echo "no fuzz targets found" >&2; exit 1; }
ninja -C $dir $targets || exit 1
meson test -C $dir --no-rebuild --print-errorlogs --suite fuzz --num-processes 2 --timeout-multiplier 3
