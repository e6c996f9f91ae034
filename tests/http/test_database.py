"""test_database.py: the database and its server key, with the real binary on real SQLite files.

- Only `init` creates a database or a server key: every other command, and every way of serving
  (CGI, `serve`, FastCGI spawned by lighttpd), refuses a missing database with a sentence that names
  it and creates nothing (a mistyped --db used to make a new empty database and exit 0).
- The server key belongs to its database: a missing or replaced key file is refused, naming both
  files, while the database holds keys or users (it used to answer every key with invalid_key).
- A damaged database says so: the console's "Database damaged" page, a 503 from the gatekeeper,
  "database damaged: run PRAGMA integrity_check on PATH" in the log and from the command line.
- Migrations are history: src/store/schema/SHA256SUMS holds every migration's hash; databases
  stranded by the old edits of 003 and 007, built here from the committed files, upgrade with their
  data; an up-to-date database starts while another connection holds the write lock.
"""
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import (BIN, FCGI_AUTHORIZER, ROOT, TEMPLATES, LighttpdGatekeeper, fcgi_request, free_port,
                     init_database, parse_cgi_output, sanitizer_report, wait_for_exit, wait_for_port)

SCHEMA = os.path.join(ROOT, "src", "store", "schema")
MIGRATIONS = sorted(glob.glob(os.path.join(SCHEMA, "[0-9][0-9][0-9]_*.sql")))


def run(*args, env=None, stdin="", timeout=60):
    """build/test/keyward ARGS... with the templates set; returns the CompletedProcess (text)."""
    full_env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES)
    full_env.pop("GATEWAY_INTERFACE", None)
    full_env.update(env or {})
    return subprocess.run([BIN, *args], env=full_env, input=stdin, capture_output=True, text=True, timeout=timeout)


# What each command needs to get past its own arguments (checked before any database is opened),
# so that what is tested here is the database and the key; a command missing here fails commands().
NEEDS = {
    "serve": ["--listen", "127.0.0.1:9"],
    "backup": ["/nonexistent-folder/copy.db"],
    "migrate-to": ["postgresql://127.0.0.1:9/nowhere"],
    "key create": ["--name", "A key"],
    "key roll": ["--key-id", "key_AAAAAAAAAAAAAAAA"],
    "key show": ["--key-id", "key_AAAAAAAAAAAAAAAA"],
    "key edit": ["--key-id", "key_AAAAAAAAAAAAAAAA", "--name", "A key"],
    "key disable": ["--key-id", "key_AAAAAAAAAAAAAAAA"],
    "key enable": ["--key-id", "key_AAAAAAAAAAAAAAAA"],
    "key revoke": ["--key-id", "key_AAAAAAAAAAAAAAAA"],
    "user add": ["--email", "someone@example.com"],
    "user disable": ["--email", "someone@example.com"],
    "user enable": ["--email", "someone@example.com"],
    "user remove": ["--email", "someone@example.com"],
    "user reset-password": ["--email", "someone@example.com"],
    "user unlock": ["--email", "someone@example.com"],
    "workspace create": ["--name", "A workspace", "--owner", "someone@example.com"],
}


def commands():
    """Every command `keyward --help` lists, as word lists ("key create" -> ["key", "create"]), each
    followed by the arguments it needs (NEEDS)."""
    text = run("--help").stdout
    section = text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    found = []
    for line in section.splitlines():
        match = re.match(r"^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)(?=\s|$)", line)
        if match:
            name = match.group(1)
            needed = run("help", *name.split()).stdout.splitlines()[0]
            if re.search(r" --[a-z-]+ [A-Z]| [A-Z]+(?: |$)", needed.replace("[--", "[")) and name not in NEEDS:
                raise AssertionError(f"add what `keyward {name}` needs to NEEDS: {needed}")
            found.append(name.split() + NEEDS.get(name, []))
    return found


def listing(folder):
    """Every file and folder below `folder`, relative, sorted."""
    names = []
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            names.append(os.path.relpath(os.path.join(parent, name), folder))
    return sorted(names)


