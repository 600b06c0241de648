#!/usr/bin/env bash
# Runs the whole test suite of the Release build in ./build (unit tests, the golden program, CLI tests).
# The golden directory defaults to ../shared/golden; set TINYMAMBA_GOLDEN_DIR to use another.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build
ctest --test-dir build --output-on-failure -j2 --timeout 600
