#!/usr/bin/env bash
# Starts a data node and a models node as daemons on 127.0.0.1 (ports 4100, 4101), runs a
# compare through a main node that hosts only the lab, and stops the daemons.
#
# Run from the repository root: bash examples/cluster/run.sh [--quic] [builtin:NAME]
# With --quic the nodes talk QUIC with mutual TLS, using certificates made by
# `mltools certs init`; otherwise plain TCP on loopback.
# The report goes to ./cluster-report/report.html; the nodes' data to a temporary directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
suffix=""
if [ "${1:-}" = "--quic" ]; then suffix="-quic"; shift; fi
dataset="${1:-builtin:breast_cancer}"
cargo build --release -p mltools-node --quiet
mltools="${CARGO_TARGET_DIR:-$(pwd)/target}/release/mltools"
report="$(pwd)/cluster-report"
work="$(mktemp -d)"
cd "$work"
pids=()
stop() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait || true; rm -rf "$work"; }
trap stop EXIT

start() { # config file -> waits for the daemon's ready line
  local log="$work/$(basename "$1" .toml).log"
  "$mltools" --config "$1" node > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    grep -q " ready " "$log" && { grep " ready " "$log"; return 0; }
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$log"; return 1; }
    sleep 0.1
  done
  echo "no ready line from $1"; cat "$log"; return 1
}

if [ -n "$suffix" ]; then
  "$mltools" certs init --dir certs --node data --node models > /dev/null
fi
start "$here/data$suffix.toml"
start "$here/models$suffix.toml"
"$mltools" --config "$here/main$suffix.toml" compare "$dataset" --report "$report"
