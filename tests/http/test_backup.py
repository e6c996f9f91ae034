"""test_backup.py: `keyward backup PATH` finishes under load, and its copy works with its key file.

The README used to advise `sqlite3 db ".backup copy.db"`, which restarts on every commit of another
connection (the usage writer commits every second) and so never finishes on a busy gatekeeper, and
whose interrupted copy opens as an empty database. `keyward backup` copies in one read transaction
(VACUUM INTO a temporary file beside PATH, synced, then linked into place).

The load test prints the backup's time and size under load (`backup under load: ...`).
"""
import glob
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (BIN, FCGI_AUTHORIZER, TEMPLATES, LighttpdGatekeeper, fcgi_request, free_port, init_database,
                     parse_cgi_output, sanitizer_report, wait_for_port)

# Usage rows put in the database before the load, so that the copy has some size to it.
BULK_USAGE_ROWS = 400_000
LOAD_THREADS = 4
LOAD_SECONDS_MAX = 120
LOAD_REQUESTS_MAX = 50_000


def run(*args, timeout=120):
    env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES)
    env.pop("GATEWAY_INTERFACE", None)
    return subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def verifies(test, database, token, name):
    """`keyward serve` on `database` (with its key file beside it) grants `token`, as an authorizer, to key `name`."""
    port = free_port()
    env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES)
    env.pop("GATEWAY_INTERFACE", None)
    log_path = database + ".serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([BIN, "--db", database, "serve", "--listen", f"127.0.0.1:{port}", "--threads", "1"],
                                   env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_for_port(port):
            with open(log_path, encoding="utf-8", errors="replace") as f:
                test.fail("keyward serve did not start on the copy: " + f.read())
        stdout, _, _ = fcgi_request(port, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/v1/x", "QUERY_STRING": "",
                                           "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + token},
                                    role=FCGI_AUTHORIZER)
        status, headers, _ = parse_cgi_output(stdout)
        test.assertEqual(status, 200, stdout)
        test.assertEqual(dict(headers)["Variable-KEYWARD_KEY_NAME"], name)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    with open(log_path, encoding="utf-8", errors="replace") as f:
        log = f.read()
    test.assertIsNone(sanitizer_report(log), log[-4000:])


