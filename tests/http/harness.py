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

Set KEYWARD_TEST_KEEP=1 to keep each class's data folder (its path is printed) for a post-mortem.
"""
import html
import html.parser
import http.client
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("KEYWARD_TEST_BIN", os.path.join(ROOT, "build", "test", "keyward"))
TEMPLATES = os.path.join(ROOT, "templates")

# What a sanitizer prints when it finds something; any of these in a log fails the class.
SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer", "UndefinedBehaviorSanitizer")

TOKEN_PATTERN = re.compile(r"^kw_key_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$")


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
        self.port = free_port()
        self.cookies = {}
        env = dict(os.environ, PORT=str(self.port), VARDIR=self.folder, BIN=BIN, DETACH="1")
        subprocess.run([os.path.join(ROOT, "www", "run-lighttpd.sh")], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        if not wait_for_port(self.port):
            raise RuntimeError("lighttpd did not start; see " + self.error_log_path())

    @property
    def database(self):
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
        """The keyward processes lighttpd spawned (its children), by pid."""
        pid = self.lighttpd_pid()
        if pid is None:
            return []
        listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        return [int(p) for p in listed.split()]

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
        connection = sqlite3.connect(f"file:{urllib.parse.quote(self.database)}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def count(self, table, where="1", params=()):
        return self.query(f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0]

    def key_row(self, key_id):
        """The api_key row of `key_id` as a dict, or None."""
        connection = sqlite3.connect(f"file:{urllib.parse.quote(self.database)}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            row = connection.execute("SELECT * FROM api_key WHERE key_id = ?", (key_id,)).fetchone()
            return dict(row) if row else None
        finally:
            connection.close()

    def key_cidrs(self, key_id):
        return self.query("SELECT c.cidr, c.label FROM api_key_cidr c JOIN api_key k ON k.id = c.api_key_id "
                          "WHERE k.key_id = ? ORDER BY c.position", (key_id,))

    def row_counts(self):
        """How many rows each table holds: a snapshot to compare before and after a refused request."""
        return {table: self.count(table) for table in ("api_key", "api_key_cidr", "secret_reveal", "role")}

    # ---- the command line, on the same database ----

    def cli(self, *args, env=None, timeout=60):
        """Run build/test/keyward --db <this database> ARGS...; returns the CompletedProcess (text)."""
        full_env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES)
        full_env.update(env or {})
        return subprocess.run([BIN, "--db", self.database, *args], env=full_env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    # ---- HTTP ----

    def request(self, method, path, body=None, headers=None, cookies=True, raw_body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = dict(headers or {})
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body, doseq=True).encode() if not isinstance(body, (bytes, str)) else body
            if isinstance(data, str):
                data = data.encode()
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if raw_body is not None:
            data = raw_body
        if cookies and self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        result = Response(response.status, response.getheaders(), response.read())
        conn.close()
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
        page = self.get("/keys/new").text
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
        created = self.post("/keys/new", fields)
        assert created.status == 303, (created.status, created.text[:2000])
        page = self.follow(created)
        assert page.status == 200, (page.status, page.text[:500])
        key_id = re.search(r"/keys/(key_[A-Za-z0-9]+)/secret", created.header("Location")).group(1)
        return key_id, secret_from(page.text)

    def create_key_cli(self, name, *args):
        """Create a key with `keyward key create`; returns the token it printed."""
        done = self.cli("key", "create", "--name", name, *args)
        assert done.returncode == 0, (done.returncode, done.stderr)
        return done.stdout.strip()

    def list_key_ids(self, query=""):
        """The key IDs listed on /keys?query, in page order."""
        page = self.get("/keys" + (("?" + query) if query else ""))
        assert page.status == 200, page
        return re.findall(r"<code>(key_[0-9A-Za-z]{16})</code>", page.text)


def secret_from(page_text):
    match = re.search(r'id="secret"[^>]*value="([^"]+)"', page_text)
    return html.unescape(match.group(1)) if match else None


class ServerTestCase(unittest.TestCase):
    """One lighttpd + keyward for the whole class; checks the error log for sanitizer reports at the end."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

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
        self.assertIn("Back to the API keys", response.text)
        self.assertIn("</html>", response.text)
        for phrase in phrases:
            self.assertIn(phrase, response.text)
        self.assertSecurityHeaders(response)
