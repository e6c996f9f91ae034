"""pgtest.py: a throwaway PostgreSQL for the Python tests (tests/pg/cluster.sh), talked to with psql.

    import pgtest
    reason = pgtest.missing()               # None, or a sentence: skip the test with it
    conninfo = pgtest.create_database("t")  # a new database holding keyward's schema
    rows = pgtest.query(conninfo, "SELECT name FROM workspace")   # [["Default"]]

One cluster per process, started at the first need (about 1.5 s) and stopped at exit (SIGTERM
included, unless the process handles it itself). Its template
database holds every migration of src/store/schema/postgresql/ in order; create_database() copies
it (CREATE DATABASE name TEMPLATE keyward_template, about 0.1 s), so each test can have a database of
its own. Conninfos are URIs naming the socket folder and port outright:
postgresql://postgres@/NAME?host=/tmp/kwpg.XXXXXX&port=NNNNN. Only the standard library and psql.
"""
import atexit
import glob
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CLUSTER_SH = os.path.join(HERE, "cluster.sh")
MIGRATIONS_FOLDER = os.path.join(ROOT, "src", "store", "schema", "postgresql")
TEMPLATE = "keyward_template"

# psql's messages in English whatever the machine's language, and no ~/.psqlrc, no PG* settings.
PSQL_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
PSQL_ENV.update(LC_ALL="C", LANG="C")
PSQL = ["psql", "--no-psqlrc", "--quiet", "--no-align", "--tuples-only", "--set", "ON_ERROR_STOP=1"]

NOTIFICATION = re.compile(r'^Asynchronous notification "([^"]*)" (?:with payload "(.*)" )?received from server '
                          r'process with PID [0-9]+\.$')


def migrations():
    """The PostgreSQL migration files, in order: [(number, path)]."""
    found = []
    for path in sorted(glob.glob(os.path.join(MIGRATIONS_FOLDER, "[0-9][0-9][0-9]_*.sql"))):
        found.append((int(os.path.basename(path)[:3]), path))
    return found


def missing():
    """None when a cluster can be started here; else a sentence naming what is missing."""
    if shutil.which("sh") is None:
        return "no sh"
    done = subprocess.run(["sh", CLUSTER_SH, "check"], capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stdout.strip() or done.stderr.strip())


def with_database(conninfo, name):
    """`conninfo` with its database (the URI's path) replaced by `name`."""
    parts = urllib.parse.urlsplit(conninfo)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(name)))


