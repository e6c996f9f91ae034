"""unit.py: run one unit test program on PostgreSQL: python3 tests/pg/unit.py build/test/unit/test_store

Starts a throwaway cluster (pgtest.py: its template database holds keyward's schema), runs the
program with KEYWARD_TEST_PG set to the URI of the cluster's postgres database and
KEYWARD_TEST_PG_TEMPLATE to the template's name, so that tests/unit/support.c gives each test a
database of its own copied from the template, and stops the cluster. The program's output is
passed on as it is (cmocka's summary is what tests/run-all.sh counts), and so is its exit status.
Where PostgreSQL cannot be started, the program counts as one skipped test, with the reason said.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgtest  # noqa: E402


def skipped(reason):
    print(f"skipped on PostgreSQL: {reason}")
    print("unit-pg: 0 passed, 0 failed, 1 skipped")
    return 0


def main(program):
    reason = pgtest.missing()
    if reason:
        return skipped(reason)
    try:
        conninfo = pgtest.cluster().conninfo
    except RuntimeError as error:
        return skipped(str(error))
    environment = dict(os.environ, KEYWARD_TEST_PG=pgtest.with_database(conninfo, "postgres"),
                       KEYWARD_TEST_PG_TEMPLATE=pgtest.TEMPLATE)
    sys.stdout.flush()
    return subprocess.run([program], env=environment).returncode


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tests/pg/unit.py build/test/unit/test_NAME")
    sys.exit(main(sys.argv[1]))
