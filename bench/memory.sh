#!/usr/bin/env bash
# bench/memory.sh — the proxy's memory under bursts of large requests.
#
# Builds the proxy and the simulator, then runs bench/memory (see its
# package comment): 200 concurrent 1 MB sends, then 200 concurrent 3 MB
# Gupshup callbacks to the intake, each burst followed by a forced
# collection; it prints peak RSS (VmHWM), RSS after the collection, the Go
# heap, and how many requests got the overload answer (503).
#
# Arguments are passed to bench/memory, e.g.
#   bench/memory.sh -max-buffered-bytes 33554432 -sends 100
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/proxy" ./cmd/proxy
go build -o "$tmp/gupshup-sim" ./cmd/gupshup-sim
go build -o "$tmp/memory" ./bench/memory
"$tmp/memory" -proxy "$tmp/proxy" -sim "$tmp/gupshup-sim" "$@"
