"""test_usage_rollup.py: usage rollups on PostgreSQL, where several nodes write raw usage at once.

The rollup's watermark is a raw row id. With concurrent writers, ids commit out of order: a batch
that took id N may commit after one that took N+1. A rollup that read N+1 and moved its watermark
past it would never count row N. keyward's batches take a share of the rollup's state row before
they take ids, and a rollup locks that row for update: it waits for the batches in flight, and no
batch takes ids while it runs. Ends with "pg-rollup: N passed, M failed, K skipped".
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

# What a node's batch does (src/store/store_gate.c, usage_write_lock then usage_insert).
BATCH = ("BEGIN; SELECT 1 FROM usage_rollup WHERE id = 1 FOR SHARE; "
         "INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, calls) "
         "VALUES (1, {key}, floor(extract(epoch FROM now()))::bigint - 60, '/v1/x', '192.0.2.1', 'granted', {calls});")


class RollupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = pgtest.missing()
        if reason:
            raise unittest.SkipTest(reason)
        cls.folder = tempfile.mkdtemp(prefix="keyward-rollup-")
        cls.env = dict(os.environ, KEYWARD_KEY_FILE=os.path.join(cls.folder, "keyward.key"))
        cls.conninfo = pgtest.create_database(f"rollup_{os.getpid()}")
        cls.keyward("init")
        cls.keyward("key", "create", "--name", "counted")
        cls.key = int(pgtest.value(cls.conninfo, "SELECT id FROM api_key"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    @classmethod
    def keyward(cls, *args):
        done = subprocess.run([BIN, "--db", cls.conninfo, *args], env=cls.env, capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"keyward {' '.join(args)}: {done.stderr}")
        return done

    def test_a_row_that_commits_late_is_still_rolled_up(self):
        early = pgtest.Session(self.conninfo)
        late = pgtest.Session(self.conninfo)
        try:
            early.run(BATCH.format(key=self.key, calls=2))   # takes id N, does not commit yet
            late.run(BATCH.format(key=self.key, calls=3))    # takes id N+1
            late.run("COMMIT;")
            rollup = subprocess.Popen([BIN, "--db", self.conninfo, "usage", "rollup"], env=self.env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            self.assertIsNone(rollup.poll(), "the rollup waits for the batch still in flight")
            early.run("COMMIT;")
            _, stderr = rollup.communicate(timeout=30)
            self.assertEqual(rollup.returncode, 0, stderr)
        finally:
            early.close()
            late.close()
        rolled = pgtest.value(self.conninfo, f"SELECT coalesce(sum(calls), 0) FROM usage_hourly WHERE api_key_id = {self.key}")
        self.assertEqual(int(rolled), 5, "both batches counted once")
        self.keyward("usage", "rollup")
        rolled = pgtest.value(self.conninfo, f"SELECT coalesce(sum(calls), 0) FROM usage_hourly WHERE api_key_id = {self.key}")
        self.assertEqual(int(rolled), 5, "and not twice")


if __name__ == "__main__":
    pgtest.run_tests("pg-rollup")
