#!/usr/bin/env bash
# Builds the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer
# in build-asan (gcc) and runs them (ctest -L unit). Fails on any failing
# test and on any sanitizer report: ASan and LeakSanitizer abort the test,
# and UBSan is built with -fno-sanitize-recover (see VIGIL_SANITIZE in the
# top-level CMakeLists.txt).
#   scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-asan
# -g1 (line tables only): stack traces keep file and line, and the build
# takes much less time than with full debug information.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DVIGIL_SANITIZE=ON -DVIGIL_BUILD_BENCH=OFF >/dev/null
# Test discovery runs the test binary, so it must already be sanitizer-clean.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
targets=(vigil_unit_tests)
for t in vigil_policy_tests vigil_fleet_tests vigil_distrib_tests; do
  ninja -C "$build" -t targets all 2>/dev/null | grep -q "^$t:" && targets+=("$t")
done
nice ninja -C "$build" -j"$(nproc)" "${targets[@]}"

ctest --test-dir "$build" -L unit --no-tests=error --output-on-failure -j"$(nproc)" --timeout 600
echo "sanitize: unit tests clean under ASan+UBSan"
