#!/usr/bin/env bash
# ThreadSanitizer over the real parallel encoder: the session's team, PhaseWalker's counters, work
# stealing and the spin-then-wait loops, at 2, 3 and 4 threads on shapes that split (the test shows
# that more than one thread ran jobs), 8 sessions x 4 threads on one model, and sessions started and
# freed while others run. Built with -Dopenmp=disabled -Dblas=disabled: the library's threading
# needs neither. Optimised (-O2 -g), so that the instrumented kernels run at shapes that split.
set -uo pipefail
dir=build-ci-tsan
[[ -d $dir ]] || meson setup $dir --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false \
  -Dopenmp=disabled -Dblas=disabled -Dpython=disabled -Dbenchmarks=disabled -Dhdf5=disabled || exit 1
ninja -C $dir tests/stages/test_threads || exit 1
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  meson test -C $dir --no-rebuild --print-errorlogs --timeout-multiplier 4 threads
