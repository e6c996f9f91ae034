"""harness.py: start keyward behind a real lighttpd on a free loopback port, and talk to it.

Each test class gets its own data folder (database, server key, logs) and lighttpd instance, using
the sanitizer build (build/test/keyward). Nothing here is mocked: requests go over TCP to lighttpd,
which spawns keyward through mod_fastcgi exactly as `make run` does.
"""
import html
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("KEYWARD_TEST_BIN", os.path.join(ROOT, "build", "test", "keyward"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body        # bytes
        self.text = body.decode("utf-8", "replace")

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def headers_named(self, name):
        return [value for key, value in self.headers if key.lower() == name.lower()]


class Server:
    """A lighttpd + keyward pair with its own data folder."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="keyward-test-")
        self.port = free_port()
        self.cookies = {}
        env = dict(os.environ, PORT=str(self.port), VARDIR=self.folder, BIN=BIN, DETACH="1")
        subprocess.run([os.path.join(ROOT, "www", "run-lighttpd.sh")], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("lighttpd did not start; see " + self.error_log_path())

    @property
    def database(self):
        return os.path.join(self.folder, "keyward.db")

    def error_log_path(self):
        return os.path.join(self.folder, "lighttpd-error.log")

    def error_log(self):
        try:
            with open(self.error_log_path(), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        pid_file = os.path.join(self.folder, "lighttpd.pid")
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            pass
        time.sleep(0.2)  # let spawned keyward processes exit and print sanitizer reports

    def cleanup(self):
        shutil.rmtree(self.folder, ignore_errors=True)

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

    def create_key(self, name, role="admin", cidrs=(), postback_url="", off_record=False, enabled=True):
        """Create a key through the form; returns (key_id, secret)."""
        fields = [("name", name), ("role", self.roles()[role]), ("postback_url", postback_url)]
        for cidr, label in cidrs:
            fields += [("cidr", cidr), ("cidr_label", label)]
        if off_record:
            fields.append(("off_record", "1"))
        if enabled:
            fields.append(("enabled", "1"))
        created = self.post("/keys/new", fields)
        assert created.status == 303, (created.status, created.text[:2000])
        page = self.follow(created)
        assert page.status == 200, (page.status, page.text[:500])
        key_id = re.search(r"/keys/(key_[A-Za-z0-9]+)/secret", created.header("Location")).group(1)
        return key_id, secret_from(page.text)


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
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            if marker in log:
                raise AssertionError(f"sanitizer report in the lighttpd error log:\n{log[-6000:]}")
