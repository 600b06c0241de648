#!/usr/bin/env bash
# The differential test against Hugging Face's tokenizer (docs/tokenizer.md): installs the npm package
# `tokenizers` 0.23.2 (the Node binding of Hugging Face's Rust library, checked against its pinned sha512) into
# BUILD_DIR/tokenizer-diff once, then runs hf_diff.cjs with our side, BUILD_DIR/tests/tokenizer_lines.
#
#   tests/tokenizer_diff/run.sh BUILD_DIR [hf_diff.cjs options: --docs N --seed S --categories a,b ...]
#
# ctest runs it with a bounded document count; a longer run is e.g. `... --docs 2000 --seed 100`. Needs node
# and npm (scripts/setup-debian.sh installs them) and, the first time, the npm registry. The tokenizer is
# gpt-neox-20b.json in ../tokenizer/ beside the golden directory ($TINYMAMBA_GOLDEN_DIR, else ../shared/golden).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [hf_diff.cjs options]" >&2; exit 2; }
build_dir="$(cd "$1" && pwd)"
shift

version=0.23.2
integrity="sha512-OS99VXTXuGuyUncICcS0hEawgKQlrFVKNU+UlzRsTN03RpOeJiCmcai5nKg3JrdIvUDo7/RC5puVEjlJd2e5oA=="
for tool in node npm; do
  command -v "$tool" >/dev/null ||
    { echo "run.sh: error: $tool: not found (scripts/setup-debian.sh installs it)" >&2; exit 2; }
done

# Installed into a fresh folder, then moved into place, so that an interrupted install is never taken as done.
dir="$build_dir/tokenizer-diff"
installed() {
  node -e 'const l = require(process.argv[1]).packages["node_modules/tokenizers"];
           process.exit(l && l.version === process.argv[2] && l.integrity === process.argv[3] ? 0 : 1)' \
    "$dir/package-lock.json" "$version" "$integrity" 2>/dev/null
}
if ! installed; then
  tmp="$(mktemp -d "$build_dir/tokenizer-diff.tmp-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo '{"name": "tinymamba-tokenizer-diff", "private": true}' > "$tmp/package.json"
  (cd "$tmp" && npm install --no-audit --no-fund --save-exact "tokenizers@$version" >/dev/null)
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  installed ||
    { echo "run.sh: error: $dir: npm did not install tokenizers $version with integrity $integrity" >&2; exit 2; }
fi

exec node "$here/hf_diff.cjs" --modules "$dir/node_modules" --ours "$build_dir/tests/tokenizer_lines" \
  --tokenizer "$(dirname "${TINYMAMBA_GOLDEN_DIR:-$source_dir/../shared/golden}")/tokenizer/gpt-neox-20b.json" \
  --failures "$build_dir/tokenizer-diff-failures" "$@"
