"""harness.py: start keyward behind a real lighttpd on a free loopback port, and talk to it.

Each test class gets its own data folder (database, server key, logs) and lighttpd instance, using
the sanitizer build (build/test/keyward). Nothing here is mocked: requests go over TCP to lighttpd,
which spawns keyward through mod_fastcgi with the configuration `make run` uses (www/run-lighttpd.sh).
keyward's stderr (its messages, and any sanitizer report) goes to keyward.log through lighttpd's
server.breakagelog; error_log() returns both logs, and each class fails if either holds a report.

Besides HTTP, the helpers read the SQLite file directly (read-only) so tests can check what was,
or was not, saved; run the same binary's command line against the same database; and parse pages
with html.parser so tests can look at attributes (value="", aria-describedby) rather than guess
with regular expressions.

The gatekeeper tests use LighttpdGatekeeper, ApacheGatekeeper and NginxGatekeeper: the same console,
plus keyward as the gatekeeper of a sample API (tests/http/backend.cgi, and a small HTTP service),
with the configurations www/ ships (www/run-lighttpd.sh with API_PREFIX, www/run-apache.sh,
www/run-nginx.sh; behind nginx, backend.cgi runs under fcgiwrap and the console is under /keyward/).
The minimal FastCGI client (fcgi_request) talks to a standalone `keyward serve` directly, in any role.

Every answer to a request for the JSON API (a path under /api/, after the console's base path) that
goes through request(), raw_request() or site_request() is kept in API_ANSWERS; run.py holds them all
to the OpenAPI document (src/api/openapi.json) at the end of the run (tests/api/check-answers.mjs).

Set KEYWARD_TEST_KEEP=1 to keep each class's data folder (its path is printed) for a post-mortem.

With KEYWARD_TEST_ENGINE=postgresql, each server (and StandaloneKeyward) gets a fresh PostgreSQL
database of its own from tests/pg/pgtest.py, with its server key (KEYWARD_KEY_FILE) in its data
folder; `database` is then the conninfo URI, and query(), execute() and connect() run the tests'
SQLite words on it through psql (see "PostgreSQL for the tests" below). Unset, everything is SQLite.
"""
import atexit
import html
import html.parser
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("KEYWARD_TEST_BIN", os.path.join(ROOT, "build", "test", "keyward"))
TEMPLATES = os.path.join(ROOT, "templates")

# What a sanitizer prints when it finds something; any of these in a log fails the class.
SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer", "UndefinedBehaviorSanitizer")

TOKEN_PATTERN = re.compile(r"^kw_key_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$")

# The engine the servers use: "sqlite" (a file in each data folder) or "postgresql" (a fresh database each).
ENGINE = os.environ.get("KEYWARD_TEST_ENGINE", "sqlite")
ON_POSTGRESQL = ENGINE == "postgresql"
SQLITE_ONLY = "the test looks at SQLite's own file (or its PRAGMAs), which a PostgreSQL database does not have"


# ---- PostgreSQL for the tests: the tests' SQLite words, run with psql -------------------------------
#
# The tests write SQL as an operator with the sqlite3 shell would. On PostgreSQL the same text runs
# after a few rewrites (pg_words): ? parameters become literals, the table user is quoted, SQLite's
# strftime('%s', 'now') and INSERT OR IGNORE get PostgreSQL's words, and a fault-injecting trigger
# (BEGIN SELECT RAISE(ABORT, 'text'); END) becomes a plpgsql one. Rows come back as tuples of the
# Python types sqlite3 gives: bigint and whole sums as int, NULL as None, bytea as bytes.

_KEY_FILES = {}  # conninfo -> the server key file its keyward processes read
_DATABASES = [0]
# A PostgreSQL database has no file for its server key to sit beside, and many tests run the command
# line on a server's database with the environment they were given. So one key serves every database
# this process makes: each server's copy is in its data folder (KEYWARD_KEY_FILE of its processes),
# and KEYWARD_KEY_FILE in this process's environment names the same key for everything else.
_PROCESS_KEY = None


def new_database(folder):
    """A fresh PostgreSQL database (unique name) whose server key, this process's key, is copied to
    `folder`/keyward.key; returns its conninfo."""
    global _PROCESS_KEY
    sys.path.insert(0, os.path.join(ROOT, "tests", "pg"))
    import pgtest
    reason = pgtest.missing()
    if reason:
        raise unittest.SkipTest(reason)
    _DATABASES[0] += 1
    conninfo = pgtest.create_database(f"http_{os.getpid()}_{_DATABASES[0]}")
    key_file = os.path.join(folder, "keyward.key")
    if _PROCESS_KEY is None:  # the first database's init makes the key
        key_folder = tempfile.mkdtemp(prefix="keyward-key-")
        atexit.register(shutil.rmtree, key_folder, True)
        done = subprocess.run([BIN, "--db", conninfo, "init"], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, KEYWARD_KEY_FILE=os.path.join(key_folder, "keyward.key")))
        if done.returncode != 0:
            raise RuntimeError("keyward init on PostgreSQL failed: " + done.stderr)
        _PROCESS_KEY = os.path.join(key_folder, "keyward.key")
        os.environ["KEYWARD_KEY_FILE"] = _PROCESS_KEY
    shutil.copyfile(_PROCESS_KEY, key_file)
    os.chmod(key_file, os.stat(_PROCESS_KEY).st_mode & 0o777)
    _KEY_FILES[conninfo] = key_file
    return conninfo


def database_env(database):
    """The environment a keyward process on `database` needs besides --db: its server key file when
    `database` is a PostgreSQL one made here; nothing for a SQLite file."""
    key_file = _KEY_FILES.get(database)
    return {"KEYWARD_DB": database, "KEYWARD_KEY_FILE": key_file} if key_file else {}


def is_postgresql(database):
    return isinstance(database, str) and database.startswith(("postgresql://", "postgres://"))


def _pg_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "'\\x" + bytes(value).hex() + "'::bytea"
    return "'" + str(value).replace("'", "''") + "'"


_PG_TRIGGER = re.compile(r"CREATE TRIGGER (\w+) BEFORE (\w+) ON (\w+) BEGIN SELECT RAISE\(ABORT, "
                         r"'([^']*)'\); END", re.S)
_PG_DROP_TRIGGER = re.compile(r"^\s*DROP TRIGGER (IF EXISTS )?(\w+)\s*$")


