#!/usr/bin/env bash
# The robustness stage of CI (docs/robustness.md), after the Release build and its tests:
#   1. build-asan: clang, AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer coverage; the whole test suite
#      (unit tests, goldens, CLI tests) and the fuzz targets, from one build.
#   2. build-tsan: clang, ThreadSanitizer, std::thread backend (TSan sees every thread; libgomp's futexes are
#      invisible to it), single-threaded OpenBLAS; the whole test suite.
#   3. every libFuzzer target of build-asan for a bounded time each (scripts/fuzz.sh), seeds from ../shared/golden.
# Sanitizer builds compile at -O1 with line tables and assertions on (no -DNDEBUG), and skip the benchmarks.
# They are built without MPI (TINYMAMBA_MPI=OFF: the single-process communicator, the mpirun test skips itself):
# Open MPI's own MPI_Init/MPI_Finalize leave ~120 KB in ~3,350 allocations that LeakSanitizer reports as leaks
# in every process (measured with Open MPI 4.1.4 on a 2-rank hello world).
# Usage: scripts/run-sanitizers.sh [fuzz seconds per target, default 60]
#        SANITIZE_STAGES="asan tsan fuzz" (default) selects stages.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds="${1:-60}"
stages="${SANITIZE_STAGES:-asan tsan fuzz}"
jobs="${JOBS:-2}"
common=(-G Ninja -DCMAKE_BUILD_TYPE=Sanitize "-DCMAKE_CXX_FLAGS_SANITIZE=-O1 -gline-tables-only"
        "-DCMAKE_C_FLAGS_SANITIZE=-O1 -gline-tables-only" -DTINYMAMBA_BENCH=OFF -DTINYMAMBA_THREADS=std
        -DTINYMAMBA_MPI=OFF)
export CC=clang CXX=clang++
# halt_on_error / abort: the first report fails the test that caused it. Leak checking is on (ASan's default).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=2

stage() {
  local name="$1" start=$SECONDS
  shift
  echo "== $name"
  "$@"
  echo "== $name: $((SECONDS - start)) s"
}

build_asan() {
  cmake -S . -B build-asan "${common[@]}" -DTINYMAMBA_SANITIZE=address -DTINYMAMBA_FUZZ=ON >/dev/null
  cmake --build build-asan -j "$jobs"
}
test_asan() { ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900; }
build_tsan() {
  cmake -S . -B build-tsan "${common[@]}" -DTINYMAMBA_SANITIZE=thread >/dev/null
  cmake --build build-tsan -j "$jobs"
}
test_tsan() { ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 900; }
fuzz() { scripts/fuzz.sh build-asan "$fuzz_seconds"; }

for s in $stages; do
  case "$s" in
    asan) stage "ASan+UBSan build" build_asan && stage "ASan+UBSan tests" test_asan ;;
    tsan) stage "TSan build" build_tsan && stage "TSan tests" test_tsan ;;
    fuzz)
      [ -x build-asan/fuzz/fuzz_make_seeds ] || stage "ASan+UBSan build" build_asan
      stage "libFuzzer, ${fuzz_seconds}s per target" fuzz
      ;;
    *) echo "run-sanitizers.sh: unknown stage '$s' (asan, tsan, fuzz)" >&2; exit 2 ;;
  esac
done
