#!/usr/bin/env bash
# Coverage-guided fuzzing of kansoku's parsers with cargo fuzz (libFuzzer, AddressSanitizer).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     # default: 60 s for every target
#
# Installs cargo-fuzz into ~/.cache/kansoku-tools and the nightly toolchain on first use. Starts
# from the checked-in seeds (fuzz/corpus/<target>/, read-only here) and keeps what it learns in
# ~/.cache/kansoku-fuzz/corpus/<target>/; crashes land in fuzz/artifacts/<target>/ — add each as
# fuzz/regressions/<target>/<name> (replayed by CI) with the fix. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${1:-60}"
shift || true
TOOLS="${KANSOKU_TOOLS_DIR:-$HOME/.cache/kansoku-tools}"
WORK="${KANSOKU_FUZZ_DIR:-$HOME/.cache/kansoku-fuzz}"
export PATH="$TOOLS/bin:$PATH"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz (once)"
  CARGO_TARGET_DIR="$WORK/cargo-fuzz-build" cargo install cargo-fuzz --locked --root "$TOOLS"
  rm -rf "$WORK/cargo-fuzz-build"
fi
if ! rustup toolchain list | grep '^nightly' >/dev/null; then
  echo "==> installing the nightly toolchain (cargo fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  list="$(cd fuzz && cargo +nightly fuzz list)"
  mapfile -t targets <<<"$list"
fi
[ "${#targets[@]}" -gt 0 ] && [ -n "${targets[0]}" ] || { echo "no fuzz targets found" >&2; exit 1; }

failed=0
for target in "${targets[@]}"; do
  mkdir -p "$WORK/corpus/$target"
  echo "==> fuzzing $target for ${SECONDS_PER_TARGET}s"
  if ! (cd fuzz && cargo +nightly fuzz run "$target" --target-dir "$WORK/target" \
      "$WORK/corpus/$target" "corpus/$target" \
      -- -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1); then
    echo "!!! $target failed: a crash (see fuzz/artifacts/$target/) or a build error (above)" >&2
    failed=1
  fi
done
exit "$failed"
