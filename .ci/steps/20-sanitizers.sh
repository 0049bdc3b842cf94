#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (debug build, no Python
# module: an instrumented extension would need the sanitizer runtime preloaded into python3; no
# install check: the examples link the instrumented library without the sanitizer runtime). Left to
# the native run: the CLI family tests repeated under each forced ISA (suite cli-isa: the same CLI
# code; the ISAs' kernels run under ASan in kernels, fixtures-*, families-*, heads-*, int8-*, packed-*)
# and the tokenizer's linear-time timings (BERTRT_TEST_SKIP_TIMING).
set -uo pipefail
dir=build-ci-asan
[[ -d $dir ]] || meson setup $dir --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
  -Dpython=disabled -Dbenchmarks=disabled || exit 1
ninja -C $dir || exit 1
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 BERTRT_TEST_SKIP_TIMING=1 \
  meson test -C $dir --no-rebuild --no-suite install --no-suite cli-isa --print-errorlogs --num-processes 2 \
  --timeout-multiplier 4
