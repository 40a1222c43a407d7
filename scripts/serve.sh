#!/usr/bin/env bash
# Runs kansoku on the embedded default (the README's run command): builds the web UI and the
# release binary, then `kansoku serve` with data in ./data, SQLite metadata, local-disk storage,
# HTTP on 5080. Extra arguments go to `kansoku serve`; every setting is also a KANSOKU_* variable.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kansoku-target}"
if [ -f web/package.json ]; then
  bash scripts/build-ui.sh
fi
cargo build --release --locked --bin kansoku
exec "$CARGO_TARGET_DIR/release/kansoku" serve "$@"
