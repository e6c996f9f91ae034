"""test_migrate_to.py: `keyward migrate-to TARGET` moves one server's SQLite database to PostgreSQL.

A SQLite database is filled through a real lighttpd node (keys with networks and labels, roles,
disabled, revoked and off-the-record keys, a second workspace, users, an invitation, audit lines,
granted and refused usage, rolled up and not) and the command line; the node is stopped, the copy
made, and then every copied table is compared row for row (sqlite3 against psql), the sequences
are checked, and a node started on the PostgreSQL database answers the migrated keys as before,
shows the same usage, and signs the migrated owner in with their password. Refusals leave the
target as it was: a target that is not empty, a row PostgreSQL refuses halfway, a key file that is
not the database's, a --key-file holding another key, a source that is not SQLite, a target that is
not PostgreSQL, a source that does not exist. Ends with "pg-migrate-to: N passed, M failed, K
skipped"; skipped, with the reason, where PostgreSQL cannot be started here.
"""
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "http"))

import harness  # noqa: E402
import pgtest  # noqa: E402
from harness import API_PREFIX, BIN, LighttpdGatekeeper  # noqa: E402
from test_two_nodes import node_class  # noqa: E402

# The tables migrate-to must carry, each compared row for row; and those it must leave behind.
COPIED = ["workspace", "role", "api_key", "api_key_cidr", "api_key_last_used", "user", "membership", "invitation",
          "audit_event", "usage_event", "usage_anonymous_hourly", "usage_hourly", "usage_hourly_workspace",
          "usage_hourly_endpoint", "usage_hourly_address", "usage_daily_key", "usage_daily_endpoint",
          "usage_daily_address", "usage_key_address", "usage_new_address", "usage_refused_hourly", "usage_rollup",
          "server_key_check"]
LEFT_BEHIND = ["session", "signin_failure", "secret_reveal", "api_idempotency"]
# Raised in the source so that PostgreSQL's sequence must pass ids retention deleted.
USAGE_SEQUENCE = 500000


def keyward(database, *args, env=None, input=None):
    full_env = dict(os.environ, KEYWARD_TEMPLATES=harness.TEMPLATES)
    full_env.update(env or {})
    return subprocess.run([BIN, "--db", database, *args], capture_output=True, text=True, timeout=120, env=full_env,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)


