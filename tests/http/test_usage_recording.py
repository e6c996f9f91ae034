"""test_usage_recording.py: the FastCGI authorizer's answers and its usage recording, across processes.

These tests talk FastCGI themselves (a small client below, FCGI_AUTHORIZER role, as lighttpd's
"mode" => "authorizer" and Apache's mod_authnz_fcgi do) to standalone `keyward serve` processes on
loopback ports, all writing one database, so that they can signal each process on purpose:

  * SIGTERM: keyward stops accepting, finishes, and writes every buffered event before it exits;
    two processes recording at once lose nothing to "database is locked".
  * SIGKILL: what was buffered since the last batch is lost (at most one batch, USAGE_BATCH events or
    one second's worth, whichever comes first); everything written before stays, and the database
    stays sound. The test prints how many were lost; it does not assert an exact number.

Real-server gate tests (lighttpd and Apache in front) live in test_gate_*.py.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from harness import ON_POSTGRESQL, database_env, database_query, new_database, BIN, TEMPLATES, fastcgi_sign_in, free_port, init_database, sanitizer_report, wait_for_port

# ---- a FastCGI client (FastCGI 1.0: 8-byte record headers, name-value pairs, roles) -------------

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER, AUTHORIZER = 1, 2


def _record(kind, content, request_id=1):
    padding = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), padding, 0) + content + bytes(padding)


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | (1 << 31))


def _pairs(params):
    encoded = b""
    for name, value in params.items():
        name = name.encode("latin-1") if isinstance(name, str) else name
        value = value.encode("latin-1") if isinstance(value, str) else value
        encoded += _length(len(name)) + _length(len(value)) + name + value
    return encoded


def _read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("keyward closed the connection before FCGI_END_REQUEST")
        data += chunk
    return data


def fastcgi(port, params, role=AUTHORIZER, stdin=b""):
    """One request over a fresh connection. Returns (status, {lower-case header: [values]}, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        out = _record(BEGIN_REQUEST, struct.pack(">HB5x", role, 0))
        encoded = _pairs(params)
        for start in range(0, len(encoded), 32768):
            out += _record(PARAMS, encoded[start:start + 32768])
        out += _record(PARAMS, b"")
        for start in range(0, len(stdin), 32768):
            out += _record(STDIN, stdin[start:start + 32768])
        out += _record(STDIN, b"")
        sock.sendall(out)
        stdout = b""
        while True:
            _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", _read_exactly(sock, 8))
            content = _read_exactly(sock, length + padding)[:length]
            if kind == STDOUT:
                stdout += content
            elif kind == END_REQUEST:
                break
    head, _, body = stdout.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    status = int(headers.get("status", ["200"])[0].split()[0])
    return status, headers, body


def authorize(port, uri, key=None, remote_addr="127.0.0.1", authorization=None, api_key=None):
    """Ask the authorizer about a request for `uri`; `key` goes in as "Authorization: Bearer <key>"."""
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": uri, "QUERY_STRING": uri.partition("?")[2],
              "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1"}
    if remote_addr is not None:
        params["REMOTE_ADDR"] = remote_addr
    if key is not None:
        params["HTTP_AUTHORIZATION"] = b"Bearer " + (key.encode("latin-1") if isinstance(key, str) else key)
    if authorization is not None:
        params["HTTP_AUTHORIZATION"] = authorization
    if api_key is not None:
        params["HTTP_X_API_KEY"] = api_key
    return fastcgi(port, params)


# ---- keyward processes on one database ---------------------------------------------------------