def pg_words(sql, params=()):
    """`sql` in SQLite's words (? parameters, bound to `params`) as PostgreSQL text with the values in it."""
    trigger = _PG_TRIGGER.fullmatch(sql.strip())
    if trigger:
        name, operation, table, message = trigger.groups()
        table = '"user"' if table == "user" else table
        return (f"CREATE OR REPLACE FUNCTION {name}_fault() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$BEGIN RAISE EXCEPTION '{message}'; END$$;\n"
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}_fault()")
    dropped = _PG_DROP_TRIGGER.match(sql)
    if dropped:  # PostgreSQL names a trigger's table; drop it from whichever table has it
        return (f"DO $$DECLARE r record; BEGIN FOR r IN SELECT tgrelid::regclass AS t FROM pg_trigger "
                f"WHERE tgname = '{dropped.group(2)}' LOOP EXECUTE format('DROP TRIGGER {dropped.group(2)} ON %s', "
                f"r.t); END LOOP; END$$")
    sql = sql.replace("strftime('%s', 'now')", "floor(extract(epoch FROM clock_timestamp()))::bigint")
    params = list(params)
    out = []
    # Outside string literals only: 'user.password' stays as it is.
    for index, part in enumerate(re.split(r"('(?:[^']|'')*')", sql)):
        if index % 2:
            out.append(part)
            continue
        part = re.sub(r'(?<![."\w])user(?![\w"])', '"user"', part)
        part = re.sub(r"\?", lambda _: _pg_literal(params.pop(0)), part)
        out.append(part)
    text = "".join(out)
    if re.match(r"\s*INSERT OR IGNORE INTO", text):
        text = re.sub(r"INSERT OR IGNORE INTO", "INSERT INTO", text, count=1)
        head, returning, tail = text.rpartition(" RETURNING ")
        text = f"{head} ON CONFLICT DO NOTHING RETURNING {tail}" if returning else text + " ON CONFLICT DO NOTHING"
    return text


def _pg_value(value):
    if isinstance(value, str) and value.startswith("\\x") and re.fullmatch(r"\\x(?:[0-9a-f]{2})*", value):
        return bytes.fromhex(value[2:])
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _psql(conninfo, text):
    import pgtest
    command = ["psql", "--no-psqlrc", "--no-align", "--tuples-only", "--set", "ON_ERROR_STOP=1",
               "--dbname", conninfo, "--file", "-"]
    done = subprocess.run(command, input=text, capture_output=True, text=True, env=pgtest.PSQL_ENV, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed on {text!r}: {done.stderr.strip()}")
    return done.stdout


def pg_query(conninfo, sql, params=()):
    """The rows `sql` (SQLite's words, see pg_words) returns on `conninfo`: a list of tuples."""
    text = pg_words(sql, params).strip().rstrip(";")
    output = _psql(conninfo, f"WITH t AS ({text}) SELECT json_agg(t) FROM t;\n").strip()
    if not output:
        return []
    rows = json.loads(output, object_pairs_hook=lambda pairs: tuple(_pg_value(v) for _, v in pairs))
    return list(rows or [])


def pg_execute(conninfo, sql, params=()):
    """Run one statement (SQLite's words) on `conninfo`; returns the rows it changed (0 when it says none)."""
    output = _psql(conninfo, pg_words(sql, params).strip().rstrip(";") + ";\n")
    found = re.findall(r"^(?:INSERT \d+|UPDATE|DELETE) (\d+)$", output, re.M)
    return int(found[-1]) if found else 0


class PgCursor:
    def __init__(self, rows, rowcount, lastrowid=None):
        self.rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)

    def __iter__(self):
        return iter(self.rows)


class PgConnection:
    """What the tests use of a sqlite3 connection, on a PostgreSQL database: each execute() stands
    alone (autocommit); a SELECT returns rows, an INSERT its new id as lastrowid, any change its rowcount."""

    def __init__(self, conninfo):
        self.conninfo = conninfo

    def execute(self, sql, params=()):
        if re.match(r"\s*(SELECT|WITH)\b", sql, re.I):
            rows = pg_query(self.conninfo, sql, params)
            return PgCursor(rows, -1)
        if re.match(r"\s*INSERT\b", sql, re.I) and "RETURNING" not in sql.upper():
            # signin_failure's key is the column named rowid (SQLite's hidden one, made real)
            key = "rowid" if re.match(r"\s*INSERT\s+INTO\s+signin_failure\b", sql, re.I) else "id"
            rows = pg_query(self.conninfo, sql.strip().rstrip(";") + f" RETURNING {key}", params)
            return PgCursor([], len(rows), rows[-1][0] if rows else None)
        return PgCursor([], pg_execute(self.conninfo, sql, params))

    def executemany(self, sql, rows):
        for params in rows:
            self.execute(sql, params)

    def commit(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def connect(database, readonly=False, timeout=10):
    """A connection to `database`: sqlite3's for a file (read-only when asked, the WAL read too),
    a PgConnection for a PostgreSQL conninfo."""
    if is_postgresql(database):
        return PgConnection(database)
    if readonly:
        return sqlite3.connect(f"file:{urllib.parse.quote(database)}?mode=ro", uri=True, timeout=timeout)
    return sqlite3.connect(database, timeout=timeout)


def database_query(database, sql, params=()):
    """Rows of a read-only query on `database` (a SQLite file, the WAL read too, or a PostgreSQL conninfo)."""
    if is_postgresql(database):
        return pg_query(database, sql, params)
    connection = connect(database, readonly=True)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, deadline_seconds=20):
    """True once something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.time() + deadline_seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def alive(pid):
    """True while process `pid` exists and is not a zombie; reaps it when it is our own child."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_for_exit(pids, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)


def sanitizer_report(text):
    """The first sanitizer marker found in `text`, or None."""
    for marker in SANITIZER_MARKERS:
        if marker in text:
            return marker
    return None


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body        # bytes
        self.text = body.decode("utf-8", "replace")
        self._document = None

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def headers_named(self, name):
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def doc(self):
        """The body parsed as HTML (a Document), made on first use."""
        if self._document is None:
            self._document = Document(self.text)
        return self._document

    def __repr__(self):
        return f"<Response {self.status} {self.text[:300]!r}>"


# ---- the JSON API's answers, for the check against the OpenAPI document ---------------------------

# Every answer of the JSON API this process received, as tests/api/check-answers.mjs reads them:
# {method, path (without the base path), status, content_type, headers, body}.
API_ANSWERS = []


def api_path(path, base_path=""):
    """`path` (str or bytes, with its query) as the JSON API sees it, when it is one of the API's
    (/api or under /api/, after `base_path`); else None. Below a base path, a path outside it is not
    keyward's at all (behind nginx, the site at / answers it)."""
    if isinstance(path, bytes):
        path = path.decode("latin-1")
    if base_path:
        if not path.startswith(base_path + "/"):
            return None
        path = path[len(base_path):]
    bare = re.split(r"[?#]", path, maxsplit=1)[0]
    return path if bare == "/api" or bare.startswith("/api/") else None


def record_api_answer(method, path, response, base_path=""):
    """Keep `response` (a Response, or an http.client response with its body given as `response.body`)
    to `method` `path` in API_ANSWERS when the path is the JSON API's (see api_path)."""
    path = api_path(path, base_path)
    if path is None:
        return
    if isinstance(method, bytes):
        method = method.decode("latin-1")
    headers = [[name, value] for name, value in response.headers]
    content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
    API_ANSWERS.append({"method": method, "path": path, "status": response.status, "content_type": content_type,
                        "headers": headers, "body": response.body.decode("utf-8", "replace")})


class Element:
    def __init__(self, tag, attrs, parent_select=None):
        self.tag = tag
        self.attrs = attrs          # dict, values unescaped; a bare attribute maps to ""
        self.text = ""              # all text inside the element, unescaped
        self.parent_select = parent_select  # for <option>: the name of its <select>

    def get(self, name, default=None):
        return self.attrs.get(name, default)

    def has(self, name):
        return name in self.attrs

    def __repr__(self):
        return f"<{self.tag} {self.attrs} text={self.text[:80]!r}>"


