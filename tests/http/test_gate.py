"""test_gate.py: the gate nginx's auth_request asks, over FastCGI, straight to `keyward serve`.

A gate request is a responder request for SCRIPT_NAME /gate on the gatekeeper's listener, about the
request in REQUEST_URI from REMOTE_ADDR (what www/nginx-keyward.conf sends). Its decision must be the
FastCGI authorizer's, code for code, for the same key, URI and address: both are asked here side by
side on one `keyward serve` with a rules file. It answers 204 with X-Keyward-* headers or a refusal
with the authorizer's JSON (also in X-Keyward-Refusal), never reads a body, records usage as the
authorizer does, and is refused on the console's listener. The same gate behind a real nginx is in
test_gatekeeper.py (NginxGatekeeperTest) and test_nginx.py.
"""
import json
import os
import shutil
import tempfile
import time
import unittest

from harness import (database_query, FCGI_AUTHORIZER, StandaloneKeyward, add_owner, fcgi_request, header, parse_cgi_output,
                     sanitizer_report)

RULES = """# the rules of these tests
require /protected/admin/ api.key.create
"""

# Requests whose REQUEST_URI is /protected/admin/... once decoded and normalized.
DISGUISED_ADMIN_URIS = ["/protected/admin", "/protected/%61dmin/x", "/protected//admin/x", "/protected/./admin/x",
                        "/protected/y/../admin/x", "/protected/admin%2Fx", "/protected/admin?x=1",
                        b"/protected/admin/\xff"]


def wait_until(probe, seconds=5):
    deadline = time.time() + seconds
    while True:
        value = probe()
        if value or time.time() > deadline:
            return value
        time.sleep(0.1)


class GateOverFastcgiTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="keyward-gate-")
        rules = os.path.join(cls.folder, "rules")
        with open(rules, "w") as f:
            f.write(RULES)
        cls.keyward = StandaloneKeyward(threads=2, gatekeeper_threads=2, env={"KEYWARD_CONFIG": rules})

        def make(name, *args):
            done = cls.keyward.cli("key", "create", "--name", name, *args)
            assert done.returncode == 0, done.stderr
            return done.stdout.strip()
        cls.admin = make("Admin", "--role", "admin")
        cls.reader = make("Zahlungs-API · Ärger ✓", "--role", "read-only")
        cls.loopback = make("Loopback only", "--role", "admin", "--cidr", "127.0.0.0/8")
        cls.disabled = make("Switched off", "--disabled")
        owner, _ = add_owner(cls.keyward.database)
        done = cls.keyward.cli("workspace", "create", "--name", "Elsewhere", "--owner", owner)
        assert done.returncode == 0, done.stderr
        cls.foreign = make("Of another workspace", "--role", "admin", "--workspace", "2")

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        shutil.rmtree(cls.folder, ignore_errors=True)
        if sanitizer_report(log):
            raise AssertionError(f"sanitizer report from keyward serve:\n{log[-6000:]}")

    # ---- asking ----

    def params(self, token, uri, address, extra):
        params = [("GATEWAY_INTERFACE", "CGI/1.1"), ("REQUEST_URI", uri), ("REMOTE_ADDR", address)]
        if token is not None:
            params.append(("HTTP_AUTHORIZATION", "Bearer " + token))
        return params + list(extra)

    def gate(self, token=None, uri="/protected/x", address="127.0.0.1", extra=(), port=None, stdin=b""):
        """A gate request as nginx-keyward.conf sends it; returns (status, headers, body)."""
        params = [("SCRIPT_NAME", "/gate")] + self.params(token, uri, address, extra)
        stdout, _, _ = fcgi_request(port or self.keyward.gatekeeper_port, params, stdin)
        return parse_cgi_output(stdout)

    def authorize(self, token=None, uri="/protected/x", address="127.0.0.1", extra=()):
        stdout, _, _ = fcgi_request(self.keyward.gatekeeper_port, self.params(token, uri, address, extra),
                                    role=FCGI_AUTHORIZER)
        return parse_cgi_output(stdout)

    @staticmethod
    def code_of(answer):
        status, _, body = answer
        return (status, "granted") if status in (200, 204) else (status, json.loads(body)["code"])

    def query(self, sql, params=()):
        return database_query(self.keyward.database, sql, params)

    # ---- one decision, two ways of asking ----

    def test_the_gate_decides_as_the_authorizer_does(self):
        keys = {"none": None, "admin": self.admin, "reader": self.reader, "loopback": self.loopback,
                "disabled": self.disabled, "foreign": self.foreign, "malformed": "kw_key_nonsense",
                "long": "kw_" * 300}
        uris = ["/protected/x", "/protected/administrators", "/", ""] + DISGUISED_ADMIN_URIS
        addresses = ["127.0.0.1", "192.0.2.7", "::ffff:127.0.0.9", "not an address", ""]
        seen = set()
        for key_name, token in keys.items():
            for uri in uris:
                for address in addresses:
                    with self.subTest(key=key_name, uri=uri, address=address):
                        gate = self.gate(token, uri, address)
                        authorizer = self.authorize(token, uri, address)
                        self.assertEqual(self.code_of(gate)[1], self.code_of(authorizer)[1])
                        self.assertEqual(gate[0], 204 if authorizer[0] == 200 else authorizer[0])
                        if authorizer[0] != 200:
                            self.assertEqual(gate[2], authorizer[2])  # the same JSON body
                        seen.add(self.code_of(gate)[1])
        # The matrix met every kind of answer.
        self.assertEqual(seen, {"granted", "missing_key", "invalid_key", "disabled", "ip_not_allowed",
                                "insufficient_permissions"})
        # Several keys, however they come.
        for extra in ([("HTTP_X_API_KEY", self.reader)], [("HTTP_X_API_KEY", self.admin), ("HTTP_X_API_KEY", "")]):
            with self.subTest(extra=extra):
                self.assertEqual(self.code_of(self.gate(self.admin, extra=extra)), (401, "invalid_key"))
                self.assertEqual(self.code_of(self.authorize(self.admin, extra=extra)), (401, "invalid_key"))

    # ---- the shape of its answers ----

    def test_a_yes_is_204_with_who_is_calling(self):
        status, headers, body = self.gate(self.reader, "/protected/orders/42?expand=lines")
        self.assertEqual(status, 204)
        self.assertEqual(body, b"")
        values = dict(headers)
        self.assertEqual([name for name, _ in headers],
                         ["Status", "X-Keyward-Key-Id", "X-Keyward-Key-Name", "X-Keyward-Role",
                          "X-Keyward-Permissions", "X-Keyward-Workspace-Id", "X-Keyward-Key-Secret", "Cache-Control"])
        self.assertEqual(values["X-Keyward-Key-Id"], "key_" + self.reader.split("_")[2])
        self.assertEqual(values["X-Keyward-Key-Name"].encode("latin-1").decode(), "Zahlungs-API · Ärger ✓")
        self.assertEqual(values["X-Keyward-Role"], "read-only")
        self.assertEqual(values["X-Keyward-Permissions"], "api.key.view")
        self.assertEqual(values["X-Keyward-Workspace-Id"], "1")
        self.assertEqual(values["X-Keyward-Key-Secret"], "current")
        self.assertEqual(values["Cache-Control"], "no-store")

    def test_a_refusal_carries_its_body_twice_and_is_never_cached(self):
        for token, status, code in ((None, 401, "missing_key"), ("kw_key_nonsense", 401, "invalid_key"),
                                    (self.disabled, 401, "disabled"), (self.reader, 403, "insufficient_permissions")):
            with self.subTest(code=code):
                answer_status, headers, body = self.gate(token, "/protected/admin/x")
                self.assertEqual(answer_status, status)
                self.assertEqual(header(headers, "Content-Type"), "application/json")
                self.assertEqual(json.loads(body)["code"], code)
                self.assertEqual(header(headers, "X-Keyward-Refusal") + "\n", body.decode())
                self.assertEqual(header(headers, "Cache-Control"), "no-store")
                self.assertEqual(header(headers, "WWW-Authenticate"), 'Bearer realm="api"' if status == 401 else None)
                self.assertIsNone(header(headers, "X-Keyward-Key-Id"))

    def test_the_gate_never_reads_a_body(self):
        """nginx's fastcgi_params pass the client's CONTENT_LENGTH along; no body ever follows."""
        for length in ("15", "100000", "99999999999999999999", "x"):
            with self.subTest(length=length):
                started = time.time()
                answer = self.gate(self.admin, extra=[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", length),
                                                      ("CONTENT_TYPE", "application/json")])
                self.assertEqual(self.code_of(answer), (204, "granted"))
                self.assertLess(time.time() - started, 5)
        # Even with bytes on stdin (a server that forwards the body after all), they are not read.
        answer = self.gate(self.admin, extra=[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "5"),
                                              ("CONTENT_TYPE", "application/x-www-form-urlencoded")],
                           stdin=b"a=1&b")
        self.assertEqual(self.code_of(answer), (204, "granted"))
        status, headers, _ = self.gate(None, extra=[("REQUEST_METHOD", "HEAD")])
        self.assertEqual((status, json.loads(header(headers, "X-Keyward-Refusal"))["code"]), (401, "missing_key"))

    def test_the_console_listener_refuses_gate_requests(self):
        """The console's address may be public: it must not answer for any URI from any address."""
        for token in (self.admin, None):
            status, headers, body = self.gate(token, port=self.keyward.port)
            self.assertEqual(status, 404)
            self.assertEqual(json.loads(body)["error"]["code"], "gate_not_served")
            self.assertIsNone(header(headers, "X-Keyward-Key-Id"))
        # The gatekeeper's listener still refuses console pages, and a gate request is never a page.
        stdout, _, _ = fcgi_request(self.keyward.gatekeeper_port, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/w/1/keys",
                                                                   "SCRIPT_NAME": "/w/1/keys",
                                                                   "REMOTE_ADDR": "127.0.0.1"})
        self.assertEqual(json.loads(parse_cgi_output(stdout)[2])["error"]["code"], "gatekeeper_only")
        self.assertEqual(self.code_of(self.gate(None, "/w/1/keys")), (401, "missing_key"))
        self.assertEqual(self.code_of(self.gate(self.admin, "/signin")), (204, "granted"))
        # Only SCRIPT_NAME /gate is the gate: a look-alike is an ordinary request.
        for script in ("/gate/", "/GATE", "/keyward/gate", "gate"):
            with self.subTest(script=script):
                stdout, _, _ = fcgi_request(self.keyward.gatekeeper_port, [("SCRIPT_NAME", script)] +
                                            self.params(self.admin, "/protected/x", "127.0.0.1", ()))
                self.assertEqual(parse_cgi_output(stdout)[0], 404)

    def test_usage_is_recorded_as_the_authorizer_records_it(self):
        marker = f"/protected/gate-usage-{time.time_ns()}"
        started = int(time.time())
        self.assertEqual(self.code_of(self.gate(self.admin, marker + "/a?q=1"))[0], 204)
        self.assertEqual(self.code_of(self.gate(self.reader, marker.replace("/protected/", "/protected/admin/")))[0],
                         403)
        self.assertEqual(self.code_of(self.gate(None, marker + "/stranger", "127.0.0.77"))[0], 401)

        def rows():
            found = self.query("SELECT k.key_id, e.endpoint, e.client_address, e.outcome FROM usage_event e "
                               "JOIN api_key k ON k.id = e.api_key_id WHERE e.endpoint LIKE ? ORDER BY e.endpoint",
                               ("%" + marker.split("/")[-1] + "%",))
            return found if len(found) >= 2 else None
        found = wait_until(rows)
        self.assertEqual(found, [
            ("key_" + self.reader.split("_")[2], marker.replace("/protected/", "/protected/admin/"), "127.0.0.1",
             "insufficient_permissions"),
            ("key_" + self.admin.split("_")[2], marker + "/a", "127.0.0.1", "granted"),
        ])
        # The stranger: counted for the hour and address, its path kept nowhere.
        counted = wait_until(lambda: self.query(
            "SELECT coalesce(sum(calls), 0) FROM usage_refused_hourly WHERE client_address = '127.0.0.77' AND "
            "outcome = 'missing_key' AND hour >= ?", (started - started % 3600,))[0][0])
        self.assertGreaterEqual(counted, 1)
        self.assertEqual(self.query("SELECT count(*) FROM usage_event WHERE endpoint LIKE '%stranger%'")[0][0], 0)

    def test_odd_gate_requests_do_not_hang_or_crash(self):
        odd = [
            dict(token=self.admin, uri="/protected/" + "x" * 100000),
            dict(token=self.admin, uri=b"\xff\xfe/\x00"),
            dict(token="k" * 200000),
            dict(extra=[("HTTP_X_API_KEY", b"\xff\x00" * 1000)]),
        ]
        for request in odd:
            with self.subTest(request=str(request)[:60]):
                status, _, _ = self.gate(**request)
                self.assertIn(status, (204, 401, 403))
        # No REQUEST_URI, no REMOTE_ADDR at all: refused as the authorizer refuses them.
        stdout, _, _ = fcgi_request(self.keyward.gatekeeper_port, {"SCRIPT_NAME": "/gate",
                                                                   "HTTP_AUTHORIZATION": "Bearer " + self.admin})
        self.assertEqual(self.code_of(parse_cgi_output(stdout)), (403, "ip_not_allowed"))
        self.assertIsNone(self.keyward.process.poll(), "keyward serve stopped")
