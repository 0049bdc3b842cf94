#!/usr/bin/env bash
# ThreadSanitizer: one Model, 8 threads with a Session each, running forward at once.
# OpenMP and OpenBLAS are off here: their runtimes are not instrumented and would only add noise.
set -uo pipefail
dir=build-ci-tsan
[[ -d $dir ]] || meson setup $dir --buildtype=debug -Db_sanitize=thread -Db_lundef=false \
  -Dopenmp=disabled -Dblas=disabled -Dpython=disabled -Dbenchmarks=disabled -Dhdf5=disabled || exit 1
ninja -C $dir tests/stages/test_threads || exit 1
TSAN_OPTIONS=halt_on_error=1 meson test -C $dir --no-rebuild --print-errorlogs threads
