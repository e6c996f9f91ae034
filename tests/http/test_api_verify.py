"""test_api_verify.py: POST /api/v1/keys/verify through the real lighttpd (console responder mode).

Applications that check keys themselves ask keyward in JSON. The caller authenticates with a key of
its own whose role holds api.key.verify; then the body names the key to check, and optionally the
client address, the endpoint (recorded as usage, and matched against the rules file) and a
permission. Every answer, refusal or not, is application/json and parses; bad bodies get
400/413/415 with a JSON error, never a crash.

VerifyAppliesTheRulesTest asks a standalone `keyward serve` with a rules file over FastCGI, and
holds each answer against the FastCGI authorizer's for the same key, path and address.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import unittest

from harness import (BIN, FCGI_AUTHORIZER, ServerTestCase, StandaloneKeyward, fcgi_request, init_database,
                     parse_cgi_output, sanitizer_report)

VERIFY = "/api/v1/keys/verify"


def key_id_of(token):
    return "key_" + token.split("_")[2]


def with_bad_checksum(token):
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


class VerifyEndpointTest(ServerTestCase):
    """One lighttpd + keyward; keys of every kind made once through the command line and the console."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.admin = s.create_key_cli("Verifier (admin)", "--role", "admin")
        cls.reader = s.create_key_cli("Reader", "--role", "read-only")
        cls.office = s.create_key_cli("Office only", "--role", "admin", "--cidr", "10.0.0.0/8",
                                      "--cidr", "2001:db8::/32=VPN")
        cls.elsewhere = s.create_key_cli("Verifier elsewhere", "--role", "admin", "--cidr", "192.0.2.0/24")
        cls.disabled = s.create_key_cli("Disabled", "--role", "admin", "--disabled")
        cls.revoked = s.create_key_cli("Revoked", "--role", "admin")
        cls.quiet = s.create_key_cli("Quiet", "--role", "read-only", "--off-record")
        response = s.post(f"/w/1/keys/{key_id_of(cls.revoked)}/revoke")
        assert response.status == 303, response

    # ---- helpers ----

    def call(self, body=None, caller="admin", method="POST", path=VERIFY, content_type="application/json",
             raw=None, headers=None):
        """Send a request; `body` is JSON-encoded unless `raw` bytes are given. caller: a token, an
        attribute name of this class, or None for no key."""
        all_headers = dict(headers or {})
        if caller is not None:
            token = getattr(self, caller) if hasattr(self, caller) else caller
            all_headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if content_type is not None and data is not None:
            all_headers["Content-Type"] = content_type
        return self.server.request(method, path, raw_body=data, headers=all_headers, cookies=False)

    def json_of(self, response):
        """The body as JSON, after checking that it is JSON."""
        content_type = response.header("Content-Type") or ""
        self.assertTrue(content_type.startswith("application/json"), (response.status, response.headers))
        try:
            return json.loads(response.body)
        except ValueError:
            self.fail(f"not JSON ({response.status}): {response.text[:500]!r}")

    def assertApiError(self, response, status, code):
        self.assertStatus(response, status)
        document = self.json_of(response)
        self.assertEqual(set(document), {"error"}, document)
        self.assertEqual(document["error"]["code"], code, document)
        self.assertIsInstance(document["error"]["message"], str)
        self.assertTrue(document["error"]["message"])
        return document["error"]

    def verify(self, **body):
        """POST `body` as the admin caller; the answer must be 200 JSON of the documented shape."""
        response = self.call(body)
        self.assertStatus(response, 200)
        answer = self.json_of(response)
        self.assertEqual(set(answer), {"valid", "code", "message", "key_id", "name", "role", "permissions"}, answer)
        self.assertIsInstance(answer["valid"], bool)
        self.assertEqual(answer["valid"], answer["code"] == "granted", answer)
        self.assertIsInstance(answer["permissions"], list)
        return answer

    def assertRefused(self, answer, code, key_token=None):
        self.assertFalse(answer["valid"], answer)
        self.assertEqual(answer["code"], code, answer)
        if key_token is None:
            self.assertIsNone(answer["key_id"], answer)
            self.assertIsNone(answer["name"], answer)
            self.assertIsNone(answer["role"], answer)
            self.assertEqual(answer["permissions"], [], answer)
        else:
            self.assertEqual(answer["key_id"], key_id_of(key_token), answer)

    # ---- who may ask ----

    def test_no_caller_key_is_401_missing_key(self):
        response = self.call({"key": self.reader}, caller=None)
        error = self.assertApiError(response, 401, "missing_key")
        self.assertIn("Authorization: Bearer", error["message"])
        self.assertTrue((response.header("WWW-Authenticate") or "").startswith("Bearer"), response.headers)

    def test_caller_without_the_verify_permission_is_403(self):
        response = self.call({"key": self.admin}, caller="reader")
        self.assertApiError(response, 403, "insufficient_permissions")
        self.assertIsNone(response.header("WWW-Authenticate"))

    def test_refused_callers(self):
        cases = [
            ("revoked", 401, "revoked"),
            ("disabled", 401, "disabled"),
            ("elsewhere", 403, "ip_not_allowed"),  # 127.0.0.1 is not in 192.0.2.0/24
            (with_bad_checksum(self.admin), 401, "invalid_key"),
            ("kw_nonsense", 401, "invalid_key"),
        ]
        for caller, status, code in cases:
            with self.subTest(caller=caller[:20]):
                response = self.call({"key": self.reader}, caller=caller)
                self.assertApiError(response, status, code)

    def test_caller_key_in_x_api_key(self):
        response = self.call({"key": self.reader}, caller=None, headers={"X-API-Key": self.admin})
        self.assertStatus(response, 200)
        self.assertTrue(self.json_of(response)["valid"])

    def test_two_different_caller_keys_are_refused(self):
        response = self.call({"key": self.reader}, headers={"X-API-Key": self.office})
        self.assertApiError(response, 401, "invalid_key")
        # the same key twice is one key
        response = self.call({"key": self.reader}, headers={"X-API-Key": self.admin})
        self.assertStatus(response, 200)

    def test_caller_is_checked_before_the_body(self):
        response = self.call(raw=b"{not json", caller=None)
        self.assertApiError(response, 401, "missing_key")
        response = self.call(raw=b"x" * 70000, caller="reader")
        self.assertApiError(response, 403, "insufficient_permissions")

    # ---- the answer about the key in the body ----

    def test_valid_key(self):
        answer = self.verify(key=self.admin)
        self.assertTrue(answer["valid"])
        self.assertEqual(answer["code"], "granted")
        self.assertEqual(answer["key_id"], key_id_of(self.admin))
        self.assertEqual(answer["name"], "Verifier (admin)")
        self.assertEqual(answer["role"], "admin")
        self.assertEqual(answer["permissions"],
                         ["api.key.view", "api.key.create", "api.key.update", "api.key.delete", "api.key.verify"])
        answer = self.verify(key=self.reader)
        self.assertTrue(answer["valid"])
        self.assertEqual(answer["role"], "read-only")
        self.assertEqual(answer["permissions"], ["api.key.view"])

    def test_refusal_codes(self):
        key_id = key_id_of(self.admin)
        unknown = "kw_" + key_id + "_" + "A" * 43
        cases = {
            "no key member": ({}, "missing_key", None),
            "null key": ({"key": None}, "missing_key", None),
            "empty key": ({"key": ""}, "missing_key", None),
            "garbage": ({"key": "hello"}, "invalid_key", None),
            "bad checksum": ({"key": with_bad_checksum(self.admin)}, "invalid_key", None),
            "unknown (valid shape)": ({"key": self._valid_unknown_token()}, "invalid_key", None),
            "wrong length": ({"key": unknown}, "invalid_key", None),
            "over 512 bytes": ({"key": self.admin + "A" * 500}, "invalid_key", None),
            "far over 512 bytes": ({"key": "k" * 20000}, "invalid_key", None),
            "non-ASCII": ({"key": self.admin[:-1] + "é"}, "invalid_key", None),
            "bearer prefix inside": ({"key": "Bearer " + self.admin}, "invalid_key", None),
            "disabled": ({"key": self.disabled}, "disabled", self.disabled),
            "revoked": ({"key": self.revoked}, "revoked", self.revoked),
        }
        messages = {}
        for name, (body, code, token) in cases.items():
            with self.subTest(name):
                answer = self.verify(**body)
                self.assertRefused(answer, code, token)
                messages.setdefault(code, set()).add(answer["message"])
        # One sentence per code: nothing tells an unknown key from a mistyped one.
        self.assertEqual(len(messages["invalid_key"]), 1, messages)
        self.assertEqual(messages["revoked"], {"Key was revoked"})

    def _valid_unknown_token(self):
        """A token of the right shape and checksum that was never stored: made for a scratch database."""
        folder = tempfile.mkdtemp(prefix="keyward-verify-scratch-")
        try:
            init_database(os.path.join(folder, "k.db"))
            made = subprocess.run([BIN, "--db", os.path.join(folder, "k.db"), "key", "create", "--name", "x"],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(made.returncode, 0, made.stderr)
            return made.stdout.strip()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def test_client_address_against_the_allowlist(self):
        cases = [
            ({"ip": "10.1.2.3"}, "granted"),
            ({"ip": "10.255.0.1"}, "granted"),
            ({"ip": "::ffff:10.1.2.3"}, "granted"),
            ({"ip": "2001:db8::7"}, "granted"),
            ({"ip": "11.1.2.3"}, "ip_not_allowed"),
            ({"ip": "::ffff:11.1.2.3"}, "ip_not_allowed"),
            ({"ip": "2001:db9::7"}, "ip_not_allowed"),
            ({"ip": "127.0.0.1"}, "ip_not_allowed"),
            ({}, "ip_not_allowed"),           # no address: a key with an allowlist cannot pass
            ({"ip": None}, "ip_not_allowed"),
            ({"ip": "not an address"}, "ip_not_allowed"),
            ({"ip": ""}, "ip_not_allowed"),
            ({"ip": "10.1.2.3/32"}, "ip_not_allowed"),
        ]
        for extra, code in cases:
            with self.subTest(extra=extra):
                answer = self.verify(key=self.office, **extra)
                self.assertEqual(answer["code"], code, answer)
                self.assertEqual(answer["key_id"], key_id_of(self.office))

    def test_client_address_without_an_allowlist(self):
        self.assertEqual(self.verify(key=self.reader)["code"], "granted")
        self.assertEqual(self.verify(key=self.reader, ip=None)["code"], "granted")
        self.assertEqual(self.verify(key=self.reader, ip="203.0.113.9")["code"], "granted")
        self.assertEqual(self.verify(key=self.reader, ip="2001:db8::1")["code"], "granted")
        # given, but not an address: refused even without an allowlist
        self.assertEqual(self.verify(key=self.reader, ip="garbage")["code"], "ip_not_allowed")
        self.assertEqual(self.verify(key=self.reader, ip="999.1.1.1")["code"], "ip_not_allowed")

    def test_permission(self):
        self.assertEqual(self.verify(key=self.reader, permission="api.key.view")["code"], "granted")
        self.assertEqual(self.verify(key=self.reader, permission="")["code"], "granted")
        self.assertEqual(self.verify(key=self.reader, permission=None)["code"], "granted")
        for permission in ("api.key", "api.key.delete", "api.key.verify", "api.key.view.extra", "API.KEY.VIEW"):
            with self.subTest(permission=permission):
                answer = self.verify(key=self.reader, permission=permission)
                self.assertEqual(answer["code"], "insufficient_permissions", answer)
                self.assertFalse(answer["valid"])
                self.assertEqual(answer["role"], "read-only")
        self.assertEqual(self.verify(key=self.admin, permission="api.key.delete")["code"], "granted")
        # the address is checked before the permission
        answer = self.verify(key=self.office, ip="11.0.0.1", permission="nope")
        self.assertEqual(answer["code"], "ip_not_allowed")

    # ---- bad requests ----

    def test_malformed_json(self):
        for raw in (b"{", b"{\"key\": }", b"not json", b"{\"key\": \"a\",}", b"\xff\xfe{}", b"{\"key\": \"\xff\"}",
                    b"[" * 5000 + b"]" * 5000, b"{} {}"):
            with self.subTest(raw=raw[:20]):
                self.assertApiError(self.call(raw=raw), 400, "invalid_json")

    def test_duplicate_members(self):
        error = self.assertApiError(self.call(raw=b'{"key": "a", "key": "b"}'), 400, "invalid_json")
        self.assertIn("duplicate", error["message"].lower())
        self.assertApiError(self.call(raw=('{"key": "%s", "ip": "10.0.0.1", "ip": "11.0.0.1"}'
                                           % self.office).encode()), 400, "invalid_json")

    def test_not_an_object(self):
        for raw in (b"[]", b'["key"]', b'"kw_key"', b"42", b"null", b"true"):
            with self.subTest(raw=raw):
                self.assertApiError(self.call(raw=raw), 400, "invalid_request")

    def test_wrong_member_types(self):
        cases = [
            {"key": 42},
            {"key": ["kw_x"]},
            {"key": {"value": "x"}},
            {"key": True},
            {"key": self.reader, "ip": 10},
            {"key": self.reader, "ip": ["10.0.0.1"]},
            {"key": self.reader, "endpoint": 1},
            {"key": self.reader, "endpoint": {}},
            {"key": self.reader, "permission": False},
            {"key": self.reader, "permission": ["api.key.view"]},
        ]
        for body in cases:
            with self.subTest(body=body):
                name = [k for k, v in body.items() if not isinstance(v, str)][0]
                error = self.assertApiError(self.call(body), 400, "invalid_request")
                self.assertIn(f'"{name}"', error["message"])

    def test_overlong_members(self):
        self.assertApiError(self.call({"key": self.reader, "endpoint": "/" + "e" * 3000}), 400, "invalid_request")
        self.assertApiError(self.call({"key": self.reader, "ip": "1" * 3000}), 400, "invalid_request")
        self.assertApiError(self.call({"key": self.reader, "permission": "p" * 3000}), 400, "invalid_request")

    def test_unknown_members_are_ignored(self):
        answer = self.verify(key=self.reader, extra={"nested": [1, 2]}, another=None)
        self.assertEqual(answer["code"], "granted")

    def test_content_types(self):
        body = json.dumps({"key": self.reader}).encode()
        for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x",
                             "application/jsonx", "application/xml"):
            with self.subTest(content_type=content_type):
                self.assertApiError(self.call(raw=body, content_type=content_type), 415, "unsupported_media_type")
        self.assertApiError(self.call(raw=body, content_type=None), 415, "unsupported_media_type")
        for content_type in ("application/json; charset=utf-8", "Application/JSON"):
            with self.subTest(content_type=content_type):
                response = self.call(raw=body, content_type=content_type)
                self.assertStatus(response, 200)
                self.assertTrue(self.json_of(response)["valid"])

    def test_form_body_is_415_even_when_it_looks_right(self):
        response = self.call(raw=f"key={self.reader}".encode(), content_type="application/x-www-form-urlencoded")
        self.assertApiError(response, 415, "unsupported_media_type")

    def test_no_body(self):
        self.assertApiError(self.call(), 400, "invalid_request")
        self.assertApiError(self.call(raw=b""), 400, "invalid_request")

    def test_body_size_limit(self):
        # exactly 64 KiB is fine
        body = json.dumps({"key": self.reader}).encode()
        exact = body[:-1] + b" " * (65536 - len(body)) + b"}"
        self.assertEqual(len(exact), 65536)
        response = self.call(raw=exact)
        self.assertStatus(response, 200)
        self.assertTrue(self.json_of(response)["valid"])
        # one byte more is 413, and so is far more
        for size in (65537, 300000):
            with self.subTest(size=size):
                over = body[:-1] + b" " * (size - len(body)) + b"}"
                error = self.assertApiError(self.call(raw=over), 413, "body_too_large")
                self.assertIn("64 KiB", error["message"])

    # ---- routing ----

    def test_unknown_api_paths_are_404_json(self):
        # (/api/v1/keys and /api/v1/keys/{key_id} are the management API's: test_api_keys.py.)
        for path in ("/api/", "/api", "/api/v1/key/verify", "/api/v1/keys/verify/", "/api/v1/keys/verify.json",
                     "/api/v2/keys/verify", "/api/v1/keys/verify/extra"):
            with self.subTest(path=path):
                self.assertApiError(self.call({"key": self.reader}, path=path), 404, "not_found")
                self.assertApiError(self.call(None, path=path, method="GET"), 404, "not_found")

    def test_wrong_method_is_405_json_with_allow(self):
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                response = self.call(None, method=method)
                self.assertApiError(response, 405, "method_not_allowed")
                self.assertEqual(response.header("Allow"), "POST")

    def test_no_secret_in_any_answer(self):
        """The key's secret part never comes back, in an answer or an error."""
        for body in ({"key": self.admin}, {"key": with_bad_checksum(self.admin)}, {"key": self.revoked},
                     {"key": self.admin, "ip": 5}):
            response = self.call(body)
            for token in (self.admin, self.revoked):
                self.assertNotIn(token.split("_")[-1][:20], response.text)

    # ---- usage ----

    def test_usage_rows_are_written_for_the_verified_key(self):
        tag = str(time.time_ns())
        self.verify(key=self.office, ip="10.9.8.7", endpoint=f"/orders/{tag}")
        self.verify(key=self.office, ip="11.9.8.7", endpoint=f"/orders/{tag}/refused")
        self.verify(key=self.office, ip="10.9.8.7")  # no endpoint given
        self.verify(key=self.quiet, ip="192.0.2.99", endpoint=f"/quiet/{tag}")
        office_row = self.server.key_row(key_id_of(self.office))["id"]
        quiet_row = self.server.key_row(key_id_of(self.quiet))["id"]
        admin_row = self.server.key_row(key_id_of(self.admin))["id"]

        def rows():
            return self.server.query("SELECT endpoint, client_address, outcome FROM usage_event "
                                     "WHERE api_key_id = ? AND (endpoint LIKE ? OR endpoint = '')",
                                     (office_row, f"/orders/{tag}%"))

        wanted = {(f"/orders/{tag}", "10.9.8.7", "granted"), (f"/orders/{tag}/refused", "11.9.8.7", "ip_not_allowed"),
                  ("", "10.9.8.7", "granted")}  # no endpoint given: recorded as ""
        deadline = time.time() + 6  # written by the recorder's timer, about a second later
        while time.time() < deadline and not wanted <= set(rows()):
            time.sleep(0.1)
        self.assertEqual(wanted - set(rows()), set())
        # The caller's own request is recorded too, under its key and the verify path.
        self.assertGreater(self.server.count("usage_event", "api_key_id = ? AND endpoint = ? AND client_address = ?",
                                             (admin_row, VERIFY, "127.0.0.1")), 0)
        # last_used moved for the verified key.
        self.assertIsNotNone(self.server.key_row(key_id_of(self.office))["last_used_at"])
        # Off the record: nothing about the request, but a count and the last use.
        deadline = time.time() + 6
        while time.time() < deadline and self.server.key_row(key_id_of(self.quiet))["last_used_at"] is None:
            time.sleep(0.1)
        self.assertIsNotNone(self.server.key_row(key_id_of(self.quiet))["last_used_at"])
        self.assertEqual(self.server.count("usage_event", "api_key_id = ?", (quiet_row,)), 0)
        self.assertEqual(self.server.count("usage_event", "endpoint LIKE ?", (f"/quiet/{tag}%",)), 0)
        self.assertEqual(self.server.count("usage_event", "client_address = ?", ("192.0.2.99",)), 0)
        self.assertGreater(self.server.query("SELECT coalesce(sum(calls), 0) FROM usage_anonymous_hourly "
                                             "WHERE api_key_id = ?", (quiet_row,))[0][0], 0)

    def test_every_answer_is_json(self):
        """A sweep of odd requests: each answer is JSON with a status from the documented set."""
        requests = [
            dict(body={"key": self.admin}),
            dict(body=None, caller=None),
            dict(raw=b"\x00\x01\x02"),
            dict(raw=b"{\"key\": \"\\u0000\"}"),
            dict(raw=b"{\"key\": \"kw_\\ud800\"}"),
            dict(body={"key": self.admin}, path="/api/" + "a" * 3000),
            dict(body={"key": "x", "ip": "::ffff:999.1.1.1"}),
            dict(body={"key": self.admin}, headers={"Authorization": "Basic dXNlcjpwYXNz"}, caller=None),
            dict(body={"key": self.admin}, headers={"Authorization": "Bearer"}, caller=None),
        ]
        for request in requests:
            with self.subTest(request=str(request)[:80]):
                response = self.call(**request)
                self.assertIn(response.status, (200, 400, 401, 403, 404, 405, 413, 415), response)
                self.json_of(response)
        self.assertNotIn("AddressSanitizer", self.server.error_log())