def no_database_sentence(path):
    return f'no database at {path}: run "keyward --db {path} init" to create one (is the path right?)'


def cgi(database, uri="/signin"):
    """One CGI request to the binary on `database`; returns the CompletedProcess (bytes)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
           "REQUEST_URI": uri, "QUERY_STRING": "", "SCRIPT_NAME": "", "SERVER_PROTOCOL": "HTTP/1.1",
           "REMOTE_ADDR": "127.0.0.1", "KEYWARD_DB": database, "KEYWARD_TEMPLATES": TEMPLATES}
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return subprocess.run([BIN], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)


class Folder(unittest.TestCase):
    """A test with a scratch folder of its own (self.folder), removed afterwards."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="keyward-database-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def assertClean(self, done):
        stderr = done.stderr if isinstance(done.stderr, str) else done.stderr.decode("utf-8", "replace")
        self.assertIsNone(sanitizer_report(stderr), stderr[-4000:])


class MissingDatabaseTest(Folder):
    """A mistyped --db creates nothing, whatever the command."""

    def test_every_command_but_init_refuses_a_missing_database(self):
        listed = commands()
        self.assertIn(["init"], listed)
        self.assertIn(["backup", *NEEDS["backup"]], listed)
        self.assertIn(["key", "create", *NEEDS["key create"]], listed)
        existing = os.path.join(self.folder, "keyward.db")
        init_database(existing)
        before = listing(self.folder)
        for typo in (os.path.join(self.folder, "keyward.bd"), os.path.join(self.folder, "no-such-folder", "k.db")):
            for words in listed:
                if words == ["init"]:
                    continue
                with self.subTest(command=" ".join(words), database=typo):
                    done = run("--db", typo, *words, stdin="a long enough password\n")
                    self.assertNotEqual(done.returncode, 0, done.stderr)
                    self.assertIn(no_database_sentence(typo), done.stderr)
                    self.assertClean(done)
                    self.assertEqual(listing(self.folder), before)
            # KEYWARD_DB as well as --db
            done = run("key", "list", env={"KEYWARD_DB": typo})
            self.assertNotEqual(done.returncode, 0)
            self.assertIn(no_database_sentence(typo), done.stderr)
            self.assertEqual(listing(self.folder), before)

    def test_an_empty_file_is_no_database(self):
        database = os.path.join(self.folder, "keyward.db")
        open(database, "w").close()
        done = run("--db", database, "key", "list")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(no_database_sentence(database), done.stderr)
        self.assertEqual(os.path.getsize(database), 0)
        self.assertEqual(listing(self.folder), ["keyward.db"])

    def test_cgi_on_a_missing_database_answers_503_and_logs_why(self):
        database = os.path.join(self.folder, "keyward.db")
        done = cgi(database)
        self.assertEqual(done.returncode, 1)
        status, _, body = parse_cgi_output(done.stdout)
        self.assertEqual(status, 503)
        self.assertIn(b"error log", body)
        self.assertIn(no_database_sentence(database), done.stderr.decode())
        self.assertClean(done)
        self.assertEqual(listing(self.folder), [])

    def test_serve_on_a_missing_database_stops_with_the_sentence(self):
        database = os.path.join(self.folder, "keyward.db")
        done = run("--db", database, "serve", "--listen", f"127.0.0.1:{free_port()}", timeout=30)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(no_database_sentence(database), done.stderr)
        self.assertEqual(listing(self.folder), [])

    def test_init_creates_the_folder_the_database_and_the_key(self):
        database = os.path.join(self.folder, "sub", "keyward.db")
        done = run("--db", database, "init")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(listing(self.folder), ["sub", "sub/keyward.db", "sub/keyward.db.key"])
        self.assertEqual(os.stat(database + ".key").st_mode & 0o777, 0o640)
        with sqlite3.connect(database) as connection:
            check = connection.execute("SELECT check_value FROM server_key_check").fetchall()
        self.assertEqual(len(check), 1)
        with open(database + ".key", "rb") as f:
            self.assertNotIn(f.read(), check[0][0])  # a value derived from the key, not the key


