"""run.py: run every tests/http/test_*.py (or the modules named as arguments: test_gatekeeper ...)
and end with one line "http: N passed, M failed, K skipped". With KEYWARD_TEST_ENGINE=postgresql
the servers use PostgreSQL (harness.py); where it cannot be started, the run is one skipped test.

Then every answer of the JSON API the tests received (harness.API_ANSWERS) is held to the OpenAPI
document, src/api/openapi.json, by tests/api/check-answers.mjs: one test more, failed when any answer
is not as documented, skipped (saying where it looked) without Node.js or tests/api/node_modules
(`make deps-api`)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, here)
if os.environ.get("KEYWARD_TEST_ENGINE") == "postgresql":
    sys.path.insert(0, os.path.join(here, "..", "pg"))
    import pgtest
    reason = pgtest.missing()
    if reason:  # nothing to run on: the whole file counts as one skipped test
        print(f"skipped on PostgreSQL: {reason}")
        print("http: 0 passed, 0 failed, 1 skipped")
        sys.exit(0)
import harness  # noqa: E402  (needs the path above)

API_TESTS = os.path.join(root, "tests", "api")


def check_api_answers():
    """Hold harness.API_ANSWERS to the OpenAPI document: (passed, failed, skipped), one test in all;
    (0, 0, 0) when no test asked the API anything."""
    answers = harness.API_ANSWERS
    if not answers:
        return 0, 0, 0
    node = shutil.which("node")
    modules = [os.path.join(API_TESTS, "node_modules", name, "package.json") for name in ("ajv", "ajv-formats")]
    missing = [path for path in modules if not os.path.exists(path)]
    if node is None or missing:
        print(f"skipped: the check of {len(answers)} JSON API answers against src/api/openapi.json needs node "
              f"(on PATH: {node or 'none'}) and ajv, ajv-formats in {os.path.join(API_TESTS, 'node_modules')} "
              f"(missing: {', '.join(missing) or 'none'}): `make deps-api` installs them")
        return 0, 0, 1
    with tempfile.NamedTemporaryFile("w", prefix="keyward-api-answers-", suffix=".jsonl", delete=False) as f:
        for answer in answers:
            f.write(json.dumps(answer) + "\n")
        recorded = f.name
    try:
        done = subprocess.run([node, os.path.join(API_TESTS, "check-answers.mjs"), recorded], cwd=root,
                              capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(recorded)
    print("-- the JSON API's answers against src/api/openapi.json (tests/api/check-answers.mjs)")
    print((done.stdout + done.stderr).rstrip())
    if done.returncode == 0:
        print("ok: every JSON API answer is as the OpenAPI document says")
        return 1, 0, 0
    print(f"FAIL: JSON API answers not as the OpenAPI document says (check-answers.mjs exit status {done.returncode})")
    return 0, 1, 0


if len(sys.argv) > 1:
    suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
else:
    suite = unittest.defaultTestLoader.discover(here, pattern="test_*.py", top_level_dir=here)
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
passed = result.testsRun - failed - len(result.skipped)
skipped = len(result.skipped)
api_passed, api_failed, api_skipped = check_api_answers()
passed, failed, skipped = passed + api_passed, failed + api_failed, skipped + api_skipped
print(f"http: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
