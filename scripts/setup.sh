#!/usr/bin/env bash
# Prepares a BoxLite checkout on Debian 12 (as root): OS packages, npm dependencies, build, guest kernel
# and initramfs. Idempotent: each step runs only when its inputs changed. BOXLITE_HOME picks the home dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# 1. OS packages (the same lists as src/setup/os-packages.ts: OS_PACKAGES, then TEST_OS_PACKAGES for the test suite).
packages=(qemu-system-x86 qemu-utils passt musl-tools libc6-dev e2fsprogs xz-utils zstd busybox-static make gcc patch bc flex bison libelf-dev)
packages+=(docker-registry debootstrap xfsprogs)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    say "missing OS packages: ${missing[*]}; run this script as root, or: apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
  say "installing ${missing[*]}"
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt-get update
    install
  elif ! install; then
    say 'install failed; refreshing the package lists and trying again'
    apt-get update
    install
  fi
fi

# 2. Node 20+ (not installed here: Debian 12's nodejs is 18).
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  say "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# 3. npm dependencies, when node_modules is missing or older than package-lock.json. This script is for a checkout;
# the npm package does not ship scripts/ (there, `npx boxlite setup` does steps 1 and 5).
if [[ ! -f package-lock.json ]]; then
  say "no package-lock.json in $PWD: this script sets up a checkout of the repository; in a project that installed boxlite, run: npx boxlite setup"
  exit 1
fi
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say 'npm ci'
  npm ci --no-audit --no-fund
fi

# 4. Build, when any source is newer than the last build.
stamp=dist/.build-stamp
if [[ ! -f $stamp ]] || [[ -n "$(find src test bench examples tsconfig.json package.json -newer "$stamp" -print -quit 2>/dev/null)" ]]; then
  say 'npm run build'
  npm run build
  touch "$stamp"
fi

# 5. Guest kernel, agent, initramfs and jailer, into the shared cache (BOXLITE_CACHE_DIR, else /var/cache/boxlite as
#    root; milliseconds when up to date), and the default-shape snapshot of $BOXLITE_HOME.
exec node dist/src/cli/main.js setup "$@"
