#!/usr/bin/env bash
# Installs the Debian 12 packages tinymamba needs and builds it (Release, -O3 -march=native) into ./build.
# Usage: scripts/setup-debian.sh            (from the repository root; uses sudo when not root)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config   # toolchain
  libopenblas-openmp-dev libopenblas-pthread-dev # GEMM (OpenMP build for speed, pthread build for TSan runs)
  nlohmann-json3-dev libcli11-dev                # JSON, command line
  libutf8proc-dev libpcre2-dev                   # Unicode (NFC, character classes) for the tokenizer
  libcpp-httplib-dev                             # HTTP server (tinymamba serve)
  libgtest-dev libgmock-dev libbenchmark-dev     # tests and benchmarks
  libopenmpi-dev openmpi-bin                     # data-parallel training under mpirun (Open MPI) and its test
  pybind11-dev python3-dev python3-numpy         # the Python module (python/)
  python3-pytest                                 # its tests
  clang libclang-rt-14-dev                       # sanitizers and libFuzzer (CI)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm: the tokenizer's differential test against Hugging Face's (tests/tokenizer_diff/run.sh installs
# the npm package it needs). A node already installed some other way (NodeSource's bundles npm) is kept.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
