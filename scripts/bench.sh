#!/usr/bin/env bash
# Runs the benchmarks (after set-up): cold start, exec latency and throughput, each beside its baseline.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --quiet >&2
exec node dist/bench/run.js "$@"