class Document(html.parser.HTMLParser):
    """A page as a flat list of elements in document order, with attributes and inner text."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self._open = []
        self._select = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: (v if v is not None else "") for k, v in attrs},
                          self._select if tag == "option" else None)
        self.elements.append(element)
        if tag == "select":
            self._select = element.get("name")
        if tag not in self.VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, {k: (v if v is not None else "") for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.text += data

    # ---- queries ----

    def find_all(self, tag=None, **attrs):
        """Elements with this tag (any when None) whose attributes equal the given ones (class_ for class)."""
        wanted = {k.rstrip("_"): v for k, v in attrs.items()}
        return [e for e in self.elements
                if (tag is None or e.tag == tag) and all(e.get(k) == v for k, v in wanted.items())]

    def by_id(self, element_id):
        found = self.find_all(id=element_id)
        return found[0] if found else None

    def values(self, name):
        """The value="" of every <input> named `name`, in order."""
        return [e.get("value", "") for e in self.find_all("input", name=name)]

    def value(self, name):
        values = self.values(name)
        return values[0] if values else None

    def checked(self, name):
        inputs = self.find_all("input", name=name)
        return bool(inputs) and inputs[0].has("checked")

    def selected(self, select_name):
        """The values of the selected <option>s of <select name=select_name>."""
        return [e.get("value") for e in self.elements
                if e.tag == "option" and e.parent_select == select_name and e.has("selected")]

    def options(self, select_name):
        return [(e.get("value"), e.text.strip()) for e in self.elements
                if e.tag == "option" and e.parent_select == select_name]

    def field_error_for(self, input_id):
        """The text of the error message that input `input_id` points at through aria-describedby, or None."""
        field = self.by_id(input_id)
        if field is None:
            return None
        for described_by in field.get("aria-describedby", "").split():
            target = self.by_id(described_by)
            if target is not None and "field-error" in target.get("class", "").split():
                return target.text.strip()
        return None

    def field_errors(self):
        """Every element with class field-error: {id: text}."""
        return {e.get("id"): e.text.strip() for e in self.elements
                if "field-error" in e.get("class", "").split()}


class Server:
    """A lighttpd + keyward pair with its own data folder."""

    def __init__(self):
        if not os.access(BIN, os.X_OK):
            raise RuntimeError(f"no keyward test binary at {BIN}: run `make build/test/keyward` first")
        self.folder = tempfile.mkdtemp(prefix="keyward-test-")
        self.conninfo = new_database(self.folder) if ON_POSTGRESQL else None
        self.port = free_port()
        self.cookies = {}
        self.start()

    def prepare(self):
        """Files a subclass needs in the data folder before the server starts; returns extra
        environment for the start script."""
        return {}

    def start(self):
        env = dict(os.environ, PORT=str(self.port), VARDIR=self.folder, BIN=BIN, DETACH="1")
        env.update(database_env(self.database))
        env.update(self.prepare())
        subprocess.run([os.path.join(ROOT, "www", "run-lighttpd.sh")], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        if not wait_for_port(self.port):
            raise RuntimeError("lighttpd did not start; see " + self.error_log_path())
        self.sign_in_owner()

    # The console wants a signed-in member: every Server has an owner, signed in at start. Tests
    # that look at signing in itself make their own users and clear the cookie jar.
    OWNER_EMAIL = "owner@example.com"
    OWNER_PASSWORD = "the owner's long password"

    def sign_in_owner(self):
        self.session = None
        self.csrf = None
        if not self.query("SELECT count(*) FROM user WHERE email_folded = ?", (self.OWNER_EMAIL,))[0][0]:
            done = subprocess.run([BIN, "--db", self.database, "user", "add", "--email", self.OWNER_EMAIL, "--owner"],
                                  input=self.OWNER_PASSWORD + "\n", capture_output=True, text=True, timeout=60,
                                  env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, **database_env(self.database)))
            if done.returncode != 0:
                raise RuntimeError("could not add the test owner: " + done.stderr)
        signed_in = self.request("POST", "/signin", [("email", self.OWNER_EMAIL), ("password", self.OWNER_PASSWORD)],
                                 csrf=False)
        if signed_in.status != 303 or "kw_session" not in self.cookies:
            raise RuntimeError(f"could not sign the test owner in: {signed_in.status} {signed_in.text[:300]}")
        self.refresh_csrf()

    def refresh_csrf(self):
        """Take the session now in the jar, and its CSRF token from the key list, for later posts."""
        self.session = self.cookies.get("kw_session")
        page = self.get("/w/1/keys")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        self.csrf = match.group(1) if match else None

    @property
    def database(self):
        """The SQLite file in the data folder, or the PostgreSQL conninfo (KEYWARD_TEST_ENGINE=postgresql)."""
        if getattr(self, "conninfo", None):
            return self.conninfo
        return os.path.join(self.folder, "keyward.db")

    def error_log_path(self):
        return os.path.join(self.folder, "lighttpd-error.log")

    def keyward_log_path(self):
        return os.path.join(self.folder, "keyward.log")

    def error_log(self):
        """lighttpd's error log followed by the spawned keyward processes' stderr."""
        text = ""
        for path in (self.error_log_path(), self.keyward_log_path()):
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def backend_pids(self):
        """The keyward processes lighttpd spawned (its children), by pid. Only keyward's: the
        gatekeeper tests' sample API is a CGI script, and lighttpd's child too while it runs."""
        pid = self.lighttpd_pid()
        if pid is None:
            return []
        listed = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        name = os.path.basename(BIN)[:15]  # comm is the program's name, cut to 15 characters
        return [int(fields[0]) for fields in (line.split(None, 1) for line in listed.splitlines())
                if len(fields) == 2 and fields[1].strip() == name]

    def lighttpd_pid(self):
        try:
            with open(os.path.join(self.folder, "lighttpd.pid")) as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def stop(self, grace=0.5):
        """Stop lighttpd, then give its keyward processes `grace` seconds to exit on their own.

        Those still running then are killed (SIGKILL, by pid) and listed in self.backends_killed, so
        that no test run leaves processes behind; test_modes checks that the list stays empty."""
        pid = self.lighttpd_pid()
        backends = self.backend_pids()
        self.backends_killed = []
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            wait_for_exit([pid], 5)
        deadline = time.time() + grace
        while time.time() < deadline and any(alive(b) for b in backends):
            time.sleep(0.05)
        for backend in backends:
            if alive(backend):
                self.backends_killed.append(backend)
                try:
                    os.kill(backend, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        wait_for_exit(backends, 5)
        time.sleep(0.2)  # let spawned keyward processes exit and print sanitizer reports

    def cleanup(self):
        if os.environ.get("KEYWARD_TEST_KEEP"):
            print(f"\nkept test data folder: {self.folder}")
            return
        shutil.rmtree(self.folder, ignore_errors=True)

    # ---- files and the database ----

    def data_files(self):
        """Every file in the data folder: {name: bytes} (database, -wal, -shm, server key, logs, config)."""
        files = {}
        for name in sorted(os.listdir(self.folder)):
            path = os.path.join(self.folder, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    files[name] = f.read()
        return files

    def query(self, sql, params=()):
        """Rows of a read-only query on the live database (the WAL is read too)."""
        if is_postgresql(self.database):
            return pg_query(self.database, sql, params)
        connection = sqlite3.connect(f"file:{urllib.parse.quote(self.database)}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def execute(self, sql, params=()):
        """Run one statement on the live database with a connection of its own, as an operator with
        the sqlite3 shell would (tests use it to break things on purpose: a trigger that raises)."""
        if is_postgresql(self.database):
            pg_execute(self.database, sql, params)
            return
        connection = sqlite3.connect(self.database, timeout=10)
        try:
            connection.execute(sql, params)
            connection.commit()
        finally:
            connection.close()

    def dump(self):
        """Everything a PostgreSQL database holds, as pg_dump writes it (bytes; data as COPY text)."""
        import pgtest
        return subprocess.run(["pg_dump", "--dbname", self.database], capture_output=True, check=True,
                              env=pgtest.PSQL_ENV, timeout=60).stdout

    def count(self, table, where="1", params=()):
        """Rows of `table` matching `where`; for usage_event, the decisions they count (sum of calls)."""
        what = "coalesce(sum(calls), 0)" if table == "usage_event" else "count(*)"
        if where == "1" and is_postgresql(self.database):
            where = "true"  # PostgreSQL's WHERE takes only a boolean
        return self.query(f"SELECT {what} FROM {table} WHERE {where}", params)[0][0]

    def key_row(self, key_id):
        """The api_key row of `key_id` as a dict, or None; last_used_at from api_key_last_used."""
        if is_postgresql(self.database):
            text = pg_words("SELECT k.*, u.at AS last_used_at FROM api_key k LEFT JOIN api_key_last_used u "
                            "ON u.api_key_id = k.id WHERE k.key_id = ?", (key_id,))
            output = _psql(self.database, f"SELECT row_to_json(t) FROM ({text}) t;\n").strip()
            return {k: _pg_value(v) for k, v in json.loads(output).items()} if output else None
        connection = sqlite3.connect(f"file:{urllib.parse.quote(self.database)}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            row = connection.execute("SELECT k.*, u.at AS last_used_at FROM api_key k "
                                     "LEFT JOIN api_key_last_used u ON u.api_key_id = k.id WHERE k.key_id = ?",
                                     (key_id,)).fetchone()
            return dict(row) if row else None
        finally:
            connection.close()

    def key_cidrs(self, key_id):
        return self.query("SELECT c.cidr, c.label FROM api_key_cidr c JOIN api_key k ON k.id = c.api_key_id "
                          "WHERE k.key_id = ? ORDER BY c.position", (key_id,))

    def row_counts(self):
        """How many rows each table holds: a snapshot to compare before and after a refused request."""
        return {table: self.count(table) for table in ("api_key", "api_key_cidr", "secret_reveal", "role")}

    # The tables a refused form must leave exactly as they were.
    SNAPSHOT_TABLES = ("workspace", "user", "membership", "invitation", "role", "api_key", "api_key_cidr",
                       "secret_reveal", "audit_event", "gate_state")

    def snapshot(self):
        """Every row of SNAPSHOT_TABLES, and of session without last_seen_at (which any request may
        move forward): compare before and after a refused request to see that nothing changed."""
        if is_postgresql(self.database):  # no rowid: the rows sorted, which compares the same
            rows = {table: sorted(self.query(f"SELECT * FROM {table}"), key=repr) for table in self.SNAPSHOT_TABLES}
        else:
            rows = {table: self.query(f"SELECT * FROM {table} ORDER BY rowid") for table in self.SNAPSHOT_TABLES}
        rows["session"] = self.query("SELECT id, token_hash, user_id, created_at, expires_at FROM session ORDER BY id")
        return rows

    # ---- the command line, on the same database ----

    def cli(self, *args, env=None, timeout=60, input=None):
        """Run build/test/keyward --db <this database> ARGS... with `input` (text) on standard input,
        or none; returns the CompletedProcess (text)."""
        full_env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, **database_env(self.database))
        full_env.update(env or {})
        return subprocess.run([BIN, "--db", self.database, *args], env=full_env, capture_output=True,
                              text=True, timeout=timeout, input=input,
                              stdin=subprocess.DEVNULL if input is None else None)

    # ---- HTTP ----

    def request(self, method, path, body=None, headers=None, cookies=True, raw_body=None, csrf=True, session=True):
        """One request. cookies=False sends only the owner's session cookie (session=False: not that
        either) besides any Cookie header given; csrf=True adds the session's CSRF token to a form body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = dict(headers or {})
        data = None
        if csrf and method == "POST" and getattr(self, "csrf", None) and isinstance(body, (list, dict)):
            pairs = list(body.items()) if isinstance(body, dict) else list(body)
            if not any(name == "csrf" for name, _ in pairs):
                body = pairs + [("csrf", self.csrf)]
        if body is not None:
            data = urllib.parse.urlencode(body, doseq=True).encode() if not isinstance(body, (bytes, str)) else body
            if isinstance(data, str):
                data = data.encode()
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if raw_body is not None:
            data = raw_body
            content_type = all_headers.get("Content-Type", "application/x-www-form-urlencoded")
            if csrf and method == "POST" and getattr(self, "csrf", None) and \
                    content_type.startswith("application/x-www-form-urlencoded") and b"csrf=" not in data:
                data = data + (b"&" if data else b"") + b"csrf=" + self.csrf.encode()
        jar = dict(self.cookies) if cookies else {}
        if not cookies and session and "kw_session" in self.cookies:
            jar["kw_session"] = self.cookies["kw_session"]
        if not session:
            jar.pop("kw_session", None)
        sent = [f"{k}={v}" for k, v in jar.items()]
        if "Cookie" in all_headers:
            sent.append(all_headers["Cookie"])
        if sent:
            all_headers["Cookie"] = "; ".join(sent)
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        result = Response(response.status, response.getheaders(), response.read())
        conn.close()
        record_api_answer(method, path, result, getattr(self, "base_path", ""))
        if cookies:
            for value in result.headers_named("Set-Cookie"):
                pair = value.split(";", 1)[0]
                name, _, cookie_value = pair.partition("=")
                if "Max-Age=0" in value or cookie_value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = cookie_value
        return result

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None else [], **kw)

    def follow(self, response):
        """GET the Location of a 303."""
        location = response.header("Location")
        assert response.status == 303 and location, (response.status, response.text[:500])
        return self.get(location)

    # ---- console helpers ----

    def roles(self):
        page = self.get("/w/1/keys/new").text
        return dict((html.unescape(label), value) for value, label in
                    re.findall(r'<option value="(\d+)"[^>]*>([^<·]+?)(?: · [^<]*)?</option>', page))

    def key_fields(self, name, role="admin", cidrs=(), postback_url="", off_record=False, enabled=True):
        """The form fields of a new or edited key, as a list of pairs."""
        fields = [("name", name), ("role", self.roles()[role]), ("postback_url", postback_url)]
        for cidr, label in cidrs:
            fields += [("cidr", cidr), ("cidr_label", label)]
        if off_record:
            fields.append(("off_record", "1"))
        if enabled:
            fields.append(("enabled", "1"))
        return fields

    def create_key(self, name, role="admin", cidrs=(), postback_url="", off_record=False, enabled=True):
        """Create a key through the form; returns (key_id, secret)."""
        fields = self.key_fields(name, role, cidrs, postback_url, off_record, enabled)
        created = self.post("/w/1/keys/new", fields)
        assert created.status == 303, (created.status, created.text[:2000])
        page = self.follow(created)
        assert page.status == 200, (page.status, page.text[:500])
        key_id = re.search(r"/w/1/keys/(key_[A-Za-z0-9]+)/secret", created.header("Location")).group(1)
        return key_id, secret_from(page.text)

    def create_workspace(self, name):
        """Make a workspace through the console as the signed-in owner; returns its id."""
        response = self.post("/workspaces", [("name", name)])
        assert response.status == 303, (response.status, response.text[:1000])
        return int(re.fullmatch(r"(?:/[^/]+)?/w/(\d+)/keys\?done=workspace-created", response.header("Location")).group(1))

    def create_key_cli(self, name, *args):
        """Create a key with `keyward key create`; returns the token it printed."""
        done = self.cli("key", "create", "--name", name, *args)
        assert done.returncode == 0, (done.returncode, done.stderr)
        return done.stdout.strip()

    def list_key_ids(self, query=""):
        """The key IDs listed on /keys?query, in page order."""
        page = self.get("/w/1/keys" + (("?" + query) if query else ""))
        assert page.status == 200, page
        return re.findall(r"<code>(key_[0-9A-Za-z]{16})</code>", page.text)


