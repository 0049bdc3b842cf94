#!/usr/bin/env bash
# Sets up, builds, and runs the lookup -> edit -> continue workflow on a small demo model whose
# weights are RANDOM (generated here, nothing is downloaded): its numbers show the pipeline works,
# they mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[[ -d build ]] || meson setup build --buildtype=release
ninja -C build
build/tools/bertrt-make-demo build/demo/hf
build/tools/bertrt convert build/demo/hf -o build/demo/demo.bertrt --quiet
build/tools/bertrt-seed build/demo/demo.bertrt "Hello, my dog is cute"
