#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time, one after the other (never two at once), from
# seed corpora made afresh from ../shared/golden (fuzz_make_seeds: no Python needed).
#
#   scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]
#
# BUILD_DIR: a build with -DTINYMAMBA_FUZZ=ON (clang; scripts/run-sanitizers.sh makes build-asan). SECONDS: per
# target. TARGETs: names without _fuzz (default: all). Environment:
#   TINYMAMBA_GOLDEN_DIR   golden data (default ../shared/golden beside the repository)
#   FUZZ_CORPUS_DIR        keep each target's corpus in $FUZZ_CORPUS_DIR/<target> across runs (default: a temp
#                          dir, removed at the end)
# Fails (exit 1) if any target finds a crash, a leak, a timeout (> 10 s on one input) or an allocation beyond its
# limits; the reproducer is copied to BUILD_DIR/fuzz-findings/ and its command line printed.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# < 2)); then
  echo "usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build="$(cd "$1" && pwd)"
seconds="$2"
shift 2
golden="${TINYMAMBA_GOLDEN_DIR:-$(pwd)/../shared/golden}"

# -max_len per target: big enough for the seeds that matter, small enough to keep executions fast.
declare -A max_len=(
  [safetensors]=65536 [config]=4096 [torch_bin]=32768 [pickle]=16384 [tokenizer_json]=32768
  [tokenizer_encode]=4096 [parse_ids]=1024 [model]=32768 [gguf]=65536
)

if (($# > 0)); then
  targets=("$@")
else
  targets=()
  for f in "$build"/fuzz/*_fuzz; do
    [ -x "$f" ] && targets+=("$(basename "$f" _fuzz)")
  done
fi
((${#targets[@]})) || { echo "fuzz.sh: no fuzz targets in $build/fuzz (configure with -DTINYMAMBA_FUZZ=ON)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/tinymamba-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$build/fuzz/fuzz_make_seeds" "$golden" "$work/seeds"
findings="$build/fuzz-findings"
mkdir -p "$findings"

failed=()
total_execs=0
for t in "${targets[@]}"; do
  exe="$build/fuzz/${t}_fuzz"
  [ -x "$exe" ] || { echo "fuzz.sh: no target $exe" >&2; failed+=("$t"); continue; }
  corpus="${FUZZ_CORPUS_DIR:+$FUZZ_CORPUS_DIR/$t}"
  corpus="${corpus:-$work/corpus/$t}"
  mkdir -p "$corpus" "$work/seeds/$t" "$work/artifacts/$t"
  log="$work/$t.log"
  echo "== fuzz $t: ${seconds}s, -max_len=${max_len[$t]:-16384}"
  set +e
  # -rss_limit_mb: the process as a whole; -malloc_limit_mb: any single allocation (a size read from the input
  # that is trusted shows up here first). -timeout: seconds for one input (a hang). ASan's own limits stay on.
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$exe" "$corpus" "$work/seeds/$t" -max_total_time="$seconds" -max_len="${max_len[$t]:-16384}" \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  echo "   $t: exit $rc, ${execs:-?} executions, corpus $(find "$corpus" -type f | wc -l) files"
  total_execs=$((total_execs + ${execs:-0}))
  if ((rc != 0)); then
    failed+=("$t")
    tail -n 60 "$log"
    for a in "$work/artifacts/$t"/*; do
      [ -f "$a" ] || continue
      cp "$a" "$findings/${t}-$(basename "$a")"
      echo "   finding: $findings/${t}-$(basename "$a")  (reproduce: $exe $findings/${t}-$(basename "$a"))"
    done
  fi
done
echo "== fuzz: ${#targets[@]} targets, $total_execs executions in all"
if ((${#failed[@]})); then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
