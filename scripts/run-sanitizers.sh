#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan) and ThreadSanitizer
# (build-tsan, std::thread backend so TSan sees every thread), then each libFuzzer target for a bounded time
# (build-fuzz, clang). Usage: scripts/run-sanitizers.sh [fuzz seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds="${1:-60}"
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTINYMAMBA_BENCH=OFF)

echo "== ASan + UBSan"
cmake -S . -B build-asan "${common[@]}" -DTINYMAMBA_SANITIZE=address >/dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --timeout 900

echo "== TSan"
cmake -S . -B build-tsan "${common[@]}" -DTINYMAMBA_SANITIZE=thread >/dev/null
cmake --build build-tsan
TSAN_OPTIONS=halt_on_error=1 OMP_NUM_THREADS=2 ctest --test-dir build-tsan --output-on-failure -j1 --timeout 900

echo "== libFuzzer (${fuzz_seconds}s per target)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz "${common[@]}" -DTINYMAMBA_TESTS=OFF -DTINYMAMBA_FUZZ=ON \
  -DTINYMAMBA_SANITIZE=address -DTINYMAMBA_THREADS=std >/dev/null
cmake --build build-fuzz
scripts/fuzz.sh build-fuzz "$fuzz_seconds"
