#!/bin/sh
# Run every test suite and add up the results. Arguments: the unit test names (tests/unit/test_*.c).
#
# The suites are cut into jobs (each unit test, each unit test with a database again on PostgreSQL,
# each fuzz target, each tests/http/test_*.py file, each tests/http/test_*.py file again on
# PostgreSQL, each browser run, the build checks, the OpenAPI document's checks) and JOBS + 1 of
# them (JOBS: the number of CPUs unless told) run at a time, the longest first as the last run timed
# them (build/test/durations).
# Each job's output is kept, and printed whole in a fixed order once all are done, with one total
# line at the end; the script fails if anything failed. KEYWARD_TEST_JOBS=1 runs them one at a time.
# SUITES (default "unit unit-pg fuzz http http-pg browser build api pg") picks suites. unit-pg runs the
# unit tests that use a database (tests/unit/support.c's) again on PostgreSQL, each program with a
# cluster of its own (tests/pg/unit.py), each test on a fresh database there. http-pg runs the HTTP
# files with KEYWARD_TEST_ENGINE=postgresql (each server on a fresh PostgreSQL database), all but
# those about SQLite's file itself (HTTP_PG_SKIP). Where PostgreSQL cannot be started, both count as
# skipped. api lints src/api/openapi.json and tests the checker that each HTTP job runs on the JSON
# API's answers it received (tests/api/run.sh).
#
# A skipped test (one whose outside requirement is missing: the mustache spec without ../shared) is
# counted as skipped, neither passed nor failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export SHARED_DIR="${SHARED_DIR:-$root/../shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# ---- one job: sh tests/run-all.sh --job FOLDER KIND NAME ---------------------------------------
# Writes FOLDER/KIND.NAME.log (its output), .status (its exit status) and .seconds (how long it took).
if [ "${1:-}" = "--job" ]; then
  folder=$2
  kind=$3
  name=$4
  out="$folder/$kind.$name"
  began=$(date +%s)
  case $kind in
    unit) "build/test/unit/$name" ;;
    unit-pg) python3 tests/pg/unit.py "build/test/unit/$name" ;;
    fuzz) # a smoke test on its saved corpus (`make fuzz` runs them longer): its last lines, and
          # the verdict as a line run-all counts
          mkdir -p "build/fuzz/corpus/$name"
          "build/fuzz/$name" -max_total_time="${FUZZ_SMOKE_SECONDS:-10}" "build/fuzz/corpus/$name" >"$out.fuzz" 2>&1
          fuzz_status=$?
          if [ "$fuzz_status" -eq 0 ]; then tail -n 3 "$out.fuzz"; echo "fuzz: 1 passed, 0 failed";
          else tail -n 60 "$out.fuzz"; echo "fuzz: 0 passed, 1 failed"; fi
          rm -f "$out.fuzz"
          [ "$fuzz_status" -eq 0 ] ;;
    http) python3 tests/http/run.py "$name" ;;
    http-pg) KEYWARD_TEST_ENGINE=postgresql python3 tests/http/run.py "$name" ;;
    browser) KEYWARD_BROWSER_RUNS=$name python3 tests/browser/run.py ;;
    build) sh tests/build/run.sh ;;
    api) sh tests/api/run.sh ;;
    pg) python3 "tests/pg/$name.py" ;;
  esac >"$out.log" 2>&1
  status=$?
  echo "$status" >"$out.status"
  echo $(($(date +%s) - began)) >"$out.seconds"
  echo "   done $kind $name ($(cat "$out.seconds") s, status $status)"
  exit 0
fi

# ---- the jobs ----------------------------------------------------------------------------------
suites=${SUITES:-unit unit-pg fuzz http http-pg browser build api pg}
# HTTP files that are about the SQLite file (its WAL, modes, backup of the file, PRAGMAs) and have
# nothing to check on PostgreSQL.
HTTP_PG_SKIP=${HTTP_PG_SKIP:-test_database test_backup}
# One job more than CPUs: several jobs spend much of their time waiting (on a server's timeout, a
# browser, a socket), and the spare slot fills that time.
jobs=${KEYWARD_TEST_JOBS:-$((${JOBS:-$(nproc 2>/dev/null || echo 2)} + 1))}
folder=$(mktemp -d)
trap 'rm -rf "$folder"' EXIT
durations=build/test/durations

list() {
  for suite in $suites; do
    case $suite in
      unit) for test in "$@"; do echo "unit $test"; done ;;
      unit-pg) for test in "$@"; do
                 grep -q 'test_db_open' "tests/unit/$test.c" 2>/dev/null && echo "unit-pg $test"
               done ;;
      fuzz) for target in ${FUZZ_TARGETS:-}; do echo "fuzz $target"; done ;;
      http) for file in tests/http/test_*.py; do echo "http $(basename "$file" .py)"; done ;;
      http-pg) for file in tests/http/test_*.py; do
                 name=$(basename "$file" .py)
                 case " $HTTP_PG_SKIP " in *" $name "*) ;; *) echo "http-pg $name" ;; esac
               done ;;
      browser) for run in $(python3 tests/browser/run.py --list); do echo "browser $run"; done ;;
      build) echo "build checks" ;;
      api) echo "api openapi" ;;
      pg) for file in tests/pg/test_*.py; do echo "pg $(basename "$file" .py)"; done ;;
    esac
  done
}
list "$@" >"$folder/jobs"

# The longest first: the seconds each took last time (a new job counts as long, so it starts early).
while read -r kind name; do
  seconds=$(awk -v k="$kind" -v n="$name" '$2 == k && $3 == n { s = $1 } END { print (s == "" ? 999 : s) }' \
              "$durations" 2>/dev/null || echo 999)
  echo "${seconds:-999} $kind $name"
done <"$folder/jobs" | sort -k1,1nr | cut -d' ' -f2- >"$folder/order"

echo "== running $(wc -l <"$folder/jobs") jobs, $jobs at a time (suites: $suites)"
began=$(date +%s)
xargs -P "$jobs" -L 1 sh "$0" --job "$folder" <"$folder/order"
elapsed=$(($(date +%s) - began))

# ---- the results, in a fixed order -------------------------------------------------------------
passed=0
failed=0
skipped=0

# Count a job's results from its output: cmocka's summary lines, or a closing
# "N passed, M failed" with an optional ", K skipped".
count() {
  label=$1
  status=$2
  log=$3
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
    echo "!! $label exited with status $status"
  fi
  if [ "$status" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
    f=1
    echo "!! $label ran no test"
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  echo "== $label: $p passed, $f failed, $s skipped"
}

mkdir -p build/test
: >"$durations.new"
while read -r kind name; do
  out="$folder/$kind.$name"
  echo "== $kind: $name ($(cat "$out.seconds" 2>/dev/null || echo '?') s)"
  if [ -f "$out.status" ]; then
    cat "$out.log"
    count "$kind $name" "$(cat "$out.status")" "$out.log"
    echo "$(cat "$out.seconds") $kind $name" >>"$durations.new"
  else
    failed=$((failed + 1))
    echo "!! $kind $name did not run"
  fi
done <"$folder/jobs"
# Keep the times of the jobs not run this time (make test-unit runs some only).
{ cat "$durations.new"; [ -f "$durations" ] &&
    awk 'NR == FNR { seen[$2 " " $3] = 1; next } !(($2 " " $3) in seen)' "$durations.new" "$durations"; } \
  >"$durations.tmp"
mv "$durations.tmp" "$durations"
rm -f "$durations.new"

echo
echo "ran $(wc -l <"$folder/jobs") jobs, $jobs at a time, in $elapsed s"
echo "keyward tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