def secret_from(page_text):
    """The one-time secret of a secret page: the text of its field (a textarea, so that it wraps)."""
    match = re.search(r'<textarea id="secret"[^>]*>([^<]+)</textarea>', page_text)
    return html.unescape(match.group(1)) if match else None


class ServerTestCase(unittest.TestCase):
    """One lighttpd + keyward for the whole class; checks the error log for sanitizer reports at the end."""

    server = None
    server_class = None  # Server when None; the gatekeeper tests name theirs

    @classmethod
    def setUpClass(cls):
        cls.server = (cls.server_class or Server)()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        log = cls.server.error_log()
        cls.server.cleanup()
        if sanitizer_report(log):
            raise AssertionError(f"sanitizer report in the lighttpd error log or keyward's stderr:\n{log[-6000:]}")

    # ---- assertions shared by the test files ----

    def assertStatus(self, response, status):
        self.assertEqual(response.status, status,
                         f"expected {status}, got {response.status}: {response.text[:1500]}")

    def assertSecurityHeaders(self, response):
        csp = response.header("Content-Security-Policy")
        self.assertIsNotNone(csp, f"no Content-Security-Policy on {response.status} response")
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertIn("default-src 'none'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(response.header("X-Frame-Options"), "DENY")
        self.assertIsNotNone(response.header("Referrer-Policy"))
        self.assertEqual(response.header("X-Content-Type-Options"), "nosniff")

    def assertErrorPage(self, response, status, *phrases):
        """An HTML page rendered through templates/error.mustache with this status."""
        self.assertStatus(response, status)
        self.assertTrue((response.header("Content-Type") or "").startswith("text/html"), response.headers)
        self.assertIn(f"Error {status} ·", response.text)
        self.assertRegex(response.text, "Back to the (API keys|console)")
        self.assertIn("</html>", response.text)
        for phrase in phrases:
            self.assertIn(phrase, response.text)
        self.assertSecurityHeaders(response)


# ---- a minimal FastCGI client (FastCGI 1.0 spec: records of version, type, id, length, padding) ----

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 1, 3, 4, 5, 6, 7
FCGI_RESPONDER, FCGI_AUTHORIZER = 1, 2


def fcgi_record(record_type, request_id, content):
    padding = (-len(content)) % 8
    return struct.pack("!BBHHBx", 1, record_type, request_id, len(content), padding) + content + b"\0" * padding


def fcgi_length(length):
    return struct.pack("!B", length) if length < 128 else struct.pack("!I", length | 0x80000000)


def fcgi_params(params):
    """Name-value pairs, a dict or a list of pairs (a name may repeat, as nginx sends a repeated
    header); names and values may be str or bytes (bytes are sent as they are)."""
    out = b""
    for name, value in (params.items() if isinstance(params, dict) else params):
        name = name.encode() if isinstance(name, str) else name
        value = value.encode() if isinstance(value, str) else value
        out += fcgi_length(len(name)) + fcgi_length(len(value)) + name + value
    return out


def fcgi_connect(where):
    """A connection to 127.0.0.1:`where` (a port number) or to the unix socket at path `where`."""
    if isinstance(where, int):
        return socket.create_connection(("127.0.0.1", where), timeout=30)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(where)
    return sock


def fcgi_request(port, params, stdin=b"", request_id=1, role=FCGI_RESPONDER):
    """Send one request in `role` to a port on 127.0.0.1 or a unix socket path; returns (stdout bytes,
    stderr bytes, app status).

    An authorizer request gets no FCGI_STDIN records, as lighttpd and mod_authnz_fcgi send it."""
    with fcgi_connect(port) as sock:
        data = fcgi_record(FCGI_BEGIN_REQUEST, request_id, struct.pack("!HB5x", role, 0))
        encoded = fcgi_params(params)
        for start in range(0, len(encoded), 65535):
            data += fcgi_record(FCGI_PARAMS, request_id, encoded[start:start + 65535])
        data += fcgi_record(FCGI_PARAMS, request_id, b"")
        if role != FCGI_AUTHORIZER:
            for start in range(0, len(stdin), 65535):
                data += fcgi_record(FCGI_STDIN, request_id, stdin[start:start + 65535])
            data += fcgi_record(FCGI_STDIN, request_id, b"")
        sock.sendall(data)
        stdout, stderr, buffer = b"", b"", b""

        def read(count):
            nonlocal buffer
            while len(buffer) < count:
                chunk = sock.recv(65536)
                if not chunk:
                    raise AssertionError("FastCGI server closed the connection before FCGI_END_REQUEST")
                buffer += chunk
            taken, buffer = buffer[:count], buffer[count:]
            return taken

        while True:
            version, record_type, rid, length, padding = struct.unpack("!BBHHBx", read(8))
            content = read(length)
            read(padding)
            if version != 1 or rid != request_id:
                raise AssertionError(f"bad record: version {version}, id {rid}")
            if record_type == FCGI_STDOUT:
                stdout += content
            elif record_type == FCGI_STDERR:
                stderr += content
            elif record_type == FCGI_END_REQUEST:
                app_status, protocol_status = struct.unpack("!IB3x", content)
                if protocol_status != 0:
                    raise AssertionError(f"FastCGI protocol status {protocol_status}")
                return stdout, stderr, app_status


def fcgi_request_unix(path, params, stdin=b"", request_id=1, role=FCGI_RESPONDER):
    """fcgi_request() to the unix socket at `path`."""
    return fcgi_request(path, params, stdin, request_id, role)


def init_database(database, env=None):
    """`keyward --db DATABASE init`: only init makes a database (and its server key); every other
    command and server refuses a missing one. Returns the CompletedProcess; raises when it failed."""
    full_env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, **database_env(database))
    full_env.update(env or {})
    done = subprocess.run([BIN, "--db", database, "init"], env=full_env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"keyward init {database} failed: {done.stderr}")
    return done


