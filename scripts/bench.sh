#!/usr/bin/env bash
# Runs the benchmarks (after set-up), each figure beside its baseline from the same run:
#   boxes:  cold start vs a bare QEMU boot, exec latency vs a portal ping, throughput vs a host pipe,
#           a network download into a box vs the host downloading the same from a test namespace;
#   images: cold pull+unpack+convert and warm prepare vs skopeo copy + umoci unpack.
# `npm run bench -- boxes` or `npm run bench -- images` runs one of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --quiet >&2
which=${1:-all}
if [[ $which == all || $which == boxes ]]; then node dist/bench/run.js; echo; fi
if [[ $which == all || $which == images ]]; then node dist/bench/images.js; fi
