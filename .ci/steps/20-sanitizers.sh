#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (debug build, no Python
# module: an instrumented extension would need the sanitizer runtime preloaded into python3; no
# install check: the examples link the instrumented library without the sanitizer runtime).
set -uo pipefail
dir=build-ci-asan
[[ -d $dir ]] || meson setup $dir --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
  -Dpython=disabled -Dbenchmarks=disabled || exit 1
ninja -C $dir || exit 1
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
  meson test -C $dir --no-rebuild --no-suite install --print-errorlogs --num-processes 2 --timeout-multiplier 4