class VerifyAppliesTheRulesTest(unittest.TestCase):
    """The verify endpoint and the gatekeeper, one rules file: the same code for the same question."""

    RULES = """# the rules of these tests
require /v1/admin/ api.key.create
require /v1/admin/audit reports.read
require /v1/reports api.key.view
"""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="keyward-verify-rules-")
        rules = os.path.join(cls.folder, "rules")
        with open(rules, "w") as f:
            f.write(cls.RULES)
        cls.keyward = StandaloneKeyward(threads=2, env={"KEYWARD_CONFIG": rules})

        def make(name, *args):
            done = cls.keyward.cli("key", "create", "--name", name, *args)
            assert done.returncode == 0, done.stderr
            return done.stdout.strip()
        cls.verifier = make("Verifier", "--role", "admin")
        cls.admin = make("Admin", "--role", "admin")
        cls.reader = make("Reader", "--role", "read-only")
        cls.office = make("Office", "--role", "read-only", "--cidr", "10.0.0.0/8")

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        shutil.rmtree(cls.folder, ignore_errors=True)
        if sanitizer_report(log):
            raise AssertionError(f"sanitizer report from keyward serve:\n{log[-6000:]}")

    def verify(self, **body):
        data = json.dumps(body).encode()
        stdout, _, _ = fcgi_request(self.keyward.port, {
            "REQUEST_METHOD": "POST", "REQUEST_URI": VERIFY, "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": "Bearer " + self.verifier, "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data))}, data)
        status, _, answer = parse_cgi_output(stdout)
        self.assertEqual(status, 200, answer)
        return json.loads(answer)

    def authorizer_code(self, token, uri, address="127.0.0.1"):
        stdout, _, _ = fcgi_request(self.keyward.port, {
            "REQUEST_METHOD": "GET", "REQUEST_URI": uri, "QUERY_STRING": "", "REMOTE_ADDR": address,
            "HTTP_AUTHORIZATION": "Bearer " + token}, role=FCGI_AUTHORIZER)
        status, _, body = parse_cgi_output(stdout)
        return "granted" if status == 200 else json.loads(body)["code"]

    def test_the_endpoint_is_matched_against_the_rules(self):
        cases = [
            ("reader", "/v1/admin/keys", "insufficient_permissions"),
            ("reader", "/v1/admin", "insufficient_permissions"),
            ("reader", "/v1/%61dmin/keys", "insufficient_permissions"),
            ("reader", "/v1//admin/keys?page=2", "insufficient_permissions"),
            ("reader", "/v1/x/../admin/keys", "insufficient_permissions"),
            ("reader", "/v1/administrators", "granted"),
            ("reader", "/v1/reports/7", "granted"),
            ("reader", "/v1/other", "granted"),
            ("admin", "/v1/admin/keys", "granted"),
            ("admin", "/v1/admin/audit/x", "insufficient_permissions"),  # the longest prefix wins
            ("reader", "/v1/admin/audit/x", "insufficient_permissions"),
        ]
        for who, endpoint, code in cases:
            with self.subTest(who=who, endpoint=endpoint):
                answer = self.verify(key=getattr(self, who), endpoint=endpoint)
                self.assertEqual(answer["code"], code, answer)
                self.assertEqual(answer["valid"], code == "granted")
                self.assertEqual(self.authorizer_code(getattr(self, who), endpoint), code)

    def test_an_explicit_permission_is_checked_too(self):
        # Each of the two may refuse; both must hold.
        self.assertEqual(self.verify(key=self.reader, endpoint="/v1/other", permission="api.key.delete")["code"],
                         "insufficient_permissions")
        self.assertEqual(self.verify(key=self.reader, endpoint="/v1/admin/x", permission="api.key.view")["code"],
                         "insufficient_permissions")
        self.assertEqual(self.verify(key=self.admin, endpoint="/v1/admin/x", permission="api.key.delete")["code"],
                         "granted")
        self.assertEqual(self.verify(key=self.reader, endpoint="/v1/reports", permission="api.key.view")["code"],
                         "granted")
        # Without an endpoint no path, so no rule: the permission alone.
        self.assertEqual(self.verify(key=self.reader)["code"], "granted")
        self.assertEqual(self.verify(key=self.reader, permission="api.key.create")["code"], "insufficient_permissions")

    def test_the_address_comes_before_the_rules_as_at_the_gate(self):
        answer = self.verify(key=self.office, endpoint="/v1/admin/x", ip="192.0.2.1")
        self.assertEqual(answer["code"], "ip_not_allowed")
        self.assertEqual(self.authorizer_code(self.office, "/v1/admin/x", "192.0.2.1"), "ip_not_allowed")
        self.assertEqual(self.verify(key=self.office, endpoint="/v1/admin/x", ip="10.1.2.3")["code"],
                         "insufficient_permissions")
        self.assertEqual(self.verify(key=self.office, endpoint="/v1/x", ip="10.1.2.3")["code"], "granted")

    def test_odd_endpoints(self):
        for endpoint in ("", "v1/admin/x", "/v1/admin/\u00ff", "%", "/v1/admin%2Fx", "?", "#", "/" * 2000):
            with self.subTest(endpoint=endpoint[:20]):
                answer = self.verify(key=self.reader, endpoint=endpoint)
                self.assertIn(answer["code"], ("granted", "insufficient_permissions"), answer)
        self.assertEqual(self.verify(key=self.reader, endpoint="v1/admin/x")["code"], "insufficient_permissions")
        self.assertEqual(self.verify(key=self.reader, endpoint="/v1/admin%2Fx")["code"], "insufficient_permissions")
        self.assertIsNone(self.keyward.process.poll(), "keyward serve stopped")