def add_owner(database, email="owner@example.com", password="the owner's long password"):
    """Make `email` an owner of the first workspace of `database` (once)."""
    done = subprocess.run([BIN, "--db", database, "user", "add", "--email", email, "--owner"], input=password + "\n",
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, **database_env(database)))
    if done.returncode != 0 and "already a user" not in done.stderr:
        raise RuntimeError("could not add an owner: " + done.stderr)
    return email, password


def fastcgi_sign_in(port, database):
    """An owner signed in to the console that `keyward` serves over FastCGI on `port`:
    returns (Cookie header value, CSRF token)."""
    email, password = add_owner(database)
    body = urllib.parse.urlencode({"email": email, "password": password}).encode()
    stdout, _, _ = fcgi_request(port, {"REQUEST_METHOD": "POST", "REQUEST_URI": "/signin", "QUERY_STRING": "",
                                       "SCRIPT_NAME": "", "REMOTE_ADDR": "127.0.0.1",
                                       "CONTENT_TYPE": "application/x-www-form-urlencoded",
                                       "CONTENT_LENGTH": str(len(body))}, body)
    status, headers, _ = parse_cgi_output(stdout)
    cookie = header(headers, "Set-Cookie")
    if status != 303 or not cookie:
        raise RuntimeError(f"could not sign in over FastCGI: {status}")
    cookie = cookie.split(";", 1)[0]
    stdout, _, _ = fcgi_request(port, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/w/1/keys", "QUERY_STRING": "",
                                       "SCRIPT_NAME": "", "REMOTE_ADDR": "127.0.0.1", "HTTP_COOKIE": cookie})
    match = re.search(rb'name="csrf" value="([^"]+)"', stdout)
    return cookie, match.group(1).decode() if match else ""


