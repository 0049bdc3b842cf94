#!/usr/bin/env bash
# Installs the Debian 12 packages bertrt needs to build, test and benchmark.
#   scripts/install-deps.sh          build + tests
#   scripts/install-deps.sh --ci     also the aarch64 cross toolchain, qemu and clang (fuzzing, sanitizers)
set -euo pipefail
packages=(
  meson ninja-build g++ pkg-config
  libopenblas-dev libxsimd-dev libutf8proc-dev          # runtime library
  nlohmann-json3-dev libzip-dev libhdf5-dev             # converter
  libprotobuf-dev protobuf-compiler                     # converter: SentencePiece .model files
  doctest-dev libbenchmark-dev                          # tests, benchmarks
  python3 python3-numpy python3-dev pybind11-dev        # Python module
  python3-pytest                                        # Python tests
  libcpp-httplib-dev                                    # bertrt serve (HTTP server)
  python3-dask python3-distributed                      # corpus embedding on Dask (python3 -m bertrt.dask)
)
if [[ "${1:-}" == "--ci" ]]; then
  packages+=(g++-aarch64-linux-gnu qemu-user clang libclang-rt-14-dev)
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
