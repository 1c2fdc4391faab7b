#!/usr/bin/env bash
# The whole test suite (the README's test command): set-up, lint, unit tests, then integration tests on real VMs.
# Closes with "N passed, N failed, N skipped"; skipped tests are listed with their reasons.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --quiet >&2
npx eslint . >&2

tap=$(mktemp /tmp/boxlite-tap.XXXXXX)
trap 'rm -f "$tap"' EXIT
status=0
# Each test file runs in its own process; a 10-minute cap per test turns a hang into a failure.
node --test --test-timeout=600000 --test-concurrency="${BOXLITE_TEST_CONCURRENCY:-2}" \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  ${*:-dist/test/unit dist/test/integration} || status=$?

count() { awk -v k="# $1" '$1" "$2 == k { n += $3 } END { print n + 0 }' "$tap"; }
passed=$(count pass); failed=$(count fail); skipped=$(count skipped); cancelled=$(count cancelled)
if grep -q '# SKIP' "$tap"; then
  echo; echo 'Skipped tests and why:'
  grep -E '^\s*(not )?ok .*# SKIP' "$tap" | sed -E 's/^\s*(not )?ok [0-9]+ - /  - /'
fi
echo
echo "$passed passed, $((failed + cancelled)) failed, $skipped skipped"
exit "$status"
