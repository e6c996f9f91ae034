#!/bin/sh
# run.sh: the build as a newcomer and a Debian packager meet it, in a copy of the tree with no
# ../shared beside it; ends with one line "build: N passed, M failed".
#
# The copy (build/clone/keyward: the files git tracks, and untracked ones it does not ignore, as
# they are in the work tree, modifications included) is the tree a fresh clone gives. In it:
#   - `make build/keyward` with Debian's hardening flags (dpkg-buildflags, hardening=+all, in the
#     environment, as dpkg-buildpackage sets them) builds without a warning, and the binary is PIE,
#     has full RELRO (GNU_RELRO and BIND_NOW), calls the stack protector and the fortified __*_chk
#     functions; the checker itself is first shown a binary built without them, which must fail
#     every check;
#   - `make test-unit` (the unit tests and the mustache spec runner, sanitized) passes with no
#     ../shared, SHARED_DIR or MUSTACHE_SPEC_DIR: the spec's cases are reported skipped, with the
#     path looked in.
# The copy's build/ is kept between runs and its files keep their times, so a second run rebuilds
# only what changed (from a clean clone, the first run builds both from scratch). The HTTP, browser
# and fuzz suites need nothing from ../shared; they run in the tree itself.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd -P)
work=$root/build/clone
copy=$work/keyward
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

