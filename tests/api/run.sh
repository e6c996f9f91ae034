#!/bin/sh
# run.sh: the OpenAPI document's own checks; ends with one line "api: N passed, M failed, K skipped".
#   - `redocly lint` on src/api/openapi.json with tests/api/redocly.yaml (recommended-strict: every
#     finding is an error), counted as one test;
#   - check-answers.test.mjs (node --test): the answer checker that tests/http/run.py runs on every
#     JSON API answer the HTTP tests receive, shown right and wrong answers, so that it can fail.
# Without Node.js or tests/api/node_modules (`make deps-api`), both count as skipped, saying where
# they looked.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
cd "$root"
passed=0
failed=0
skipped=0

if ! command -v node >/dev/null 2>&1 || [ ! -x "$here/node_modules/.bin/redocly" ] || \
   [ ! -f "$here/node_modules/ajv/package.json" ] || [ ! -f "$here/node_modules/ajv-formats/package.json" ]; then
  echo "skipped: the OpenAPI checks need node (on PATH: $(command -v node || echo none)) and redocly, ajv" \
       "and ajv-formats in $here/node_modules: \`make deps-api\` installs them"
  echo "api: 0 passed, 0 failed, 2 skipped"
  exit 0
fi

# ---- redocly lint --------------------------------------------------------------------------------
# No telemetry, no update notice (nothing to reach but the npm registry here); Redocly's notice that
# Node.js 20 support is ending goes to stderr, which is shown only when the lint fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
   "$here/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" --format stylish src/api/openapi.json \
   >"$log" 2>&1; then
  passed=$((passed + 1))
  echo "  ok    redocly lint src/api/openapi.json (tests/api/redocly.yaml)"
else
  failed=$((failed + 1))
  cat "$log"
  echo "  FAIL  redocly lint src/api/openapi.json (tests/api/redocly.yaml)"
fi

# ---- the answer checker ------------------------------------------------------------------------
node --test --test-reporter=tap "$here/check-answers.test.mjs" >"$log" 2>&1
status=$?
p=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
f=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
p=${p:-0}
f=${f:-0}
if [ "$status" -ne 0 ] || [ "$f" -ne 0 ]; then
  cat "$log"
  [ "$f" -eq 0 ] && f=1
fi
grep -E '^(not )?ok [0-9]+ - ' "$log" | sed 's/^/  /'
passed=$((passed + p))
failed=$((failed + f))

echo "api: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
