#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: builds the UI and the debug binary, starts a throwaway
# server with sample data, and photographs the main pages in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kansoku-target}"
bash scripts/build-ui.sh
cargo build --locked --bin kansoku
cd web
timeout 300 node tests/screenshots.mjs
