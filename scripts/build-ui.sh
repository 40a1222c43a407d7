#!/usr/bin/env bash
# Builds the web UI into web/dist (embedded into the kansoku binary): installs the locked npm
# dependencies when needed, type-checks, bundles, and enforces the bundle-size budget.
set -euo pipefail
cd "$(dirname "$0")/../web"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
