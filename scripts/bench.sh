#!/usr/bin/env bash
# Runs the benchmarks (after set-up), each figure beside its baseline from the same run:
#   boxes:  cold start vs a bare QEMU boot, exec latency vs a portal ping, throughput vs a host pipe,
#           a network download into a box vs the host downloading the same from a test namespace,
#           the snapshot start vs `crun run` (installed here when missing) and `podman run --rm` (only where
#           installed) of the same busybox rootfs (BENCH_CONTAINERS=0 skips them);
#   images: cold pull+unpack+convert and warm prepare vs skopeo copy + umoci unpack.
# `npm run bench -- boxes` or `npm run bench -- images` runs one of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --quiet >&2
which=${1:-all}

# crun, for the boxes bench's container baseline (bench/containers.ts), installed as setup.sh installs its packages.
# Podman is optional: measured where it is installed, never installed here.
if [[ $which == all || $which == boxes ]] && [[ ${BENCH_CONTAINERS:-1} != 0 ]] \
  && ! dpkg-query -W -f='${Status}' crun 2>/dev/null | grep -q 'install ok installed'; then
  if [[ $EUID -ne 0 ]]; then
    echo 'bench: crun is missing, so the crun row says "not installed"; as root: apt-get install -y --no-install-recommends crun' >&2
  else
    install_crun() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends crun >&2; }
    echo 'bench: installing crun' >&2
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
      apt-get update >&2
      install_crun
    elif ! install_crun; then
      echo 'bench: install failed; refreshing the package lists and trying again' >&2
      apt-get update >&2
      install_crun
    fi
  fi
fi

if [[ $which == all || $which == boxes ]]; then node dist/bench/run.js; echo; fi
if [[ $which == all || $which == images ]]; then node dist/bench/images.js; fi