def parse_cgi_output(output):
    """A CGI response (bytes) into (status, [(name, value)], body bytes)."""
    head, separator, body = output.partition(b"\r\n\r\n")
    if not separator:
        raise AssertionError(f"no header block in {output[:500]!r}")
    headers = []
    status = 200
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        value = value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        headers.append((name, value))
    return status, headers, body


def header(headers, name):
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


class StandaloneKeyward:
    """`keyward serve --listen 127.0.0.1:PORT` on its own database, its output in serve.log; with
    gatekeeper_threads, also `--gatekeeper 127.0.0.1:GATEKEEPER_PORT --gatekeeper-threads N`
    (`binary`: the sanitizer build unless told otherwise)."""

    def __init__(self, threads=2, env=None, gatekeeper_threads=None, binary=BIN):
        self.folder = tempfile.mkdtemp(prefix="keyward-serve-")
        self.database = new_database(self.folder) if ON_POSTGRESQL else os.path.join(self.folder, "keyward.db")
        self.port = free_port()
        self.gatekeeper_port = free_port() if gatekeeper_threads else None
        self.log_path = os.path.join(self.folder, "serve.log")
        self._log = open(self.log_path, "wb")
        full_env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, **database_env(self.database))
        full_env.pop("GATEWAY_INTERFACE", None)
        full_env.update(env or {})
        init_database(self.database, full_env)
        command = [binary, "--db", self.database, "serve", "--listen", f"127.0.0.1:{self.port}", "--threads", str(threads)]
        if gatekeeper_threads:
            command += ["--gatekeeper", f"127.0.0.1:{self.gatekeeper_port}", "--gatekeeper-threads",
                        str(gatekeeper_threads)]
        self.process = subprocess.Popen(command, env=full_env, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        if not all(wait_for_port(port) for port in (self.port, self.gatekeeper_port) if port):
            self.stop()
            raise RuntimeError("keyward serve did not start listening:\n" + self.log())

    def cli(self, *args):
        return subprocess.run([BIN, "--db", self.database, *args],
                              env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, **database_env(self.database)),
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s; returns the log (sanitizer reports included)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.log()

    def cleanup(self):
        if os.environ.get("KEYWARD_TEST_KEEP"):
            print(f"\nkept test data folder: {self.folder}")
            return
        shutil.rmtree(self.folder, ignore_errors=True)


# ---- the gatekeeper: keyward in front of a sample API, behind a real lighttpd or Apache ----------

API_PREFIX = "/protected/"
BACKEND_SCRIPT = os.path.join(ROOT, "tests", "http", "backend.cgi")
# The rules file the gatekeeper tests run with (KEYWARD_CONFIG).
GATEKEEPER_RULES = """# test rules: the admin part of the sample API needs a key that may create keys
require /protected/admin/ api.key.create
"""


def apache_binary():
    for name in ("apache2", "httpd"):
        found = shutil.which(name) or (f"/usr/sbin/{name}" if os.access(f"/usr/sbin/{name}", os.X_OK) else None)
        if found:
            return found
    return None


def apache_modules_folder():
    for folder in ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/lib/httpd/modules"):
        if os.path.exists(os.path.join(folder, "mod_authnz_fcgi.so")):
            return folder
    return None


class HttpApi:
    """A tiny HTTP service standing for an operator's API behind a reverse proxy: it answers 200 to
    anything and remembers each request (method, path, headers) in `requests`."""

    def __init__(self):
        self.requests = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                             "body": body})
                answer = json.dumps({"path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class GatekeeperServer(Server):
    """A web server with the console and keyward guarding API_PREFIX, whose handler is a copy of
    tests/http/backend.cgi in <folder>/api (it logs to <folder>/api/backend.log), except for
    API_PREFIX + "http/", which is reverse-proxied to an HttpApi. The rules are GATEKEEPER_RULES unless a
    subclass says otherwise in `rules`."""

    kind = None  # "lighttpd" or "apache"
    rules = GATEKEEPER_RULES

    def prepare_api(self):
        # Apache's workers run as www-data when the tests run as root: they must reach the script and its log.
        os.chmod(self.folder, 0o755)
        self.api_folder = os.path.join(self.folder, "api")
        os.mkdir(self.api_folder)
        os.chmod(self.api_folder, 0o755)
        self.backend_script = os.path.join(self.api_folder, "backend.cgi")
        shutil.copyfile(BACKEND_SCRIPT, self.backend_script)
        os.chmod(self.backend_script, 0o755)
        self.backend_log_path = os.path.join(self.api_folder, "backend.log")
        with open(self.backend_log_path, "w"):
            pass
        os.chmod(self.backend_log_path, 0o666)
        self.rules_path = os.path.join(self.folder, "rules")
        with open(self.rules_path, "w") as f:
            f.write(self.rules)
        self.http_api = HttpApi()

    def console_path(self, path):
        """`path` of the console (its JSON API included) as a client asks for it: under the
        console's base path where the server mounts it below one."""
        return path

    def backend_requests(self):
        """What backend.cgi logged: one dict per request it served."""
        with open(self.backend_log_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self, grace=0.5):
        super().stop(grace)
        self.http_api.stop()

    def raw_request(self, method, path, header_lines=(), body=None, source=None):
        """A request sent byte for byte as given: `path` and the (name, value) pairs of
        `header_lines` may be str or bytes (any bytes), repeated names are kept. `source`: the
        client's address, such as "127.0.0.7" (Linux loopback takes any of 127.0.0.0/8)."""
        def raw(text):
            return text if isinstance(text, bytes) else text.encode("latin-1")
        data = raw(method) + b" " + raw(path) + b" HTTP/1.1\r\n"
        data += f"Host: 127.0.0.1:{self.port}\r\nConnection: close\r\n".encode()
        for name, value in header_lines:
            data += raw(name) + b": " + raw(value) + b"\r\n"
        if body is not None:
            data += f"Content-Length: {len(body)}\r\n".encode()
        data += b"\r\n" + (body or b"")
        with socket.create_connection(("127.0.0.1", self.port), timeout=30,
                                      source_address=(source, 0) if source else None) as sock:
            sock.sendall(data)
            response = http.client.HTTPResponse(sock, method=raw(method).decode("latin-1"))
            response.begin()
            result = Response(response.status, response.getheaders(), response.read())
            response.close()
        record_api_answer(raw(method), raw(path), result, getattr(self, "base_path", ""))
        return result


class LighttpdGatekeeper(GatekeeperServer):
    """lighttpd from www/lighttpd.conf + www/lighttpd-gatekeeper.conf (run-lighttpd.sh, API_PREFIX)."""

    kind = "lighttpd"

    def prepare(self):
        self.prepare_api()
        api_conf = os.path.join(self.folder, "api.conf")
        with open(api_conf, "w") as f:
            f.write(f"""# the sample API behind the gatekeeper (what an operator would write)
server.modules += ( "mod_cgi", "mod_proxy" )
$HTTP["url"] =^ "{API_PREFIX}" {{
  alias.url  = ( "{API_PREFIX}" => "{self.backend_script}/" )
  cgi.assign = ( ".cgi" => "" )
}}
$HTTP["url"] =^ "{API_PREFIX}http/" {{
  alias.url    = ( )
  cgi.assign   = ( )
  proxy.server = ( "" => (( "host" => "127.0.0.1", "port" => {self.http_api.port} )) )
}}
""")
        return {"API_PREFIX": API_PREFIX, "API_RULES": self.rules_path, "API_CONF": api_conf}


class ApacheGatekeeper(GatekeeperServer):
    """Apache from www/apache.conf + www/apache-keyward.conf (run-apache.sh), with one `keyward serve`
    on two listeners: the gatekeeper's (mod_authnz_fcgi, and /api/) and the console's (mod_proxy_fcgi)."""

    kind = "apache"

    def prepare(self):
        self.prepare_api()
        modules = apache_modules_folder()
        api_conf = os.path.join(self.folder, "api.conf")
        with open(api_conf, "w") as f:
            f.write(f"""# the sample API behind the gatekeeper (what an operator would write)
LoadModule cgid_module "{modules}/mod_cgid.so"
LoadModule proxy_http_module "{modules}/mod_proxy_http.so"
ScriptAlias "{API_PREFIX}" "{self.backend_script}/"
<Directory "{self.api_folder}">
    Require all granted
</Directory>
<Location "{API_PREFIX}http/">
    ProxyPass "http://127.0.0.1:{self.http_api.port}/"
    RequestHeader set X-Keyward-Key-Id      "%{{KEYWARD_KEY_ID}}e"
    RequestHeader set X-Keyward-Key-Name    "%{{KEYWARD_KEY_NAME}}e"
    RequestHeader set X-Keyward-Role        "%{{KEYWARD_ROLE}}e"
    RequestHeader set X-Keyward-Permissions "%{{KEYWARD_PERMISSIONS}}e"
    RequestHeader set X-Keyward-Workspace-Id "%{{KEYWARD_WORKSPACE_ID}}e"
    RequestHeader set X-Keyward-Key-Secret  "%{{KEYWARD_KEY_SECRET}}e"
    RequestHeader unset Authorization
</Location>
""")
        return {"API_PREFIX": API_PREFIX, "API_RULES": self.rules_path, "API_CONF": api_conf}

    def start(self):
        if apache_binary() is None or apache_modules_folder() is None:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise unittest.SkipTest("Apache httpd 2.4 with mod_authnz_fcgi is not installed (Debian: apache2)")
        self.keyward_port = free_port()
        self.gatekeeper_port = free_port()
        env = dict(os.environ, PORT=str(self.port), KEYWARD_PORT=str(self.keyward_port),
                   KEYWARD_GATEKEEPER_PORT=str(self.gatekeeper_port), VARDIR=self.folder, BIN=BIN, THREADS="4",
                   GATEKEEPER_THREADS="4", DETACH="1")
        env.update(database_env(self.database))
        env.update(self.prepare())
        done = subprocess.run([os.path.join(ROOT, "www", "run-apache.sh")], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode != 0 or not wait_for_port(self.port):
            raise RuntimeError(f"Apache did not start: {done.stderr}\n{self.error_log()[-3000:]}")
        self.sign_in_owner()

    def error_log_path(self):
        return os.path.join(self.folder, "apache-error.log")

    def _pid(self, name):
        try:
            with open(os.path.join(self.folder, name)) as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def apache_pid(self):
        return self._pid("apache.pid")

    def backend_pids(self):
        """The standalone keyward process both Apache modules talk to."""
        pid = self._pid("keyward-serve.pid")
        return [pid] if pid is not None and alive(pid) else []

    def lighttpd_pid(self):
        return None

    def stop(self, grace=0.5):
        """Stop Apache, then keyward serve (SIGTERM: it writes its buffered usage and exits)."""
        self.backends_killed = []
        pid = self.apache_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            wait_for_exit([pid], 10)
        for backend in self.backend_pids():
            os.kill(backend, signal.SIGTERM)
            wait_for_exit([backend], 5)
            if alive(backend):
                self.backends_killed.append(backend)
                os.kill(backend, signal.SIGKILL)
                wait_for_exit([backend], 5)
        self.http_api.stop()
        time.sleep(0.2)


# ---- nginx: an existing site at /, the console under /keyward/, the gate for auth_request ---------

NGINX_BASE_PATH = "/keyward"


def nginx_binary():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    return found


def fcgiwrap_binary():
    return shutil.which("fcgiwrap") or ("/usr/sbin/fcgiwrap" if os.access("/usr/sbin/fcgiwrap", os.X_OK) else None)


def nginx_conf_folder():
    """nginx's own configuration folder (mime.types, fastcgi_params), from `nginx -V`."""
    done = subprocess.run([nginx_binary(), "-V"], capture_output=True, text=True)
    found = re.search(r"--conf-path=(\S+)", done.stderr)
    return os.path.dirname(found.group(1)) if found else "/etc/nginx"


class NginxMixin:
    """nginx from www/nginx.conf, www/nginx-keyward.conf and www/nginx-keyward-guard.conf
    (www/run-nginx.sh), with one `keyward serve` on two listeners: the console's, and the
    gatekeeper's (the gate, and the JSON API under /keyward/api/). An existing site (a page written
    at start, site_page) is served at /. Console paths are asked under /keyward unless they are
    already; raw_request() and site requests go as they are."""

    kind = "nginx"
    base_path = NGINX_BASE_PATH
    site_page = "<!doctype html>\n<title>The site before keyward</title>\n<h1>Hello from the existing site</h1>\n"
    public_url = ""

    def console_path(self, path):
        if path == self.base_path or path.startswith(self.base_path + "/"):
            return path
        return self.base_path + path

    def request(self, method, path, *args, **kw):
        return super().request(method, self.console_path(path), *args, **kw)

    def site_request(self, method, path, headers=None):
        """A request outside the console, as it is (the existing site, the gate's location)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        result = Response(response.status, response.getheaders(), response.read())
        conn.close()
        record_api_answer(method, path, result, self.base_path)
        return result

    def prepare(self):
        return {}

    def start(self):
        if nginx_binary() is None:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise unittest.SkipTest("nginx is not installed (Debian: nginx)")
        # nginx's workers run as www-data when the tests run as root: they must reach the site.
        os.chmod(self.folder, 0o755)
        self.site = os.path.join(self.folder, "site")
        os.mkdir(self.site)
        with open(os.path.join(self.site, "index.html"), "w") as f:
            f.write(self.site_page)
        self.keyward_port = free_port()
        self.gatekeeper_port = free_port()
        env = dict(os.environ, PORT=str(self.port), KEYWARD_PORT=str(self.keyward_port),
                   KEYWARD_GATEKEEPER_PORT=str(self.gatekeeper_port), VARDIR=self.folder, BIN=BIN, THREADS="4",
                   GATEKEEPER_THREADS="4", SITE=self.site, PUBLIC_URL=self.public_url, DETACH="1")
        env.update(database_env(self.database))
        env.update(self.prepare())
        done = subprocess.run([os.path.join(ROOT, "www", "run-nginx.sh")], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode != 0 or not wait_for_port(self.port):
            raise RuntimeError(f"nginx did not start: {done.stderr}\n{self.error_log()[-3000:]}")
        self.sign_in_owner()

    def error_log_path(self):
        return os.path.join(self.folder, "nginx-error.log")

    def _pid(self, name):
        try:
            with open(os.path.join(self.folder, name)) as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def nginx_pid(self):
        return self._pid("nginx.pid")

    def backend_pids(self):
        """The standalone keyward process behind nginx."""
        pid = self._pid("keyward-serve.pid")
        return [pid] if pid is not None and alive(pid) else []

    def lighttpd_pid(self):
        return None

    def stop_keyward(self):
        """SIGTERM to keyward serve (it writes its buffered usage and exits); SIGKILL after 5 s."""
        for backend in self.backend_pids():
            os.kill(backend, signal.SIGTERM)
            wait_for_exit([backend], 5)
            if alive(backend):
                self.backends_killed.append(backend)
                os.kill(backend, signal.SIGKILL)
                wait_for_exit([backend], 5)

    def start_keyward(self):
        """keyward serve again, as run-nginx.sh started it."""
        env = dict(os.environ, **database_env(self.database))
        env.update(KEYWARD_DB=self.database, KEYWARD_TEMPLATES=TEMPLATES, KEYWARD_BASE_PATH=self.base_path,
                   KEYWARD_CONFIG=getattr(self, "rules_path", ""), KEYWARD_PUBLIC_URL=self.public_url)
        with open(self.keyward_log_path(), "ab") as log:
            process = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{self.keyward_port}", "--threads", "4",
                                        "--gatekeeper", f"127.0.0.1:{self.gatekeeper_port}", "--gatekeeper-threads",
                                        "4"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        with open(os.path.join(self.folder, "keyward-serve.pid"), "w") as f:
            f.write(str(process.pid))
        self.keyward_process = process  # reaped by alive()
        if not (wait_for_port(self.keyward_port) and wait_for_port(self.gatekeeper_port)):
            raise RuntimeError("keyward serve did not start again: " + self.error_log()[-3000:])

    def stop(self, grace=0.5):
        """Stop nginx (SIGQUIT: it lets requests in hand finish), then keyward serve."""
        self.backends_killed = []
        pid = self.nginx_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGQUIT)
            except ProcessLookupError:
                pass
            wait_for_exit([pid], 10)
        self.stop_keyward()
        time.sleep(0.2)


class NginxServer(NginxMixin, Server):
    """The console behind nginx, under /keyward/, beside an existing site."""


class NginxGatekeeper(NginxMixin, GatekeeperServer):
    """NginxServer guarding API_PREFIX with auth_request: backend.cgi under fcgiwrap (the keyward_*
    variables as FastCGI parameters), API_PREFIX + "http/" proxied to an HttpApi (as X-Keyward-*
    headers)."""

    def prepare(self):
        if fcgiwrap_binary() is None:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise unittest.SkipTest("fcgiwrap is not installed (Debian: fcgiwrap): the sample API behind nginx needs it")
        self.prepare_api()
        fcgiwrap_port = free_port()
        self.fcgiwrap = subprocess.Popen([fcgiwrap_binary(), "-c", "2", "-s", f"tcp:127.0.0.1:{fcgiwrap_port}",
                                          "-p", self.backend_script], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        if not wait_for_port(fcgiwrap_port):
            raise RuntimeError("fcgiwrap did not start")
        api_conf = os.path.join(self.folder, "api.conf")
        with open(api_conf, "w") as f:
            f.write(f"""# the sample API behind the gatekeeper (what an operator would write), inside location {API_PREFIX}
fastcgi_pass 127.0.0.1:{fcgiwrap_port};
fastcgi_split_path_info ^({API_PREFIX[:-1]})(/.*)$;
fastcgi_param SCRIPT_FILENAME      {self.backend_script};
fastcgi_param PATH_INFO            $fastcgi_path_info;
fastcgi_param KEYWARD_KEY_ID       $keyward_key_id;
fastcgi_param KEYWARD_KEY_NAME     $keyward_key_name;
fastcgi_param KEYWARD_ROLE         $keyward_role;
fastcgi_param KEYWARD_PERMISSIONS  $keyward_permissions;
fastcgi_param KEYWARD_WORKSPACE_ID $keyward_workspace_id;
fastcgi_param KEYWARD_KEY_SECRET   $keyward_key_secret;
include {nginx_conf_folder()}/fastcgi_params;

location {API_PREFIX}http/ {{
    proxy_pass http://127.0.0.1:{self.http_api.port}/;
    proxy_set_header X-Keyward-Key-Id       $keyward_key_id;
    proxy_set_header X-Keyward-Key-Name     $keyward_key_name;
    proxy_set_header X-Keyward-Role         $keyward_role;
    proxy_set_header X-Keyward-Permissions  $keyward_permissions;
    proxy_set_header X-Keyward-Workspace-Id $keyward_workspace_id;
    proxy_set_header X-Keyward-Key-Secret   $keyward_key_secret;
    proxy_set_header Authorization "";
}}
""")
        return {"API_PREFIX": API_PREFIX, "API_RULES": self.rules_path, "API_CONF": api_conf}

    def stop(self, grace=0.5):
        super().stop(grace)
        fcgiwrap = getattr(self, "fcgiwrap", None)
        if fcgiwrap is not None and fcgiwrap.poll() is None:
            os.killpg(fcgiwrap.pid, signal.SIGTERM)
            try:
                fcgiwrap.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(fcgiwrap.pid, signal.SIGKILL)
                fcgiwrap.wait()
        self.http_api.stop()
