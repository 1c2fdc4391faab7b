#!/usr/bin/env bash
# The main job: set everything up, then boot a box from a busybox root filesystem and run a command in it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
rootfs=$(node --input-type=module -e 'import { busyboxRootfs } from "./dist/test/fixtures/rootfs.js"; console.log(busyboxRootfs());')
echo "+ boxlite run --rootfs $rootfs -- sh -c '...'" >&2
exec node dist/src/cli/main.js run --rootfs "$rootfs" -- \
  sh -c 'echo "Hello from $(uname -s) $(uname -r), inside a BoxLite micro-VM"; echo "I am $(id -un) on $(hostname), with $(nproc) CPUs and $(awk "/MemTotal/{print int(\$2/1024)}" /proc/meminfo) MiB"'
