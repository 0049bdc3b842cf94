#!/usr/bin/env bash
# NEON: cross-build for aarch64 (no OpenBLAS, no HDF5; protobuf-lite for the converter) and run the kernel, tokenizer, format,
# fixture, family-fixture, int8 and packed-batch tests under qemu-user (the fixture suite with the NEON kernels
# the dispatcher picks; the scalar kernels are covered by the native build).
set -uo pipefail
sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then $sudo dpkg --add-architecture arm64; fi
need=()
for p in libutf8proc-dev:arm64 libzip-dev:arm64 libprotobuf-dev:arm64; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if (( ${#need[@]} )); then
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" || exit 1
fi
dir=build-ci-aarch64
[[ -d $dir ]] || meson setup $dir --cross-file cross/aarch64-linux-gnu.ini --buildtype=release -Dwerror=true \
  -Dblas=disabled -Dhdf5=disabled -Dbenchmarks=disabled -Dpython=disabled || exit 1
ninja -C $dir tests/kernels/test_kernels tests/tokenizer/test_tokenizer tests/format/test_format \
  tests/stages/test_fixtures tests/stages/test_families tests/stages/test_int8 tests/stages/test_bf16 tests/stages/test_packed tests/stages/test_validation tests/convert/test_readers tests/convert/test_convert \
  tools/bertrt tests/stages/test_cli_families || exit 1
# One thread per session: qemu-user emulates contended atomics by stopping every other guest
# thread, which turns a multi-threaded run into a crawl (0.2 s vs minutes for the validation
# suite). The team itself is covered natively and under ThreadSanitizer.
export BERTRT_NUM_THREADS=1
# The tokenizer's linear-time timings run natively; emulated they take a minute and time qemu.
export BERTRT_TEST_SKIP_TIMING=1
# cli_families runs the aarch64 bertrt from the test through the emulator (no binfmt_misc needed).
export BERTRT_CLI_WRAPPER="qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu"
meson test -C $dir --no-rebuild --timeout-multiplier 3 --print-errorlogs --num-processes 2 \
  kernels kernels-isa-fallback tokenizer format fixtures families int8-one-thread bf16-one-thread packed validation convert_readers convert cli_families
