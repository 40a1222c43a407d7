#!/usr/bin/env bash
# The whole test suite — the README's test command, and what CI (.ci/run) runs.
#
# On a fresh machine it sets up everything the tests need:
#   - starts the machine's PostgreSQL and NATS (JetStream) if they are down;
#   - installs the test peers once into ~/.cache/kansoku-tools: s3s-fs (a real S3 server),
#     a Python venv with elasticsearch-py, opensearch-py, python-logging-loki, fluent-logger and the OpenTelemetry SDK with its
#     OTLP exporters, syslog-ng, rsyslog (extracted), Prometheus and libfaketime (Debian packages),
#     and a second venv with helm-python-sdk and kubernetes-validate for the Helm chart checks;
#   - builds the web UI when web/ exists;
# then runs the gates (rustfmt, clippy -D warnings) and every test, with a private s3s-fs
# instance that is killed by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kansoku-target}"
TOOLS="${KANSOKU_TOOLS_DIR:-$HOME/.cache/kansoku-tools}"
mkdir -p "$TOOLS"
log() { printf '\n==> %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_services() {
  if ! port_open 5432; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  fi
  if ! port_open 4222; then
    log "starting NATS (JetStream)"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  fi
  for _ in $(seq 1 50); do port_open 5432 && break; sleep 0.2; done
  port_open 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
}

ensure_tools() {
  if [ ! -x "$TOOLS/bin/s3s-fs" ]; then
    log "installing s3s-fs 0.14.1 (a real S3 server for the storage tests; once, ~5 min)"
    CARGO_TARGET_DIR="$TOOLS/s3s-target" cargo install s3s-fs@0.14.1 --locked --features binary --root "$TOOLS"
    rm -rf "$TOOLS/s3s-target"
  fi
  if [ ! -x "$TOOLS/venv/bin/python" ] || ! "$TOOLS/venv/bin/python" -c 'import elasticsearch, opensearchpy, opentelemetry.exporter.otlp.proto.grpc, logging_loki, fluent.sender' 2>/dev/null; then
    log "creating the Python venv with elasticsearch-py, opensearch-py, the OpenTelemetry SDK, python-logging-loki and fluent-logger"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet 'elasticsearch>=9,<10' opensearch-py \
      'opentelemetry-sdk>=1.45,<2' 'opentelemetry-exporter-otlp-proto-http>=1.45,<2' 'opentelemetry-exporter-otlp-proto-grpc>=1.45,<2' \
      'python-logging-loki==0.3.1' 'fluent-logger==0.11.1'
  fi
  if [ ! -x "$TOOLS/chart-venv/bin/python" ] || ! "$TOOLS/chart-venv/bin/python" -c 'import helm_python, kubernetes_validate, yaml' 2>/dev/null; then
    log "creating the chart-check venv with helm-python-sdk (the Helm Go SDK, no helm binary) and kubernetes-validate"
    python3 -m venv "$TOOLS/chart-venv"
    "$TOOLS/chart-venv/bin/pip" install --quiet 'helm-python-sdk==0.2.2' 'kubernetes-validate==1.37.0' 'PyYAML>=6,<7'
  fi
  if ! command -v syslog-ng >/dev/null 2>&1; then
    log "installing syslog-ng (Debian packages)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      syslog-ng-core syslog-ng-mod-http syslog-ng-scl >/dev/null
  fi
  if [ ! -x "$TOOLS/rsyslog/usr/sbin/rsyslogd" ] || [ ! -e "$TOOLS/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so" ]; then
    # rsyslog conflicts with syslog-ng as a package, so it runs from its extracted tree.
    log "extracting rsyslog and rsyslog-relp (Debian packages; the syslog tests' second sender)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libestr0 libfastjson4 liblognorm5 librelp0 >/dev/null
    local debs
    debs="$(mktemp -d)"
    (cd "$debs" && apt-get download rsyslog rsyslog-relp >/dev/null 2>&1)
    rm -rf "$TOOLS/rsyslog"
    for deb in "$debs"/*.deb; do dpkg -x "$deb" "$TOOLS/rsyslog"; done
    rm -rf "$debs"
  fi
  if ! command -v openssl >/dev/null 2>&1; then
    log "installing openssl (Debian package; makes the syslog TLS tests' certificates)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssl >/dev/null
  fi
  if [ ! -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] && [ ! -e /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 ]; then
    log "installing libfaketime (Debian package; steps the node's clock in the clock tests)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends faketime >/dev/null
  fi
  if [ ! -x /usr/bin/prometheus ]; then
    log "installing Prometheus (Debian package; the real Prometheus of the metrics tests)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null
  fi
}

build_ui() {
  if [ -f web/package.json ]; then
    log "building the web UI"
    bash scripts/build-ui.sh
  fi
}

S3_PID=""
S3_DIR=""
cleanup() {
  if [ -n "$S3_PID" ]; then kill "$S3_PID" 2>/dev/null || true; wait "$S3_PID" 2>/dev/null || true; fi
  if [ -n "$S3_DIR" ]; then rm -rf "$S3_DIR"; fi
}
trap cleanup EXIT

start_s3() {
  S3_DIR="$(mktemp -d)"
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  timeout 7200 "$TOOLS/bin/s3s-fs" --host 127.0.0.1 --port "$port" \
    --access-key AKIATEST --secret-key SECRETTEST "$S3_DIR" >"$S3_DIR.log" 2>&1 &
  S3_PID=$!
  for _ in $(seq 1 100); do port_open "$port" && break; sleep 0.1; done
  port_open "$port" || { echo "s3s-fs did not start" >&2; cat "$S3_DIR.log" >&2; exit 1; }
  export KANSOKU_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export KANSOKU_TEST_S3_DATA_DIR="$S3_DIR"
  export KANSOKU_TEST_S3_ACCESS_KEY=AKIATEST KANSOKU_TEST_S3_SECRET_KEY=SECRETTEST
  # Fault tests start (and stop) their own S3 server.
  export KANSOKU_TEST_S3S_FS="$TOOLS/bin/s3s-fs"
}

drop_stale_test_databases() {
  psql -h 127.0.0.1 -U postgres -d test -Atc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'kansoku_test_%'" 2>/dev/null |
    while read -r name; do psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true; done
}

ensure_services
ensure_tools
build_ui

log "rustfmt"
cargo fmt --all --check
log "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

start_s3
drop_stale_test_databases
export KANSOKU_TEST_PG_DSN="${KANSOKU_TEST_PG_DSN:-postgres://postgres@127.0.0.1:5432/test}"
export KANSOKU_TEST_PYTHON="$TOOLS/venv/bin/python"
export KANSOKU_TEST_RSYSLOG_DIR="$TOOLS/rsyslog"

log "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

log "PromQL conformance: Prometheus' own test files, pass rate per file and tier"
cargo run --locked --quiet -p kansoku-promql --bin promqltest

log "Helm chart and Dockerfile: lint, render every values combination, validate strictly (deploy/helm/test_chart.py)"
"$TOOLS/chart-venv/bin/python" deploy/helm/test_chart.py

if [ -f web/package.json ]; then
  log "UI tests (Playwright in headless Chromium)"
  bash scripts/test-ui.sh
fi
log "all tests passed"
