#!/usr/bin/env bash
# The main job: set everything up, then boot a box from the project's Python image (pulled from a registry
# on loopback) and run Python in it. `--rootfs` instead boots a busybox root directory (no image, no registry).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
if [[ ${1:-} == --rootfs ]]; then
  rootfs=$(node --input-type=module -e 'import { busyboxRootfs } from "./dist/test/fixtures/rootfs.js"; console.log(busyboxRootfs());')
  exec node dist/src/cli/main.js run --rootfs "$rootfs" -- sh -c 'echo "Hello from $(uname -s) $(uname -r), inside a BoxLite micro-VM"'
fi
exec node dist/examples/python-in-a-box.js
