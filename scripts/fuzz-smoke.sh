#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/fuzz_*.cc) in build-fuzz with clang,
# ASan and UBSan, and runs each for SECONDS (default 30) from its generated
# seed corpus. Fails if any target crashes, leaks,
# trips a sanitizer, times out on one input or runs out of memory; the
# input that did it is kept in build-fuzz/artifacts/.
#   scripts/fuzz-smoke.sh [SECONDS]
# FUZZ_JOBS (default: number of cores) targets run at once.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
jobs=${FUZZ_JOBS:-$(nproc)}
build=build-fuzz

command -v clang++ >/dev/null || { echo "fuzz-smoke: clang++ not found (scripts/setup.sh installs it)" >&2; exit 1; }

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DVIGIL_FUZZ=ON -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF >/dev/null
nice ninja -C "$build" -j"$(nproc)" fuzzers

# Seed corpora are generated, never committed: fuzz/make_seeds.sh for the
# signature stage, and any fuzz/make_*_seeds.py (OUT_DIR) for the others.
seeds="$build/seeds"
rm -rf "$seeds"
fuzz/make_seeds.sh "$seeds" "$build/fuzz/make_cache_seed" >/dev/null
for gen in fuzz/make_*_seeds.py; do
  [ -e "$gen" ] && python3 "$gen" "$seeds" >/dev/null
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"

# Sanitizer reports are failures; UBSan's must stop the run to be seen.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

run_one() {
  local bin=$1 name
  name=$(basename "$bin")
  mkdir -p "$work/$name" "$seeds/$name"
  # New inputs go to a scratch corpus; the generated seeds are read only.
  if "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$name-" "$work/$name" "$seeds/$name" \
       >"$work/$name.log" 2>&1; then
    echo "fuzz-smoke: $name ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$') runs)"
  else
    echo "fuzz-smoke: $name FAILED; last lines of its log:"
    tail -n 40 "$work/$name.log" | sed 's/^/    /'
    return 1
  fi
}
export -f run_one
export seconds build seeds work

targets=$(find "$build/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
[ -n "$targets" ] || { echo "fuzz-smoke: no fuzz targets were built" >&2; exit 1; }
echo "fuzz-smoke: $(echo "$targets" | wc -l) targets, ${seconds}s each, $jobs at a time"
if echo "$targets" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}; then
  echo "fuzz-smoke: all targets ran clean"
else
  echo "fuzz-smoke: failures above; crashing inputs are in $build/artifacts/" >&2
  exit 1
fi
