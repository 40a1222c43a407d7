#!/usr/bin/env bash
# The UI's tests: unit tests (vitest), then Playwright in Debian's headless Chromium against the
# real `kansoku serve` debug binary. Called by scripts/test.sh after the Rust tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kansoku-target}"
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Chromium (Debian package) for the browser tests"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null
fi
cargo build --locked --bin kansoku
cd web
npx vitest run
timeout 900 node --test --test-concurrency=1 --test-timeout=120000 tests/ui.test.mjs tests/logs.test.mjs tests/alerts.test.mjs tests/traces.test.mjs tests/metrics.test.mjs tests/dashboards.test.mjs