class ServerKeyTest(Folder):
    """The key file is held against the check value its database keeps."""

    def setUp(self):
        super().setUp()
        self.database = os.path.join(self.folder, "keyward.db")
        self.key_file = self.database + ".key"
        init_database(self.database)
        done = run("--db", self.database, "key", "create", "--name", "made with the first key")
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(self.key_file, "rb") as f:
            self.key = f.read()

    def assertRefusedNamingBoth(self, done, *phrases):
        self.assertNotEqual(done.returncode, 0, done.stdout)
        self.assertIn(f"server key {self.key_file}", done.stderr)
        self.assertIn(f"database {self.database}", done.stderr)
        for phrase in phrases:
            self.assertIn(phrase, done.stderr)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)  # one sentence
        self.assertClean(done)

    def every_start(self):
        """Each command and way of starting, with what it needs to get past its own arguments."""
        for words in commands():
            yield words

    def test_a_missing_key_file_is_refused_by_every_command_and_nothing_is_made(self):
        os.unlink(self.key_file)
        before = listing(self.folder)
        for words in self.every_start():
            with self.subTest(command=" ".join(words)):
                done = run("--db", self.database, *words, stdin="a long enough password\n", timeout=30)
                self.assertRefusedNamingBoth(done, "is missing")
                self.assertEqual(listing(self.folder), before)
        done = cgi(self.database)
        self.assertEqual(parse_cgi_output(done.stdout)[0], 503)
        self.assertIn(f"server key {self.key_file} is missing", done.stderr.decode())
        self.assertEqual(listing(self.folder), before)

    def test_a_replaced_key_file_is_refused(self):
        with open(self.key_file, "wb") as f:
            f.write(os.urandom(32))
        before = listing(self.folder)
        for words in self.every_start():
            with self.subTest(command=" ".join(words)):
                done = run("--db", self.database, *words, stdin="a long enough password\n", timeout=30)
                self.assertRefusedNamingBoth(done, "does not match")
        self.assertEqual(listing(self.folder), before)
        with open(self.key_file, "wb") as f:  # the right key back: all is well again
            f.write(self.key)
        done = run("--db", self.database, "key", "list")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("made with the first key", done.stdout)

    def test_users_count_as_much_as_keys(self):
        database = os.path.join(self.folder, "people.db")
        init_database(database)
        done = run("--db", database, "user", "add", "--email", "a@example.com", stdin="a long enough password\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        os.unlink(database + ".key")
        done = run("--db", database, "init")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("is missing", done.stderr)
        self.assertFalse(os.path.exists(database + ".key"))

    def test_init_gives_an_empty_database_a_new_key(self):
        database = os.path.join(self.folder, "empty.db")
        init_database(database)
        os.unlink(database + ".key")
        done = run("--db", database, "key", "list")  # only init makes one
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("init", done.stderr)
        self.assertFalse(os.path.exists(database + ".key"))
        done = run("--db", database, "init")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(os.path.getsize(database + ".key"), 32)
        done = run("--db", database, "key", "create", "--name", "new")
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_a_database_from_before_the_check_trusts_its_first_key(self):
        with sqlite3.connect(self.database) as connection:
            connection.execute("DELETE FROM server_key_check")
        done = run("--db", self.database, "key", "list")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("trust on first use", done.stderr)
        with open(self.key_file, "wb") as f:
            f.write(os.urandom(32))
        self.assertRefusedNamingBoth(run("--db", self.database, "key", "list"), "does not match")


def stop_lighttpd(server):
    """Stop the lighttpd of `server` and the keyward processes it spawned."""
    pid = server.lighttpd_pid()
    backends = server.backend_pids()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        wait_for_exit([pid], 10)
    wait_for_exit(backends, 10)


def start_lighttpd(server):
    """lighttpd again on the configuration www/run-lighttpd.sh wrote, without the script (whose
    `init` would make a missing database)."""
    subprocess.run(["lighttpd", "-f", os.path.join(server.folder, "lighttpd.conf")], check=True)
    if not wait_for_port(server.port):
        raise AssertionError("lighttpd did not start again: " + server.error_log()[-3000:])


def damage_page(path, page):
    """Overwrite page `page` (1-based) of the SQLite file at `path` with bytes no page starts with."""
    with sqlite3.connect(path) as connection:
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xa5" * size)


def root_page_of_index_on(path, table, column):
    """The root page of the index of `table` whose only column is `column`."""
    connection = sqlite3.connect(path)
    try:
        for name, root in connection.execute("SELECT name, rootpage FROM sqlite_master WHERE type = 'index' AND "
                                             "tbl_name = ?", (table,)):
            columns = [row[2] for row in connection.execute(f"PRAGMA index_info('{name}')")]
            if columns == [column]:
                return root
    finally:
        connection.close()
    raise AssertionError(f"no index on {table}({column})")


class ServingTest(unittest.TestCase):
    """lighttpd (www/lighttpd.conf with the gatekeeper) on a database that goes missing, or is damaged."""

    def setUp(self):
        self.server = LighttpdGatekeeper()
        self.token = self.server.create_key_cli("Checked", "--role", "admin")

    def tearDown(self):
        self.server.stop()
        log = self.server.error_log()
        self.server.cleanup()
        self.assertIsNone(sanitizer_report(log), log[-4000:])

    def test_a_missing_database_answers_503_and_the_log_says_why(self):
        stop_lighttpd(self.server)
        for name in os.listdir(self.server.folder):
            if name.startswith("keyward.db"):
                os.rename(os.path.join(self.server.folder, name), os.path.join(self.server.folder, "moved-" + name))
        start_lighttpd(self.server)
        # lighttpd answers 503 while its keyward processes cannot start (500 at the odd moment it is
        # respawning one); never does a request reach the console or the API.
        backend_before = len(self.server.backend_requests())
        answers = {"console": [], "gatekeeper": []}
        deadline = time.time() + 10
        while time.time() < deadline and not all(a[-1:] == [503] for a in answers.values()):
            answers["console"].append(self.server.get("/w/1/keys").status)
            answers["gatekeeper"].append(self.server.raw_request(
                "GET", "/protected/x", [("Authorization", "Bearer " + self.token)]).status)
            time.sleep(0.2)
        for name, statuses in answers.items():
            self.assertEqual(statuses[-1], 503, (name, statuses))
            self.assertLessEqual(set(statuses), {500, 503}, (name, statuses))
        self.assertEqual(len(self.server.backend_requests()), backend_before)
        deadline = time.time() + 10
        while no_database_sentence(self.server.database) not in self.server.error_log() and time.time() < deadline:
            time.sleep(0.1)
        self.assertIn(no_database_sentence(self.server.database), self.server.error_log())
        self.assertFalse(os.path.exists(self.server.database))

    def test_a_damaged_database_says_so(self):
        database = self.server.database
        stop_lighttpd(self.server)
        with sqlite3.connect(database) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # The pages the console's key list and the gatekeeper's lookup read, and no start does: the
        # index of active keys by workspace and id, and the one of secret hashes.
        damage_page(database, root_page_of_index_on(database, "api_key", "secret_hash"))
        with sqlite3.connect(database) as connection:
            list_index = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'api_key_live'").fetchone()
        damage_page(database, list_index[0])
        start_lighttpd(self.server)

        page = self.server.get("/w/1/keys")
        self.assertEqual(page.status, 500, page.text[:1000])
        self.assertIn("Database damaged", page.text)
        self.assertIn("PRAGMA integrity_check", page.text)
        self.assertNotIn(database, page.text)  # the file's path is for the log, not the page

        gate = self.server.raw_request("GET", "/protected/x", [("Authorization", "Bearer " + self.token)])
        self.assertEqual(gate.status, 503, gate.text[:500])
        self.assertEqual(gate.header("Content-Type"), "application/json")
        self.assertEqual(json.loads(gate.text)["code"], "unavailable")
        self.assertNotIn("busy", gate.text)  # retrying will not help: the answer does not say it would
        self.assertIn("repairs it", json.loads(gate.text)["message"])

        advice = f"database damaged: run PRAGMA integrity_check on {database}"
        log = self.server.error_log()
        self.assertGreaterEqual(log.count(advice), 2, log[-3000:])  # the console's and the gatekeeper's

        done = run("--db", database, "key", "list")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(advice, done.stderr)
        with sqlite3.connect(database) as connection:  # what the operator is told to run finds it
            try:
                verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as error:
                verdict = str(error)
            self.assertNotEqual(verdict, "ok")


class MigrationHistoryTest(Folder):
    """Migrations are history: never edited once landed; the databases the old edits stranded upgrade."""

    def test_every_migration_matches_the_committed_list(self):
        listed = {}
        with open(os.path.join(SCHEMA, "SHA256SUMS")) as f:
            for line in f:
                digest, name = line.split()
                listed[name] = digest
        for path in MIGRATIONS:
            name = os.path.basename(path)
            with self.subTest(migration=name):
                self.assertIn(name, listed, f"{name} is not in src/store/schema/SHA256SUMS: add its line "
                                            f"(sha256sum {name} >> SHA256SUMS)")
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                self.assertEqual(digest, listed[name],
                                 f"{name} changed after it landed: databases made with it will never see the change; "
                                 "restore it and add a new migration instead")
        self.assertEqual(sorted(listed), [os.path.basename(p) for p in MIGRATIONS],
                         "SHA256SUMS lists a migration that is not there")
        self.assertEqual([int(os.path.basename(p)[:3]) for p in MIGRATIONS], list(range(1, len(MIGRATIONS) + 1)))

    def migration_text(self, number):
        with open(MIGRATIONS[number - 1]) as f:
            return f.read()

    def donor_key(self):
        """A key made by this keyward for a scratch database: (token, its secret hash, the server key)."""
        donor = os.path.join(self.folder, "donor.db")
        init_database(donor)
        done = run("--db", donor, "key", "create", "--name", "donor", "--role", "admin")
        self.assertEqual(done.returncode, 0, done.stderr)
        token = done.stdout.strip()
        with sqlite3.connect(donor) as connection:
            secret_hash, hint = connection.execute("SELECT secret_hash, secret_hint FROM api_key").fetchone()
        with open(donor + ".key", "rb") as f:
            return token, secret_hash, hint, f.read()

    def stranded(self, name, last, edit=lambda number, text: text):
        """A database built from the committed migrations 1..last, each through `edit`, with the
        donor's key in it and its server key file beside it: (path, token)."""
        path = os.path.join(self.folder, name)
        connection = sqlite3.connect(path)
        for number in range(1, last + 1):
            connection.executescript(edit(number, self.migration_text(number)))
        token, secret_hash, hint, server_key = self.donor_key()
        connection.execute("INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, secret_hint, "
                           "role_id, created_at, updated_at) VALUES (1, ?, 'Old key', 'old key', ?, ?, "
                           "(SELECT id FROM role WHERE workspace_id = 1 AND name = 'admin'), 1000, 1000)",
                           ("key_" + token.split("_")[2], secret_hash, hint))
        connection.commit()
        connection.close()
        with open(path + ".key", "wb") as f:
            f.write(server_key)
        os.chmod(path + ".key", 0o600)
        return path, token

    def assertCurrent(self, path):
        with sqlite3.connect(path) as connection:
            self.assertEqual(connection.execute("PRAGMA user_version").fetchone()[0], len(MIGRATIONS))
            self.assertEqual(connection.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(connection.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                                                "'api_key_last_used_at'").fetchone()[0], 0)
            self.assertEqual(connection.execute("SELECT count(*) FROM server_key_check").fetchone()[0], 1)

    def assertVerifies(self, path, token):
        """`keyward serve` on `path` grants `token` as an authorizer."""
        port = free_port()
        env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES)
        env.pop("GATEWAY_INTERFACE", None)
        log_path = os.path.join(self.folder, "serve.log")
        with open(log_path, "wb") as log:
            process = subprocess.Popen([BIN, "--db", path, "serve", "--listen", f"127.0.0.1:{port}", "--threads", "1"],
                                       env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            if not wait_for_port(port):
                with open(log_path, encoding="utf-8", errors="replace") as f:
                    self.fail("keyward serve did not start: " + f.read())
            stdout, _, _ = fcgi_request(port, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/v1/x", "QUERY_STRING": "",
                                               "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + token},
                                        role=FCGI_AUTHORIZER)
            status, headers, _ = parse_cgi_output(stdout)
            self.assertEqual(status, 200, stdout)
            self.assertEqual(dict(headers)["Variable-KEYWARD_KEY_NAME"], "Old key")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
        with open(log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        self.assertIsNone(sanitizer_report(log), log[-4000:])

    def test_a_database_made_before_the_003_edit_upgrades(self):
        def without_calls(number, text):
            if number != 3:
                return text
            self.assertIn("ALTER TABLE usage_event ADD COLUMN calls", text)
            return "\n".join(line for line in text.splitlines() if "ADD COLUMN calls" not in line)
        path, token = self.stranded("before-003-edit.db", 3, without_calls)
        with sqlite3.connect(path) as connection:
            self.assertEqual(connection.execute("PRAGMA user_version").fetchone()[0], 3)
            self.assertEqual(connection.execute("SELECT count(*) FROM pragma_table_info('usage_event') "
                                                "WHERE name = 'calls'").fetchone()[0], 0)
            connection.executemany("INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, "
                                   "outcome) VALUES (1, 1, ?, '/v1/old', '192.0.2.1', 'granted')",
                                   [(1000 + i,) for i in range(25)])
        done = run("--db", path, "init")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("trust on first use", done.stderr)
        self.assertCurrent(path)
        with sqlite3.connect(path) as connection:
            self.assertEqual(connection.execute("SELECT count(*), sum(calls), min(endpoint) FROM usage_event").fetchone(),
                             (25, 25, "/v1/old"))
            self.assertEqual(connection.execute("SELECT name FROM api_key").fetchall(), [("Old key",)])
        self.assertVerifies(path, token)

    def test_a_database_made_before_the_007_edit_loses_the_extra_index(self):
        def with_index(number, text):
            if number != 7:
                return text
            return text.replace("PRAGMA user_version = 7;",
                                "CREATE INDEX api_key_last_used_at ON api_key_last_used (at);\nPRAGMA user_version = 7;")
        path, token = self.stranded("before-007-edit.db", 7, with_index)
        with sqlite3.connect(path) as connection:
            self.assertEqual(connection.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                                                "'api_key_last_used_at'").fetchone()[0], 1)
            connection.execute("INSERT INTO api_key_last_used (api_key_id, at) VALUES (1, 5000)")
        done = run("--db", path, "key", "list")  # any start migrates, not only init
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Old key", done.stdout)
        self.assertCurrent(path)
        with sqlite3.connect(path) as connection:
            self.assertEqual(connection.execute("SELECT at FROM api_key_last_used").fetchall(), [(5000,)])
        self.assertVerifies(path, token)

    def test_an_up_to_date_database_starts_while_another_holds_the_write_lock(self):
        database = os.path.join(self.folder, "keyward.db")
        init_database(database)
        writer = sqlite3.connect(database, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE gate_state SET generation = generation + 1")
        try:
            for words in (["key", "list"], ["user", "list"], ["init"]):
                with self.subTest(command=" ".join(words)):
                    began = time.monotonic()
                    done = run("--db", database, *words, timeout=30)
                    self.assertEqual(done.returncode, 0, done.stderr)
                    self.assertLess(time.monotonic() - began, 4, "it waited for the lock (busy timeout: 5 s)")
            # The control: when a migration is due, the start does take the lock, and says so.
            writer.execute("ROLLBACK")
            writer.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("UPDATE gate_state SET generation = generation + 1")
            done = run("--db", database, "key", "list", timeout=30)
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("cannot lock the database to migrate it", done.stderr)
        finally:
            writer.execute("ROLLBACK")
            writer.close()


if __name__ == "__main__":
    unittest.main()
