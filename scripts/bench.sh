#!/usr/bin/env bash
# The benchmark (the README's bench command). Builds release binaries, installs DuckDB for the
# query comparison and Debian's Prometheus for the metrics comparison, and runs kansoku-bench: ≥ 1 GB
# of k8s logs ingested with the server pinned to one core, storage against a plain zstd Parquet file,
# freshness, peak RSS, five queries against DuckDB, OTLP, and remote_write + PromQL against
# Prometheus. Prints a Markdown report (docs/benchmarks.md holds the latest one).
# Usage: scripts/bench.sh [--gigabytes 1.0] [--clients 8] [--metrics-only | --protocols-only] [other kansoku-bench options]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kansoku-target}"
TOOLS="${KANSOKU_TOOLS_DIR:-$HOME/.cache/kansoku-tools}"
if [ ! -x "$TOOLS/venv/bin/python" ]; then python3 -m venv "$TOOLS/venv"; fi
"$TOOLS/venv/bin/python" -c 'import duckdb' 2>/dev/null || "$TOOLS/venv/bin/pip" install --quiet duckdb
if [ ! -x /usr/bin/prometheus ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null
fi
cargo build --release --locked -p kansoku -p kansoku-bench
exec "$CARGO_TARGET_DIR/release/kansoku-bench" --binary "$CARGO_TARGET_DIR/release/kansoku" \
  --python "$TOOLS/venv/bin/python" "$@"
