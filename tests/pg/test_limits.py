"""test_limits.py: rules that count rows before they add one hold on PostgreSQL under concurrency.

SQLite lets one writer in at a time, so a count and the insert after it see the same rows.
PostgreSQL's transactions run side by side (READ COMMITTED): two that count together could both
find room. keyward locks what the count is about (the workspace's row for its active key limit).
Ends with "pg-limits: N passed, M failed, K skipped".
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "http"))

import pgtest  # noqa: E402
from harness import BIN  # noqa: E402

LIMIT = 3
ATTEMPTS = 12


class KeyLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = pgtest.missing()
        if reason:
            raise unittest.SkipTest(reason)
        cls.folder = tempfile.mkdtemp(prefix="keyward-limits-")
        cls.env = dict(os.environ, KEYWARD_KEY_FILE=os.path.join(cls.folder, "keyward.key"),
                       KEYWARD_KEY_LIMIT=str(LIMIT))
        cls.conninfo = pgtest.create_database(f"limits_{os.getpid()}")
        done = subprocess.run([BIN, "--db", cls.conninfo, "init"], env=cls.env, capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 0:
            raise RuntimeError("init failed: " + done.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def test_keys_made_at_once_stop_at_the_limit(self):
        processes = [subprocess.Popen([BIN, "--db", self.conninfo, "key", "create", "--name", f"k{i}"], env=self.env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for i in range(ATTEMPTS)]
        results = [(process.wait(timeout=60), process.stderr.read()) for process in processes]
        for process in processes:
            process.stdout.close()
            process.stderr.close()
        made = sum(1 for status, _ in results if status == 0)
        refused = [error for status, error in results if status != 0]
        active = int(pgtest.value(self.conninfo, "SELECT count(*) FROM api_key WHERE revoked_at IS NULL"))
        self.assertEqual(active, LIMIT, results)
        self.assertEqual(made, LIMIT, results)
        self.assertEqual(len(refused), ATTEMPTS - LIMIT)
        for error in refused:
            self.assertIn("limit", error)


class LastOwnerTest(unittest.TestCase):
    """A workspace keeps an owner who can sign in when its owners are all disabled at once: each
    disable checks that another owner remains, and on PostgreSQL would count the others as still
    enabled until they commit, so the changes take turns (an advisory lock). Here every disable is
    held, after its check, by a lock on the audit log until all of them are waiting."""

    OWNERS = 4

    @classmethod
    def setUpClass(cls):
        reason = pgtest.missing()
        if reason:
            raise unittest.SkipTest(reason)
        cls.folder = tempfile.mkdtemp(prefix="keyward-owners-")
        cls.env = dict(os.environ, KEYWARD_KEY_FILE=os.path.join(cls.folder, "keyward.key"))
        cls.conninfo = pgtest.create_database(f"owners_{os.getpid()}")
        for command in (["init"],) + tuple(["user", "add", "--email", f"owner{i}@example.com", "--owner"]
                                            for i in range(cls.OWNERS)):
            done = subprocess.run([BIN, "--db", cls.conninfo, *command], env=cls.env, capture_output=True, text=True,
                                  input="a long enough password\n", timeout=60)
            if done.returncode != 0:
                raise RuntimeError(" ".join(command) + " failed: " + done.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def enabled_owners(self):
        return int(pgtest.value(self.conninfo, "SELECT count(*) FROM membership m JOIN \"user\" u ON u.id = m.user_id "
                                "WHERE m.workspace_id = 1 AND m.console_role = 'owner' AND u.disabled_at IS NULL"))

    def test_owners_disabled_at_once_leave_one(self):
        self.assertEqual(self.enabled_owners(), self.OWNERS)
        locker = pgtest.Session(self.conninfo)
        try:
            locker.run("BEGIN; LOCK TABLE audit_event IN SHARE MODE;")
            processes = [subprocess.Popen([BIN, "--db", self.conninfo, "user", "disable", "--email",
                                           f"owner{i}@example.com"], env=self.env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
                         for i in range(self.OWNERS)]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # every disable has begun and waits (on the audit log, or its turn)
                waiting = int(pgtest.value(self.conninfo, "SELECT count(*) FROM pg_stat_activity WHERE "
                                           "wait_event_type = 'Lock' AND datname = current_database()"))
                if waiting >= self.OWNERS:
                    break
                time.sleep(0.05)
        finally:
            locker.run("ROLLBACK;")
            locker.close()
        results = [(process.wait(timeout=60), process.stderr.read()) for process in processes]
        for process in processes:
            process.stdout.close()
            process.stderr.close()
        self.assertEqual(waiting, self.OWNERS, "the disables did not all wait together: the test proved nothing")
        self.assertEqual(self.enabled_owners(), 1, results)
        refused = [error for status, error in results if status != 0]
        self.assertEqual(len(refused), 1, results)
        self.assertIn("only owner", refused[0])


if __name__ == "__main__":
    pgtest.run_tests("pg-limits")
