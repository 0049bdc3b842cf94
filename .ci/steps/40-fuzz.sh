#!/usr/bin/env bash
# libFuzzer targets (clang, ASan + UBSan), each for a bounded time from the seed corpora in fuzz/corpus.
# BERTRT_FUZZ_SECONDS sets the time per target (default 60).
set -uo pipefail
dir=build-ci-fuzz
[[ -d $dir ]] || CC=clang CXX=clang++ meson setup $dir --buildtype=debugoptimized -Dfuzzing=true -Dtests=false \
  -Dpython=disabled -Dbenchmarks=disabled || exit 1
ninja -C $dir || exit 1
meson test -C $dir --no-rebuild --print-errorlogs --suite fuzz --num-processes 2 --timeout-multiplier 3
