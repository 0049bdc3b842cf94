#!/usr/bin/env bash
# Sets up, builds (release, warnings as errors) and runs every test; ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
builddir=${BUILDDIR:-build-test}
if [[ ! -d "$builddir" ]]; then
  meson setup "$builddir" --buildtype=release -Dwerror=true || exit 1
fi
ninja -C "$builddir" || exit 1
meson test -C "$builddir" --print-errorlogs --num-processes 2
status=$?
/usr/bin/python3 scripts/summarize_tests.py "$builddir/meson-logs/testlog.json"
exit $status