pass() { passed=$((passed + 1)); echo "  ok    $1"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $1"; }
finish() {
  echo "build: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# What the builds in the copy must not inherit: the outer make's flags and jobserver (and any
# CFLAGS given to it on the command line), and the outer run's way to the shared files.
clean_env() {
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SHARED_DIR -u MUSTACHE_SPEC_DIR \
      -u MUSTACHE_SPEC_REQUIRED -u CPPFLAGS -u CFLAGS -u LDFLAGS -u DEB_BUILD_MAINT_OPTIONS "$@"
}

# ---- the copy ----------------------------------------------------------------------------------
mkdir -p "$copy"
find "$copy" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # (a tracked file deleted in the work tree is left out: --ignore-failed-read)
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
     tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | (cd "$copy" && tar -xpf -)
else
  (cd "$root" && tar --exclude=./build --exclude=./var --exclude=./tests/artifacts \
     --exclude=./tests/browser/node_modules --exclude=./tests/api/node_modules -cf - .) | (cd "$copy" && tar -xpf -)
fi
if [ -f "$copy/Makefile" ] && [ -f "$copy/src/main.c" ] && [ ! -e "$work/shared" ]; then
  pass "a copy of the tree in $copy, with no $work/shared beside it"
else
  fail "a copy of the tree in $copy, with no $work/shared beside it"
  finish
fi

# ---- the checker, shown a binary without the hardening ------------------------------------------
# check_binary FILE: prints one line per property; returns the number that are missing.
check_binary() {
  binary=$1
  missing=0
  header=$(readelf -h "$binary" 2>/dev/null)
  dynamic=$(readelf -d "$binary" 2>/dev/null)
  segments=$(readelf -l -W "$binary" 2>/dev/null)
  symbols=$(readelf --dyn-syms -W "$binary" 2>/dev/null)
  if echo "$header" | grep -q 'Type:[[:space:]]*DYN' && echo "$dynamic" | grep -q 'FLAGS_1.*PIE'; then
    echo "    PIE: yes"; else echo "    PIE: no"; missing=$((missing + 1)); fi
  if echo "$segments" | grep -q 'GNU_RELRO'; then
    echo "    RELRO: yes"; else echo "    RELRO: no"; missing=$((missing + 1)); fi
  if echo "$dynamic" | grep -q 'BIND_NOW' || echo "$dynamic" | grep -q 'FLAGS_1.*NOW'; then
    echo "    BIND_NOW: yes"; else echo "    BIND_NOW: no"; missing=$((missing + 1)); fi
  if echo "$symbols" | grep -q '__stack_chk_fail'; then
    echo "    stack protector: yes"; else echo "    stack protector: no"; missing=$((missing + 1)); fi
  fortified=$(echo "$symbols" | grep -o '__[a-z0-9_]*_chk\b' | grep -v '__stack_chk' | sort -u | tr '\n' ' ')
  if [ -n "$fortified" ]; then
    echo "    FORTIFY: yes ($fortified)"; else echo "    FORTIFY: no"; missing=$((missing + 1)); fi
  return "$missing"
}

plain=$work/plain
cat > "$plain.c" <<'EOF'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	char buffer[16];
	snprintf(buffer, sizeof buffer, "%s", argc > 1 ? argv[1] : "");
	memcpy(buffer, argv[0], strlen(buffer) < 8 ? strlen(buffer) : 8);
	return buffer[0] == 'x';
}
EOF
rm -f "$plain"
if ${CC:-cc} -O2 -no-pie -fno-stack-protector -U_FORTIFY_SOURCE -Wl,-z,norelro -Wl,-z,lazy "$plain.c" -o "$plain" \
     >"$log" 2>&1; then
  check_binary "$plain" >"$log" 2>&1
  missing=$?
else
  missing=0  # no binary to show it
fi
if [ "$missing" -eq 5 ]; then
  pass "the checker finds none of the five in a binary built without them"
else
  cat "$log"
  fail "the checker finds none of the five in a binary built without them"
fi

# ---- the release build with Debian's flags -----------------------------------------------------
if ! command -v dpkg-buildflags >/dev/null 2>&1; then
  fail "dpkg-buildflags is missing (Debian: dpkg-dev)"
  finish
fi
cd "$copy"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
hardened_cppflags=$(dpkg-buildflags --get CPPFLAGS)
hardened_cflags=$(dpkg-buildflags --get CFLAGS)
hardened_ldflags=$(dpkg-buildflags --get LDFLAGS)
echo "  CPPFLAGS=$hardened_cppflags"
echo "  CFLAGS=$hardened_cflags"
echo "  LDFLAGS=$hardened_ldflags"
clean_env CPPFLAGS="$hardened_cppflags" CFLAGS="$hardened_cflags" LDFLAGS="$hardened_ldflags" \
  make --no-print-directory -j"$jobs" build/keyward >"$log" 2>&1
status=$?
if [ "$status" -eq 0 ] && [ -x build/keyward ]; then
  pass "make build/keyward with dpkg-buildflags"
else
  tail -n 40 "$log"
  fail "make build/keyward with dpkg-buildflags"
  finish
fi
# A warning shows only when its file is compiled: after one, the copy's release objects go, so that
# the next run compiles everything again and fails again until the warning is fixed.
if grep -q 'warning:' "$log"; then
  grep -B2 -A6 'warning:' "$log" | head -n 60
  rm -rf build/release
  fail "the hardened build compiles without a warning"
else
  pass "the hardened build compiles without a warning"
fi
if grep -q -- '-D_FORTIFY_SOURCE=2' build/release/flags && grep -q -- '-z,now' build/release/flags; then
  pass "the builder's CPPFLAGS, CFLAGS and LDFLAGS reach the release build (build/release/flags)"
else
  cat build/release/flags
  fail "the builder's CPPFLAGS, CFLAGS and LDFLAGS reach the release build (build/release/flags)"
fi
check_binary build/keyward >"$log" 2>&1
cat "$log"
for property in PIE RELRO BIND_NOW "stack protector" FORTIFY; do
  if grep -q "^    $property: yes" "$log"; then
    pass "build/keyward: $property"
  else
    fail "build/keyward: $property"
  fi
done

# ---- the unit tests with no ../shared ----------------------------------------------------------
clean_env make --no-print-directory -j"$jobs" test-unit >"$log" 2>&1
status=$?
total=$(grep '^keyward tests: ' "$log" | tail -n 1)
echo "  the copy's unit tests: ${total:-no total line}"
expected_path="$copy/../shared/mustache-spec"
if [ "$status" -eq 0 ] && echo "$total" | grep -q ' 0 failed, [1-9][0-9]* skipped$' &&
   grep -q "^mustache-spec: no spec folder at $expected_path: its [1-9][0-9]* cases skipped" "$log"; then
  pass "make test-unit passes with no ../shared, the mustache spec skipped and the path it looked in named"
else
  tail -n 60 "$log"
  fail "make test-unit passes with no ../shared, the mustache spec skipped and the path it looked in named"
fi
finish