def sqlite_rows(path, table):
    """(columns, sorted rows) of `table` in the SQLite file, blobs as PostgreSQL's \\x hex."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        cursor = db.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        rows = [tuple("\\x" + v.hex() if isinstance(v, bytes) else v for v in row) for row in cursor]
    return columns, sorted(rows, key=repr)


def pg_rows(conninfo, table, columns):
    """The same columns of `table` on PostgreSQL, sorted alike."""
    listed = ", ".join(f'"{c}"' for c in columns)
    text = pgtest.value(conninfo, f'SELECT coalesce(json_agg(json_build_array({listed})), \'[]\') FROM "{table}"')
    return sorted((tuple(row) for row in json.loads(text)), key=repr)


def pg_counts(conninfo):
    """Rows of every table keyward has (0 for one that does not exist), for 'nothing changed'."""
    counts = {}
    for table in COPIED + LEFT_BEHIND + ["gate_state"]:
        exists = pgtest.value(conninfo, f"SELECT to_regclass('\"{table}\"') IS NOT NULL") == "t"
        counts[table] = int(pgtest.value(conninfo, f'SELECT count(*) FROM "{table}"')) if exists else 0
    return counts


def usage_total(node, key_id):
    page = node.get(f"/w/1/keys/{key_id}/usage")
    found = re.search(r'<p class="big-number">([0-9,]+) <span>calls</span>', page.text)
    assert page.status == 200 and found, (page.status, page.text[:1000])
    return found.group(1)


class MigrateToTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = pgtest.missing()
        if reason:
            raise unittest.SkipTest(reason)
        harness.ON_POSTGRESQL = False  # the source is a SQLite file, whatever engine the HTTP suite uses
        cls.folder = tempfile.mkdtemp(prefix="keyward-migrate-")
        cls.databases = 0
        source = LighttpdGatekeeper()
        try:
            cls.fill(source)
            cls.usage_before = {key_id: usage_total(source, key_id) for key_id in (cls.admin_key, cls.office_key)}
        finally:
            source.stop()  # stop writes: the copy is of a database no server uses
        # The data folder holds the database and its key; keep both past the node's cleanup.
        cls.source = os.path.join(cls.folder, "keyward.db")
        shutil.copyfile(source.database, cls.source)
        shutil.copyfile(source.database + ".key", cls.source + ".key")
        os.chmod(cls.source + ".key", 0o640)
        source.cleanup()
        cls.env = {"KEYWARD_KEY_FILE": cls.source + ".key"}
        with sqlite3.connect(cls.source) as db:
            db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'usage_event'", (USAGE_SEQUENCE,))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    @classmethod
    def fill(cls, node):
        roles = node.post("/w/1/roles/new", [("name", "support"), ("description", "answers tickets"),
                                             ("permission", "api.key.view"), ("app_permissions", "tickets.read")])
        assert roles.status == 303, roles.text[:1000]
        cls.admin_key, cls.admin_token = node.create_key("admin key", cidrs=[("127.0.0.0/8", "loopback"),
                                                                             ("10.1.0.0/16", "office é")])
        cls.office_key, cls.office_token = node.create_key("office", role="support",
                                                           cidrs=[("192.0.2.0/24", "")], postback_url="https://x.example/p")
        cls.quiet_key, cls.quiet_token = node.create_key("quiet", off_record=True)
        disabled_key, _ = node.create_key("switched off", enabled=False)
        cls.revoked_key, cls.revoked_token = node.create_key("revoked one")
        assert node.post(f"/w/1/keys/{cls.revoked_key}/revoke").status == 303
        assert node.post(f"/w/1/keys/{cls.office_key}/edit", node.key_fields(
            "office (renamed)", "support", [("127.0.0.1/32", "here")], "https://x.example/p")).status in (200, 303)
        node.create_workspace("Second")
        for args, password in ((["user", "add", "--email", "dev@example.com", "--role", "developer"], "a developer's password"),
                               (["user", "add", "--email", "two@example.com", "--owner", "--workspace", "2"], "second owner's password"),
                               (["user", "add", "--email", "gone@example.com"], "a leaving user's password")):
            done = node.cli(*args, input=password + "\n")
            assert done.returncode == 0, done.stderr
        assert node.cli("user", "disable", "--email", "gone@example.com").returncode == 0
        assert node.cli("key", "create", "--name", "second's", "--workspace", "2", "--cidr", "203.0.113.0/24=lab").returncode == 0
        invited = node.post("/w/1/members/invite", [("email", "invited@example.com"), ("role", "viewer")])
        assert invited.status in (200, 303), invited.text[:1000]
        for token, count in ((cls.admin_token, 5), (cls.office_token, 3), (cls.quiet_token, 4), (cls.revoked_token, 2),
                             ("kw_key_AAAAAAAAAAAAAAAA_" + "A" * 49, 2)):
            for i in range(count):
                node.raw_request("GET", f"{API_PREFIX}http/v1/items/{i % 2}", [("Authorization", f"Bearer {token}")])
        node.raw_request("GET", f"{API_PREFIX}http/none")
        cls.wait_for_usage(node, 10)  # admin 5, office 3, revoked 2 (off the record and unknown: elsewhere)
        assert node.cli("usage", "rollup").returncode == 0
        for _ in range(3):  # raw rows past the rollup's watermark too
            node.raw_request("GET", f"{API_PREFIX}http/late", [("Authorization", f"Bearer {cls.admin_token}")])
        cls.wait_for_usage(node, 13)
        node.execute("INSERT INTO usage_new_address (workspace_id, api_key_id, client_address, at) "
                     "SELECT workspace_id, id, '198.51.100.9', created_at FROM api_key WHERE key_id = ?", (cls.admin_key,))

    @staticmethod
    def wait_for_usage(node, calls):
        deadline = time.monotonic() + 20
        while node.query("SELECT coalesce(sum(calls), 0) FROM usage_event WHERE api_key_id IS NOT NULL")[0][0] < calls:
            assert time.monotonic() < deadline, "the node did not write its usage"
            time.sleep(0.2)

    def new_target(self):
        type(self).databases += 1
        return pgtest.create_database(f"migrate_{os.getpid()}_{self.databases}")

    def migrate(self, target, *args, env=None, database=None):
        return keyward(database or self.source, "migrate-to", target, *args, env=dict(self.env, **(env or {})))

    def assertEmptyTarget(self, target):
        counts = pg_counts(target)
        self.assertEqual({t: n for t, n in counts.items() if n and t not in ("workspace", "role", "usage_rollup",
                                                                             "server_key_check", "gate_state")}, {})
        self.assertEqual(pgtest.query(target, "SELECT id, name FROM workspace"), [["1", "Default"]])
        self.assertEqual(pgtest.query(target, "SELECT name FROM role ORDER BY id"), [["admin"], ["read-only"]])
        self.assertEqual(pgtest.value(target, "SELECT rolled_to FROM usage_rollup"), "0")

    def test_the_copy_holds_every_row_and_serves_as_before(self):
        target = self.new_target()
        key_file = os.path.join(self.folder, "pg.key")
        done = self.migrate(target, "--key-file", key_file)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn(self.admin_token, done.stdout + done.stderr)
        # The counts, as printed: every table, both sides, equal.
        printed = {line.split()[0]: line.split()[1:3] for line in done.stdout.splitlines()
                   if line.split() and line.split()[0] in COPIED}
        self.assertEqual(sorted(printed), sorted(COPIED))
        self.assertTrue(all(a == b for a, b in printed.values()), done.stdout)
        self.assertIn("every count matches", done.stdout)
        self.assertIn(f"install -o keyward -g keyward -m 0640 {self.source}.key {key_file}", done.stdout)
        # Row for row, every column of every copied table.
        for table in COPIED:
            with self.subTest(table=table):
                columns, rows = sqlite_rows(self.source, table)
                self.assertTrue(rows or table in ("usage_new_address",), f"the source's {table} is empty: a weak test")
                self.assertEqual(pg_rows(target, table, columns), rows)
        for table in LEFT_BEHIND:
            self.assertEqual(pgtest.value(target, f'SELECT count(*) FROM "{table}"'), "0", table)
        # Sequences past the ids copied; usage_event's past SQLite's own sequence.
        for table in ("workspace", "role", "api_key", "api_key_cidr", "user", "invitation", "audit_event"):
            highest = pgtest.value(target, f'SELECT max(id) FROM "{table}"')
            last = pgtest.value(target, f"SELECT last_value FROM pg_sequences WHERE sequencename = "
                                f"(SELECT split_part(pg_get_serial_sequence('\"{table}\"', 'id'), '.', 2))")
            self.assertEqual(last.strip('"'), highest, table)
        self.assertEqual(pgtest.value(target, "SELECT last_value FROM pg_sequences WHERE sequencename = "
                                              "'usage_event_id_seq'"), str(USAGE_SEQUENCE))
        # The key file: the source's bytes, 0640.
        with open(key_file, "rb") as copied, open(self.source + ".key", "rb") as original:
            self.assertEqual(copied.read(), original.read())
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o640)
        # The source is untouched, and a second copy into the same target is refused.
        again = self.migrate(target, "--key-file", key_file)
        self.assertEqual(again.returncode, 1)
        self.assertIn("is not empty", again.stderr)
        # A node on PostgreSQL with that key: the keys answer as they did, usage is the same, the owner
        # signs in with the password they had (sign_in_owner), and new rows take new ids.
        saved = os.environ.get("KEYWARD_KEY_FILE")
        os.environ["KEYWARD_KEY_FILE"] = key_file  # what the node's own command line (add_owner) reads
        try:
            node = node_class(target, key_file)()
        finally:
            if saved is None:
                os.environ.pop("KEYWARD_KEY_FILE", None)
            else:
                os.environ["KEYWARD_KEY_FILE"] = saved
        try:
            gate = lambda token: node.raw_request("GET", f"{API_PREFIX}http/ping",  # noqa: E731
                                                  [("Authorization", f"Bearer {token}")]).status
            self.assertEqual(gate(self.admin_token), 200)
            self.assertIn(gate(self.revoked_token), (401, 403))
            self.assertIn(gate("kw_key_AAAAAAAAAAAAAAAA_" + "B" * 49), (401, 403))
            for key_id, total in self.usage_before.items():
                self.assertEqual(usage_total(node, key_id), total, key_id)
            new_key, new_token = node.create_key("made on PostgreSQL")
            self.assertEqual(gate(new_token), 200)
            self.assertIn(new_key, node.list_key_ids())
        finally:
            log = node.error_log()
            node.stop()
            node.cleanup()
        self.assertNotIn("runtime error:", log)

    def test_a_target_that_is_not_empty_is_refused_and_unchanged(self):
        target = self.new_target()
        other_key = os.path.join(self.folder, "other.key")
        self.assertEqual(keyward(target, "init", env={"KEYWARD_KEY_FILE": other_key}).returncode, 0)
        self.assertEqual(keyward(target, "key", "create", "--name", "already here",
                                 env={"KEYWARD_KEY_FILE": other_key}).returncode, 0)
        before = pg_counts(target)
        done = self.migrate(target)
        self.assertEqual(done.returncode, 1)
        self.assertIn("is not empty: it holds rows of api_key (1)", done.stderr)
        self.assertIn("nothing was changed", done.stderr)
        self.assertEqual(pg_counts(target), before)

    def test_a_target_made_by_init_with_another_key_takes_the_copy(self):
        """An empty database that init gave a key of its own (its check value) is still empty."""
        target = self.new_target()
        self.assertEqual(keyward(target, "init", env={"KEYWARD_KEY_FILE": os.path.join(self.folder, "x.key")}).returncode, 0)
        done = self.migrate(target)
        self.assertEqual(done.returncode, 0, done.stderr)
        columns, rows = sqlite_rows(self.source, "server_key_check")
        self.assertEqual(pg_rows(target, "server_key_check", columns), rows)

    def test_a_row_refused_halfway_leaves_the_target_empty(self):
        target = self.new_target()
        pgtest.psql(target, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                            "RAISE EXCEPTION 'refused by the test'; END $$; "
                            "CREATE TRIGGER refuse BEFORE INSERT ON usage_hourly FOR EACH ROW EXECUTE FUNCTION refuse();")
        done = self.migrate(target)
        self.assertEqual(done.returncode, 1)
        self.assertIn("refused by the test", done.stderr)
        self.assertIn("nothing was kept there", done.stderr)
        self.assertEmptyTarget(target)

    def test_a_key_file_that_is_not_the_databases_is_refused(self):
        target = self.new_target()
        wrong = os.path.join(self.folder, "wrong.key")
        with open(wrong, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(wrong, 0o640)
        done = self.migrate(target, env={"KEYWARD_KEY_FILE": wrong})
        self.assertEqual(done.returncode, 1)
        self.assertIn("does not match", done.stderr)
        self.assertEmptyTarget(target)

    def test_a_key_destination_holding_another_key_is_refused(self):
        target = self.new_target()
        taken = os.path.join(self.folder, "taken.key")
        with open(taken, "wb") as f:
            f.write(b"\x01" * 32)
        done = self.migrate(target, "--key-file", taken)
        self.assertEqual(done.returncode, 1)
        self.assertIn("never replaces a key file", done.stderr)
        with open(taken, "rb") as f:
            self.assertEqual(f.read(), b"\x01" * 32)
        self.assertEmptyTarget(target)
        # The same key there already is fine, and said.
        same = os.path.join(self.folder, "same.key")
        shutil.copyfile(self.source + ".key", same)
        done = self.migrate(target, "--key-file", same)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(f"{same} holds it already", done.stdout)

    def test_the_source_must_be_sqlite_and_the_target_postgresql(self):
        target = self.new_target()
        pg_source_key = {"KEYWARD_KEY_FILE": os.path.join(self.folder, "pg-source.key")}
        self.assertEqual(keyward(target, "init", env=pg_source_key).returncode, 0)
        done = keyward(target, "migrate-to", self.new_target(), env=pg_source_key)
        self.assertEqual(done.returncode, 1)
        self.assertIn("migrate-to copies an SQLite file into PostgreSQL", done.stderr)
        done = self.migrate(os.path.join(self.folder, "copy.db"))
        self.assertEqual(done.returncode, 2)
        self.assertIn("TARGET must be a PostgreSQL database", done.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.folder, "copy.db")))
        done = keyward(self.source, "migrate-to")
        self.assertEqual(done.returncode, 2)
        self.assertIn("TARGET is needed", done.stderr)
        done = self.migrate("postgresql://x@/" + "y" * 1100)
        self.assertEqual(done.returncode, 2)
        self.assertIn("too long", done.stderr)

    def test_a_missing_source_is_refused(self):
        target = self.new_target()
        missing = os.path.join(self.folder, "nowhere.db")
        done = keyward(missing, "migrate-to", target, env={"KEYWARD_KEY_FILE": self.source + ".key"})
        self.assertEqual(done.returncode, 1)
        self.assertIn("no database at", done.stderr)
        self.assertFalse(os.path.exists(missing))
        self.assertEmptyTarget(target)

    def test_help_and_the_manual_name_it(self):
        done = subprocess.run([BIN, "--help"], capture_output=True, text=True)
        self.assertIn("migrate-to", done.stdout)
        done = subprocess.run([BIN, "help", "migrate-to"], capture_output=True, text=True)
        self.assertIn("--key-file PATH", done.stdout)
        with open(os.path.join(HERE, "..", "..", "src", "keyward.8"), encoding="utf-8") as f:
            self.assertIn("migrate-to", f.read())


if __name__ == "__main__":
    pgtest.run_tests("pg-migrate-to")
