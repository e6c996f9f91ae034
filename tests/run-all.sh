#!/bin/sh
# Run every test suite and add up the results. Arguments: the unit test names (tests/unit/test_*.c).
# Each suite prints its own lines; this script prints one total at the end and fails if anything failed.
# A skipped test (one whose outside requirement is missing: the mustache spec without ../shared) is
# counted as skipped, neither passed nor failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export SHARED_DIR="${SHARED_DIR:-$root/../shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Count a suite's results from its output: cmocka's summary lines, or a closing
# "N passed, M failed" with an optional ", K skipped".
count() {
  name=$1
  status=$2
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\./\1/p' "$log" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below:/\1/p' "$log" | tail -n 1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test(s), listed below:/\1/p' "$log" | tail -n 1)
  if [ -z "$p" ]; then
    line=$(grep '^[a-z-]*:* *[0-9][0-9]* passed, [0-9][0-9]* failed' "$log" | tail -n 1)
    p=$(echo "$line" | sed -n 's/^[a-z-]*:* *\([0-9][0-9]*\) passed, .*/\1/p')
    f=$(echo "$line" | sed -n 's/.* passed, \([0-9][0-9]*\) failed.*/\1/p')
    s=$(echo "$line" | sed -n 's/.* failed, \([0-9][0-9]*\) skipped.*/\1/p')
  fi
  p=${p:-0}
  f=${f:-0}
  s=${s:-0}
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "!! $name exited with status $status"
  fi
  if [ "$status" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
    f=1
    echo "!! $name ran no test"
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  echo "== $name: $p passed, $f failed, $s skipped"
}

for test in "$@"; do
  echo "== unit: $test"
  "build/test/unit/$test" >"$log" 2>&1
  status=$?
  cat "$log"
  count "$test" "$status"
done

# Each fuzz target runs briefly on its saved corpus: a smoke test; `make fuzz` runs them longer.
for target in ${FUZZ_TARGETS:-}; do
  mkdir -p "build/fuzz/corpus/$target"
  echo "== fuzz: $target (${FUZZ_SMOKE_SECONDS:-10} s)"
  "build/fuzz/$target" -max_total_time="${FUZZ_SMOKE_SECONDS:-10}" "build/fuzz/corpus/$target" >"$log" 2>&1
  status=$?
  tail -n 3 "$log"
  if [ "$status" -eq 0 ]; then passed=$((passed + 1)); echo "== $target: 1 passed, 0 failed";
  else failed=$((failed + 1)); cat "$log" | tail -n 60; echo "== $target: 0 passed, 1 failed"; fi
done

echo "== http: tests/http (real lighttpd and Apache, sanitized build)"
python3 tests/http/run.py >"$log" 2>&1
status=$?
cat "$log"
count "http" "$status"

echo "== browser: tests/browser (headless Chromium, lighttpd and Apache, JavaScript on and off)"
python3 tests/browser/run.py >"$log" 2>&1
status=$?
cat "$log"
count "browser" "$status"

echo
echo "keyward tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
