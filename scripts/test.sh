#!/usr/bin/env bash
# Everything CI runs: install dependencies, build, run every test (unit and
# end-to-end) in a Release build, the unit tests again under AddressSanitizer
# and UndefinedBehaviorSanitizer, and each libFuzzer target for a bounded time.
# Exits non-zero if any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

step "setup"
scripts/setup.sh

step "build (Release)"
scripts/build.sh

step "tests (Release)"
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900

if [ -x scripts/sanitize.sh ]; then
  step "unit tests under ASan+UBSan"
  scripts/sanitize.sh
fi

if [ -x scripts/fuzz-smoke.sh ]; then
  step "fuzz smoke"
  scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-5}"
fi

step "all tests passed"