def psql(conninfo, sql=None, path=None, single_transaction=False, timeout=60):
    """Run `sql` (text) or the file at `path` with psql; returns its standard output (unaligned,
    tuples only: one line per row, columns split by "|"). Raises RuntimeError with psql's message
    when a statement fails (nothing after it runs; with single_transaction, nothing at all holds)."""
    command = PSQL + ["--dbname", conninfo]
    if single_transaction:
        command.append("--single-transaction")
    command += ["--file", path] if path else ["--file", "-"]
    done = subprocess.run(command, input=sql if path is None else None, capture_output=True, text=True,
                          env=PSQL_ENV, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def query(conninfo, sql):
    """The rows `sql` returns, as lists of strings (NULL as ""; use json for anything finer)."""
    return [line.split("|") for line in psql(conninfo, sql).splitlines()]


def value(conninfo, sql):
    """The one value `sql` returns, as a string."""
    rows = query(conninfo, sql)
    if len(rows) != 1 or len(rows[0]) != 1:
        raise RuntimeError(f"expected one value from {sql!r}, got {rows!r}")
    return rows[0][0]


class Cluster:
    """One cluster: start() runs cluster.sh start, stop() cluster.sh stop. A context manager too."""

    def __init__(self):
        self.folder = None
        self.conninfo = None

    def start(self):
        self.folder = tempfile.mkdtemp(prefix="keyward-pg-")
        done = subprocess.run(["sh", CLUSTER_SH, "start", self.folder], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"cannot start a PostgreSQL cluster: {done.stderr.strip()}")
        self.conninfo = done.stdout.strip()
        return self

    def stop(self):
        if self.folder is None:
            return
        subprocess.run(["sh", CLUSTER_SH, "stop", self.folder], capture_output=True, text=True, timeout=120)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
        self.conninfo = None

    def pause(self):
        """Stop the server, keeping its data, socket folder and port (an outage)."""
        subprocess.run(["sh", CLUSTER_SH, "pause", self.folder], check=True, capture_output=True, timeout=60)

    def resume(self):
        """Start the paused server again."""
        subprocess.run(["sh", CLUSTER_SH, "resume", self.folder], check=True, capture_output=True, timeout=60)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


_cluster = None


def cluster():
    """This process's cluster, started (and its template database made) at the first call, stopped at exit."""
    global _cluster
    if _cluster is None:
        started = Cluster().start()
        atexit.register(started.stop)
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:  # so that a terminated test stops it too
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            psql(started.conninfo, f'CREATE DATABASE "{TEMPLATE}"')
            template = with_database(started.conninfo, TEMPLATE)
            for _, path in migrations():
                psql(template, path=path, single_transaction=True)
        except Exception:
            started.stop()
            raise
        _cluster = started
    return _cluster


def create_database(name):
    """A new database `name` (letters, digits, _) holding keyward's schema at its latest version,
    as the template has it (seeded rows included); returns its conninfo."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"database name {name!r}: use lower-case letters, digits and _")
    base = cluster().conninfo
    psql(base, f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return with_database(base, name)


class Session:
    """One psql session kept open, for what needs a connection across statements: LISTEN, or an open
    transaction. run() sends SQL and returns its output lines; the notifications psql reports after
    each statement are collected in .notifications as (channel, payload) pairs, in arrival order."""

    def __init__(self, conninfo):
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(PSQL + ["--dbname", conninfo], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.errors, env=PSQL_ENV)
        self.notifications = []
        self.pending = b""
        self.turn = 0

    def run(self, sql, timeout=10):
        """Run `sql` (one or more statements); returns the lines it printed, notifications apart."""
        self.turn += 1
        marker = f"-- pgtest {self.turn} --"
        self.process.stdin.write(f"{sql}\n\\echo '{marker}'\n".encode())
        self.process.stdin.flush()
        lines = []
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                text = line.decode()
                if text == marker:
                    return lines
                found = NOTIFICATION.match(text)
                if found:
                    self.notifications.append((found.group(1), found.group(2) or ""))
                else:
                    lines.append(text)
            left = deadline - time.monotonic()
            ready = select.select([self.process.stdout], [], [], max(left, 0))[0] if left > 0 else []
            chunk = os.read(self.process.stdout.fileno(), 65536) if ready else b""
            if not chunk:
                self.close()
                self.errors.seek(0)
                reason = self.errors.read().decode().strip() or ("no answer in time" if not ready else "psql exited")
                raise RuntimeError(f"psql session failed on {sql!r}: {reason}")
            self.pending += chunk

    def wait_for_notification(self, channel, payload, timeout=5):
        """Poll until (channel, payload) has arrived; returns every notification received before it
        (and takes them all out of .notifications). Raises AssertionError if it does not come."""
        deadline = time.monotonic() + timeout
        while True:
            if (channel, payload) in self.notifications:
                at = self.notifications.index((channel, payload))
                before, self.notifications = self.notifications[:at], self.notifications[at + 1:]
                return before
            if time.monotonic() > deadline:
                raise AssertionError(f"no notification {channel} {payload!r} in {timeout} s "
                                     f"(received: {self.notifications!r})")
            self.run("SELECT 1;")
            time.sleep(0.02)

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.errors.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_tests(label):
    """Run the calling module's tests (python3 tests/pg/test_x.py) and end with the line
    tests/run-all.sh counts: "LABEL: N passed, M failed, K skipped". A test counts once however
    many of its subtests fail; a class whose setUpClass fails counts as one failed. Exits 1 when
    anything failed or nothing ran."""
    module = sys.modules["__main__"]
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(
        unittest.defaultTestLoader.loadTestsFromModule(module))
    failed = len({getattr(test, "test_case", test).id() for test, _ in result.failures + result.errors}) + \
        len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = max(result.testsRun - failed - skipped, 0)
    print(f"{label}: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(0 if failed == 0 and result.testsRun + skipped > 0 else 1)