class Keyward:
    """A folder with one database, keys made with the command line, and `keyward serve` processes on it."""

    def __init__(self, rules=None):
        self.folder = tempfile.mkdtemp(prefix="keyward-usage-")
        self.database = new_database(self.folder) if ON_POSTGRESQL else os.path.join(self.folder, "keyward.db")
        self.env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, **database_env(self.database))
        self.env.pop("GATEWAY_INTERFACE", None)
        init_database(self.database, self.env)  # before the rules: one test's rules file is malformed
        if rules is not None:
            path = os.path.join(self.folder, "rules.conf")
            with open(path, "w") as f:
                f.write(rules)
            self.env["KEYWARD_CONFIG"] = path
        self.processes = []  # (Popen, port, log path)

    def create_key(self, name, *args):
        done = subprocess.run([BIN, "--db", self.database, "key", "create", "--name", name, *args], env=self.env,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        assert not sanitizer_report(done.stderr), done.stderr
        return done.stdout.strip()

    def serve(self, threads=4):
        """Start one more `keyward serve`; returns its port."""
        port = free_port()
        log_path = os.path.join(self.folder, f"serve-{port}.log")
        with open(log_path, "wb") as log:
            process = subprocess.Popen([BIN, "--db", self.database, "serve", "--listen", f"127.0.0.1:{port}",
                                        "--threads", str(threads)], env=self.env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((process, port, log_path))
        if not wait_for_port(port):
            raise RuntimeError("keyward serve did not start: " + self.log())
        return port

    def process_on(self, port):
        return [p for p, p_port, _ in self.processes if p_port == port][0]

    def stop(self, port, sig=signal.SIGTERM, timeout=15):
        """Signal the process on `port` and wait for it; returns its exit status."""
        process = self.process_on(port)
        process.send_signal(sig)
        return process.wait(timeout=timeout)

    def log(self):
        text = ""
        for _, port, path in self.processes:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text += f"--- serve on {port} ---\n" + f.read()
            except FileNotFoundError:
                pass
        return text

    def close(self):
        for process, _, _ in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        if os.environ.get("KEYWARD_TEST_KEEP"):
            print(f"\nkept test data folder: {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)

    def query(self, sql, params=()):
        return database_query(self.database, sql, params)

    def scalar(self, sql, params=()):
        return self.query(sql, params)[0][0]

    def key_row(self, token):
        key_id = "key_" + token.split("_")[2]
        return self.query("SELECT k.id, u.at FROM api_key k LEFT JOIN api_key_last_used u ON u.api_key_id = k.id "
                          "WHERE k.key_id = ?", (key_id,))[0]

    def revoke(self, port, token):
        """Revoke through the console, over FastCGI (responder role) to the running server."""
        key_id = "key_" + token.split("_")[2]
        cookie, csrf = fastcgi_sign_in(port, self.database)
        body = f"csrf={csrf}".encode()
        status, _, body = fastcgi(port, {"REQUEST_METHOD": "POST", "REQUEST_URI": f"/w/1/keys/{key_id}/revoke",
                                         "QUERY_STRING": "", "SCRIPT_NAME": "", "REMOTE_ADDR": "127.0.0.1",
                                         "CONTENT_TYPE": "application/x-www-form-urlencoded", "HTTP_COOKIE": cookie,
                                         "CONTENT_LENGTH": str(len(body))}, role=RESPONDER, stdin=body)
        assert status == 303, (status, body[:500])


class KeywardTestCase(unittest.TestCase):
    """Each test gets its own database and processes; their logs must be free of sanitizer reports."""

    rules = None

    def setUp(self):
        self.keyward = Keyward(self.rules)

    def tearDown(self):
        self.keyward.close()

    def assertCleanLog(self):
        log = self.keyward.log()
        self.assertIsNone(sanitizer_report(log), log[-6000:])
        self.assertNotIn("could not be written at shutdown", log)
        self.assertNotIn("were not recorded", log)


# ---- the authorizer's answers --------------------------------------------------------------------

class AuthorizerAnswersTest(KeywardTestCase):
    rules = "# the protected backend's rules\nrequire /admin api.key.delete\nrequire /admin/public-notes api.key.view\n"

    def setUp(self):
        super().setUp()
        k = self.keyward
        self.admin = k.create_key("Backend admin", "--role", "admin")
        self.reader = k.create_key("Backend reader", "--role", "read-only")
        self.office = k.create_key("Office", "--role", "admin", "--cidr", "10.0.0.0/8")
        self.disabled = k.create_key("Disabled", "--role", "admin", "--disabled")
        self.revoked = k.create_key("Revoked", "--role", "admin")
        self.port = k.serve(threads=2)
        k.revoke(self.port, self.revoked)

    def assertRefusal(self, answer, status, code):
        got_status, headers, body = answer
        self.assertEqual(got_status, status, body)
        self.assertTrue(headers.get("content-type", [""])[0].startswith("application/json"), headers)
        document = json.loads(body)
        self.assertEqual(document["code"], code, document)
        self.assertTrue(document["message"])
        self.assertFalse([name for name in headers if name.startswith("variable-")], headers)
        if status == 401:
            self.assertTrue(headers.get("www-authenticate", [""])[0].startswith("Bearer"), headers)
        return document

    def test_granted_passes_variables_to_the_backend(self):
        status, headers, _ = authorize(self.port, "/orders/7?page=2", self.admin)
        self.assertEqual(status, 200)
        self.assertEqual(headers["variable-keyward_key_id"], ["key_" + self.admin.split("_")[2]])
        self.assertEqual(headers["variable-keyward_key_name"], ["Backend admin"])
        self.assertEqual(headers["variable-keyward_role"], ["admin"])
        self.assertEqual(headers["variable-keyward_permissions"],
                         ["api.key.view api.key.create api.key.update api.key.delete api.key.verify"])
        status, headers, _ = authorize(self.port, "/orders/7", api_key=self.reader)
        self.assertEqual(status, 200)
        self.assertEqual(headers["variable-keyward_role"], ["read-only"])

    def test_refusals(self):
        unknown = Keyward()
        try:
            never_stored = unknown.create_key("Elsewhere")
        finally:
            unknown.close()
        bad_checksum = self.admin[:-1] + ("A" if self.admin[-1] != "A" else "B")
        cases = [
            ("no key", dict(), 401, "missing_key"),
            ("empty bearer", dict(authorization="Bearer "), 401, "missing_key"),
            ("basic only", dict(authorization="Basic dXNlcjpwYXNz"), 401, "missing_key"),
            ("bad checksum", dict(key=bad_checksum), 401, "invalid_key"),
            ("unknown key", dict(key=never_stored), 401, "invalid_key"),
            ("over 512 bytes", dict(key=self.admin + "x" * 600), 401, "invalid_key"),
            ("non-ASCII bytes", dict(key=self.admin.encode()[:-2] + b"\xc3\xa9"), 401, "invalid_key"),
            ("raw high bytes", dict(key=b"\xff\xfe\x80" * 30), 401, "invalid_key"),
            ("two bearers joined", dict(authorization=f"Bearer {self.admin}, Bearer {self.reader}"), 401,
             "invalid_key"),
            ("two headers, two keys", dict(key=self.admin, api_key=self.reader), 401, "invalid_key"),
            ("disabled", dict(key=self.disabled), 401, "disabled"),
            ("revoked", dict(key=self.revoked), 401, "revoked"),
            ("outside the allowlist", dict(key=self.office), 403, "ip_not_allowed"),
            ("mapped, outside", dict(key=self.office, remote_addr="::ffff:11.1.2.3"), 403, "ip_not_allowed"),
            ("no REMOTE_ADDR", dict(key=self.admin, remote_addr=None), 403, "ip_not_allowed"),
            ("garbage REMOTE_ADDR", dict(key=self.admin, remote_addr="not-an-address"), 403, "ip_not_allowed"),
            ("rule needs api.key.delete", dict(key=self.reader, uri="/admin/users"), 403, "insufficient_permissions"),
            ("rule, query ignored", dict(key=self.reader, uri="/admin?x=/public"), 403, "insufficient_permissions"),
        ]
        for name, arguments, status, code in cases:
            with self.subTest(name):
                uri = arguments.pop("uri", "/orders/1")
                document = self.assertRefusal(authorize(self.port, uri, **arguments), status, code)
                if code == "revoked":
                    self.assertEqual(document["message"], "Key was revoked")
                if code == "ip_not_allowed":
                    self.assertEqual(document["message"], "Your IP address is not on this key's allowlist")
        self.assertCleanLog()

    def test_allowlist_and_rules_that_pass(self):
        self.assertEqual(authorize(self.port, "/x", self.office, remote_addr="10.1.2.3")[0], 200)
        self.assertEqual(authorize(self.port, "/x", self.office, remote_addr="::ffff:10.1.2.3")[0], 200)
        self.assertEqual(authorize(self.port, "/admin/users", self.admin)[0], 200)
        self.assertEqual(authorize(self.port, "/administrator", self.admin)[0], 200)
        # the longest prefix wins: a reader may see the public notes under /admin
        self.assertEqual(authorize(self.port, "/admin/public-notes/3", self.reader)[0], 200)
        self.assertEqual(authorize(self.port, "/public", self.reader)[0], 200)

    def test_each_decision_is_recorded_with_its_path_and_address(self):
        authorize(self.port, "/rec/granted?secret=q", self.admin, remote_addr="192.0.2.44")
        authorize(self.port, "/rec/revoked", self.revoked, remote_addr="192.0.2.45")
        authorize(self.port, "/rec/missing", remote_addr="192.0.2.46")
        authorize(self.port, "/rec/ip", self.office, remote_addr="192.0.2.47")
        authorize(self.port, "/admin/rec", self.reader, remote_addr="192.0.2.48")
        self.assertEqual(self.keyward.stop(self.port), 0)
        rows = self.keyward.query("SELECT endpoint, client_address, outcome, api_key_id FROM usage_event "
                                  "WHERE endpoint LIKE '/rec/%' OR endpoint = '/admin/rec' ORDER BY client_address")
        admin_id = self.keyward.key_row(self.admin)[0]
        self.assertEqual(rows, [
            ("/rec/granted", "192.0.2.44", "granted", admin_id),
            ("/rec/revoked", "192.0.2.45", "revoked", self.keyward.key_row(self.revoked)[0]),
            ("/rec/ip", "192.0.2.47", "ip_not_allowed", self.keyward.key_row(self.office)[0]),
            ("/admin/rec", "192.0.2.48", "insufficient_permissions", self.keyward.key_row(self.reader)[0]),
        ])
        # The request without a key: counted for its hour and address, in workspace 1, without its path.
        hour = int(time.time()) // 3600 * 3600
        self.assertIn(self.keyward.query("SELECT workspace_id, client_address, outcome, calls, hour FROM "
                                         "usage_refused_hourly WHERE client_address = '192.0.2.46'"),
                      ([(1, "192.0.2.46", "missing_key", 1, hour)], [(1, "192.0.2.46", "missing_key", 1, hour - 3600)]))
        self.assertEqual(self.keyward.scalar("SELECT count(*) FROM usage_event WHERE api_key_id IS NULL"), 0)
        # The query string is no part of the recorded path.
        self.assertEqual(self.keyward.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event WHERE endpoint LIKE '%secret%'"), 0)
        # last_used: set by the grant only.
        self.assertIsNotNone(self.keyward.key_row(self.admin)[1])
        self.assertIsNone(self.keyward.key_row(self.office)[1])
        self.assertIsNone(self.keyward.key_row(self.revoked)[1])
        self.assertCleanLog()


class RulesFileTest(KeywardTestCase):
    rules = "require /ok api.key.view\n\nrequire /broken\n"

    def test_a_malformed_rules_file_stops_keyward_with_the_line(self):
        done = subprocess.run([BIN, "--db", self.keyward.database, "serve", "--listen", f"127.0.0.1:{free_port()}"],
                              env=self.keyward.env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("line 3", done.stderr)
        self.assertIn("require /path/prefix permission", done.stderr)
        self.assertIsNone(sanitizer_report(done.stderr), done.stderr)


# ---- usage across processes and signals ----------------------------------------------------------

class UsageAcrossProcessesTest(KeywardTestCase):

    def setUp(self):
        super().setUp()
        k = self.keyward
        self.admin = k.create_key("Load admin", "--role", "admin")
        self.reader = k.create_key("Load reader", "--role", "read-only")
        self.office = k.create_key("Load office", "--role", "admin", "--cidr", "10.0.0.0/8")
        self.quiet = k.create_key("Load quiet", "--role", "admin", "--off-record")
        unknown = Keyward()
        try:
            self.unknown = unknown.create_key("Never stored here")
        finally:
            unknown.close()

    def expected(self, i):
        """(key, outcome) of request number i in a load run; outcome None: off the record."""
        return [(self.admin, "granted"), (self.reader, "granted"), (self.unknown, "invalid_key"),
                (self.office, "ip_not_allowed"), (self.quiet, None)][i % 5]

    def drive(self, ports, clients, per_client, prefix):
        """Send clients x per_client authorizer requests spread over `ports`; returns the wrong answers."""
        wrong = []

        def client(number):
            for i in range(per_client):
                key, outcome = self.expected(i)
                port = ports[(number + i) % len(ports)]
                try:
                    status, _, body = authorize(port, f"{prefix}/{number}/{i}?n={i}", key,
                                                remote_addr=f"127.0.{number}.{i % 250 + 1}")
                except OSError as error:
                    wrong.append((number, i, repr(error)))
                    continue
                want = 200 if outcome in ("granted", None) else (403 if outcome == "ip_not_allowed" else 401)
                if status != want:
                    wrong.append((number, i, status, body[:200]))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        return wrong

    def test_two_processes_lose_nothing_and_flush_on_sigterm(self):
        k = self.keyward
        ports = [k.serve(threads=4), k.serve(threads=4)]
        clients, per_client = 8, 200
        started = int(time.time())
        wrong = self.drive(ports, clients, per_client, "/load")
        finished = int(time.time()) + 1
        self.assertEqual(wrong, [])
        for port in ports:
            self.assertEqual(k.stop(port), 0, k.log()[-3000:])

        recorded = dict(((e, (o, a)) for e, o, a in
                         k.query("SELECT endpoint, outcome, client_address FROM usage_event")))
        self.assertEqual(k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event"), len(recorded), "an event was written twice")
        expected = {}
        strangers = {}  # the unknown key's calls: counted per address (and hour), not one by one
        for number in range(clients):
            for i in range(per_client):
                _, outcome = self.expected(i)
                address = f"127.0.{number}.{i % 250 + 1}"
                if outcome == "invalid_key":
                    strangers[address] = strangers.get(address, 0) + 1
                elif outcome is not None:
                    expected[f"/load/{number}/{i}"] = (outcome, address)
        counted = dict(k.query("SELECT client_address, sum(calls) FROM usage_refused_hourly "
                               "WHERE outcome = 'invalid_key' AND workspace_id = 1 GROUP BY 1"))
        self.assertEqual(counted, strangers)
        missing = sorted(set(expected) - set(recorded))
        self.assertEqual(missing[:10], [], f"{len(missing)} of {len(expected)} events missing")
        self.assertEqual(recorded, expected)
        quiet_calls = clients * len([i for i in range(per_client) if self.expected(i)[1] is None])
        quiet_id = k.key_row(self.quiet)[0]
        self.assertEqual(k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_anonymous_hourly WHERE api_key_id = ?",
                                  (quiet_id,)), quiet_calls)
        for token in (self.admin, self.reader, self.quiet):
            last = k.key_row(token)[1]
            self.assertIsNotNone(last)
            self.assertTrue(started <= last <= finished, (started, last, finished))
        self.assertIsNone(k.key_row(self.office)[1])
        retries = [line for line in k.log().splitlines() if "cannot write to the database" in line]
        if retries:
            print(f"\n  (note: {len(retries)} batch(es) had to wait for the other process and were retried)")
        self.assertCleanLog()

    def test_events_wait_in_memory_and_sigterm_writes_them(self):
        """Right after the answers, the events are in memory (not yet in the database); SIGTERM writes them."""
        k = self.keyward
        seen_buffered = False
        for attempt in range(5):
            port = k.serve(threads=2)
            for i in range(20):
                self.assertEqual(authorize(port, f"/buffered/{attempt}/{i}", self.admin)[0], 200)
            before = k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event WHERE endpoint LIKE ?", (f"/buffered/{attempt}/%",))
            self.assertEqual(k.stop(port), 0)
            after = k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event WHERE endpoint LIKE ?", (f"/buffered/{attempt}/%",))
            self.assertEqual(after, 20)
            if before < 20:
                seen_buffered = True
                break
        self.assertTrue(seen_buffered, "every event was already in the database when the answer came back")
        self.assertCleanLog()

    def test_sigkill_loses_at_most_the_buffer(self):
        k = self.keyward
        port = k.serve(threads=2)
        for i in range(30):
            self.assertEqual(authorize(port, f"/kill/flushed/{i}", self.admin)[0], 200)
        deadline = time.time() + 5
        while time.time() < deadline and k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event") < 30:
            time.sleep(0.05)
        # The timer wrote the first 30 within about a second, without any shutdown.
        self.assertEqual(k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event"), 30)
        for i in range(40):
            self.assertEqual(authorize(port, f"/kill/buffered/{i}", self.admin)[0], 200)
        self.assertEqual(k.stop(port, signal.SIGKILL), -signal.SIGKILL)
        kept = k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event WHERE endpoint LIKE '/kill/buffered/%'")
        print(f"\n  (SIGKILL: {40 - kept} of the last 40 events, still buffered, were lost; "
              f"the 30 written earlier stayed)")
        self.assertEqual(k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event WHERE endpoint LIKE '/kill/flushed/%'"), 30)
        self.assertLessEqual(kept, 40)
        if not ON_POSTGRESQL:  # SQLite's check of its own file; PostgreSQL has no such statement
            self.assertEqual(k.query("PRAGMA integrity_check"), [("ok",)])
        # A new process carries on with the same database.
        port = k.serve(threads=2)
        for i in range(5):
            self.assertEqual(authorize(port, f"/kill/after/{i}", self.admin)[0], 200)
        self.assertEqual(k.stop(port), 0)
        self.assertEqual(k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event WHERE endpoint LIKE '/kill/after/%'"), 5)
        self.assertCleanLog()

    def test_off_the_record_key_keeps_only_a_count_and_last_use(self):
        k = self.keyward
        port = k.serve(threads=2)
        marker = f"/very-private-path-{time.time_ns()}"
        started = int(time.time())
        for i in range(12):
            self.assertEqual(authorize(port, f"{marker}/{i}", self.quiet, remote_addr="198.51.100.77")[0], 200)
        self.assertEqual(k.stop(port), 0)
        quiet_id, last_used = k.key_row(self.quiet)
        self.assertEqual(k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event WHERE api_key_id = ?", (quiet_id,)), 0)
        self.assertEqual(k.scalar("SELECT coalesce(sum(calls), 0) FROM usage_event"), 0)
        self.assertEqual(k.scalar("SELECT sum(calls) FROM usage_anonymous_hourly WHERE api_key_id = ?",
                                  (quiet_id,)), 12)
        self.assertEqual(k.scalar("SELECT count(*) FROM usage_anonymous_hourly WHERE hour % 3600 != 0"), 0)
        self.assertLessEqual(k.scalar("SELECT count(*) FROM usage_anonymous_hourly"), 2)  # an hour may turn
        self.assertIsNotNone(last_used)
        self.assertGreaterEqual(last_used, started)
        # Neither the path nor the address is anywhere in the files.
        for name in os.listdir(k.folder):
            if name.startswith("keyward.db"):
                with open(os.path.join(k.folder, name), "rb") as f:
                    data = f.read()
                self.assertNotIn(marker.encode(), data, name)
                self.assertNotIn(b"198.51.100.77", data, name)
        self.assertCleanLog()