class BackupUnderLoadTest(unittest.TestCase):
    """A backup of a real lighttpd gatekeeper's database while threads hammer it with a valid key."""

    @classmethod
    def setUpClass(cls):
        cls.server = LighttpdGatekeeper()
        cls.token = cls.server.create_key_cli("Busy client", "--role", "admin")

    def setUp(self):
        self.copies = tempfile.mkdtemp(prefix="keyward-backups-")

    def tearDown(self):
        shutil.rmtree(self.copies, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        log = cls.server.error_log()
        cls.server.cleanup()
        if sanitizer_report(log):
            raise AssertionError(f"sanitizer report:\n{log[-6000:]}")

    def bulk_usage(self):
        """BULK_USAGE_ROWS usage rows of the last days, as the gatekeeper would have written them."""
        now = int(time.time())
        connection = sqlite3.connect(self.server.database, timeout=30)
        with connection:
            key = connection.execute("SELECT id FROM api_key").fetchone()[0]
            connection.executemany(
                "INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, calls) "
                "VALUES (1, ?, ?, ?, ?, 'granted', 1)",
                ((key, now - 86400 * 3 + i, f"/protected/item/{i % 997}", f"192.0.2.{i % 250}")
                 for i in range(BULK_USAGE_ROWS)))
        connection.close()

    def hammer(self, stop, statuses):
        deadline = time.time() + LOAD_SECONDS_MAX
        while not stop.is_set() and time.time() < deadline and len(statuses) < LOAD_REQUESTS_MAX:
            response = self.server.raw_request("GET", "/protected/load", [("Authorization", "Bearer " + self.token)])
            statuses.append(response.status)

    def test_a_backup_under_load_finishes_and_verifies_keys(self):
        self.bulk_usage()
        stop = threading.Event()
        statuses = []
        threads = [threading.Thread(target=self.hammer, args=(stop, statuses)) for _ in range(LOAD_THREADS)]
        for thread in threads:
            thread.start()
        try:
            while len(statuses) < 100 and all(t.is_alive() for t in threads):
                time.sleep(0.05)
            copy = os.path.join(self.copies, "monday.db")
            served_before = len(statuses)
            began = time.monotonic()
            done = run("--db", self.server.database, "backup", copy)
            elapsed = time.monotonic() - began
            served_during = len(statuses) - served_before
            time.sleep(1)  # the load goes on past the backup: a usage batch or two more
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIsNone(sanitizer_report(done.stderr), done.stderr)
        self.assertGreater(served_during, 0, "the gatekeeper answered nothing while the backup ran")
        self.assertEqual(set(statuses), {200}, "the gatekeeper refused or failed requests under the backup")
        size = os.path.getsize(copy)
        print(f"\nbackup under load: {elapsed:.2f} s for {size / 1e6:.1f} MB "
              f"({len(statuses)} gatekeeper requests in all, {served_during} during the backup)", file=sys.stderr)

        # What it printed: where the copy is, and how to restore it.
        self.assertIn(f"backup of {self.server.database}: {copy}", done.stdout)
        self.assertIn("to restore it: stop every keyward server", done.stdout)
        self.assertIn(f"rm -f '{self.server.database}-wal' '{self.server.database}-shm'", done.stdout)
        self.assertIn(f"cp '{copy}.key' '{self.server.database}.key'", done.stdout)
        # The copy: whole, current, and nothing but it and its key (no temporary file left).
        self.assertEqual(sorted(os.listdir(self.copies)), ["monday.db", "monday.db.key"])
        self.assertEqual(os.stat(copy + ".key").st_mode & 0o777, 0o640)
        with open(copy + ".key", "rb") as f, open(self.server.database + ".key", "rb") as g:
            self.assertEqual(f.read(), g.read())
        with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as connection:
            self.assertEqual(connection.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertGreaterEqual(connection.execute("SELECT count(*) FROM usage_event").fetchone()[0],
                                    BULK_USAGE_ROWS - connection.execute("SELECT rolled_to FROM usage_rollup")
                                    .fetchone()[0])
            self.assertEqual(connection.execute("SELECT name FROM api_key").fetchall(), [("Busy client",)])
        verifies(self, copy, self.token, "Busy client")

    def test_a_backup_never_replaces_a_file(self):
        taken = os.path.join(self.copies, "taken.db")
        with open(taken, "w") as f:
            f.write("precious")
        done = run("--db", self.server.database, "backup", taken)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(f"{taken} exists", done.stderr)
        with open(taken) as f:
            self.assertEqual(f.read(), "precious")
        # Nor the key file beside it.
        key_taken = os.path.join(self.copies, "key-taken.db")
        with open(key_taken + ".key", "w") as f:
            f.write("precious")
        done = run("--db", self.server.database, "backup", key_taken)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(f"{key_taken}.key exists", done.stderr)
        self.assertFalse(os.path.exists(key_taken))
        self.assertEqual(glob.glob(os.path.join(self.copies, "*partial*")), [])

    def test_without_key_and_a_failed_backup(self):
        copy = os.path.join(self.copies, "keyless.db")
        done = run("--db", self.server.database, "backup", copy, "--without-key")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(os.path.exists(copy))
        self.assertFalse(os.path.exists(copy + ".key"))
        self.assertIn("--without-key", done.stdout)
        nowhere = os.path.join(self.copies, "no-such-folder", "copy.db")
        done = run("--db", self.server.database, "backup", nowhere)
        self.assertNotEqual(done.returncode, 0)
        self.assertFalse(os.path.exists(os.path.dirname(nowhere)))
        for bad in ([], ["a", "b"], ["--nonsense", "x"], [""]):
            with self.subTest(arguments=bad):
                done = run("--db", self.server.database, "backup", *bad)
                self.assertNotEqual(done.returncode, 0)
                self.assertIn("usage: keyward backup PATH", done.stderr)


class RestoreTest(unittest.TestCase):
    """The restore steps `keyward backup` prints bring the copy back, with its key."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="keyward-restore-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def test_the_printed_steps_restore_the_copy(self):
        database = os.path.join(self.folder, "keyward.db")
        init_database(database)
        kept = run("--db", database, "key", "create", "--name", "before the backup", "--role", "admin").stdout.strip()
        done = run("--db", database, "backup", os.path.join(self.folder, "copy.db"))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(run("--db", database, "key", "create", "--name", "after the backup").returncode, 0)
        # A lost key file and a stale write-ahead log: what a restore must not trip over.
        os.unlink(database + ".key")
        steps = [line.strip() for line in done.stdout.splitlines() if line.startswith(("  rm ", "  cp "))]
        self.assertEqual(len(steps), 3, done.stdout)
        for step in steps:
            subprocess.run(["sh", "-c", step], check=True)
        listed = run("--db", database, "key", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("before the backup", listed.stdout)
        self.assertNotIn("after the backup", listed.stdout)
        verifies(self, database, kept, "before the backup")


if __name__ == "__main__":
    unittest.main()
