"""run.py: run every tests/http/test_*.py (or the modules named as arguments: test_gatekeeper ...)
and end with one line "http: N passed, M failed, K skipped". With KEYWARD_TEST_ENGINE=postgresql
the servers use PostgreSQL (harness.py); where it cannot be started, the run is one skipped test."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
if os.environ.get("KEYWARD_TEST_ENGINE") == "postgresql":
    sys.path.insert(0, os.path.join(here, "..", "pg"))
    import pgtest
    reason = pgtest.missing()
    if reason:  # nothing to run on: the whole file counts as one skipped test
        print(f"skipped on PostgreSQL: {reason}")
        print("http: 0 passed, 0 failed, 1 skipped")
        sys.exit(0)
if len(sys.argv) > 1:
    suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
else:
    suite = unittest.defaultTestLoader.discover(here, pattern="test_*.py", top_level_dir=here)
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
print(f"http: {result.testsRun - failed - len(result.skipped)} passed, {failed} failed, {len(result.skipped)} skipped")
sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
