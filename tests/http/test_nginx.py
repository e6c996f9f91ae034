"""test_nginx.py: keyward behind a real nginx, as www/run-nginx.sh sets it up.

An existing site at /, the console under /keyward/ (console listener), its JSON API and the gate on
the gatekeeper's listener, Debian's fastcgi_params as they are (HTTP_HOST without the port), on a
free port that is never 80. The gatekeeper's own checks against nginx are in test_gatekeeper.py
(NginxGatekeeperTest); here: the console through nginx on that port (sign-in with the browser's
Origin, a key and its secret page, an invitation link that keeps the port), the site beside it,
the gate out of reach, and a 503 that reaches the client as a 503.
"""
import json
import re
import sqlite3
import time

from harness import (ON_POSTGRESQL, FCGI_AUTHORIZER, NginxServer, ServerTestCase, fcgi_request, parse_cgi_output, sanitizer_report,
                     secret_from)

PROTECTED = "/protected/"  # run-nginx.sh's default API_PREFIX; no API behind it: a yes gets nginx's 404


class NginxConsoleTest(ServerTestCase):
    server_class = NginxServer

    def origin(self):
        return f"http://127.0.0.1:{self.server.port}"

    def test_the_existing_site_is_still_served(self):
        for path in ("/", "/index.html"):
            with self.subTest(path=path):
                page = self.server.site_request("GET", path)
                self.assertStatus(page, 200)
                self.assertIn("Hello from the existing site", page.text)
                self.assertIsNone(page.header("Content-Security-Policy"))  # nginx's, not keyward's
        missing = self.server.site_request("GET", "/no-such-page.html")
        self.assertStatus(missing, 404)
        self.assertNotIn("keyward", missing.text.lower())
        # The console lives under /keyward/ only; /keyward itself is redirected there.
        redirect = self.server.site_request("GET", "/keyward")
        self.assertEqual(redirect.status, 301)
        self.assertTrue(redirect.header("Location").endswith("/keyward/"), redirect.headers)
        css = self.server.get("/static/keyward.css")
        self.assertStatus(css, 200)
        self.assertTrue(css.header("Content-Type").startswith("text/css"), css.headers)
        self.assertStatus(self.server.site_request("GET", "/static/keyward.css"), 404)

    def test_sign_in_on_a_port_that_is_not_80(self):
        """Debian's fastcgi_params send HTTP_HOST without the port; the browser's Origin has it."""
        self.assertNotEqual(self.server.port, 80)
        self.server.cookies.clear()
        fields = [("email", self.server.OWNER_EMAIL), ("password", self.server.OWNER_PASSWORD)]
        refused = self.server.post("/signin", fields, csrf=False, headers={"Origin": "http://127.0.0.1"})
        self.assertStatus(refused, 403)
        self.assertNotIn("kw_session", self.server.cookies)
        signed_in = self.server.post("/signin", fields, csrf=False, headers={"Origin": self.origin()})
        self.assertEqual(signed_in.status, 303, signed_in.text[:500])
        self.assertEqual(signed_in.header("Location"), "/keyward/")
        self.assertIn("Path=/keyward;", signed_in.header("Set-Cookie"))
        self.server.refresh_csrf()
        keys = self.server.get("/w/1/keys")
        self.assertStatus(keys, 200)
        self.assertIn('href="/keyward/static/keyward.css"', keys.text)

    def test_a_key_its_secret_page_and_the_gate_through_nginx(self):
        fields = self.server.key_fields("Made through nginx", role="read-only")
        created = self.server.post("/w/1/keys/new", fields, headers={"Origin": self.origin()})
        self.assertEqual(created.status, 303, created.text[:1000])
        self.assertRegex(created.header("Location"),
                         r"^/keyward/w/1/keys/key_[A-Za-z0-9]{16}/secret(\?done=created)?$")
        page = self.server.follow(created)
        self.assertStatus(page, 200)
        self.assertEqual(page.header("Cache-Control"), "no-store")
        token = secret_from(page.text)
        self.assertIsNotNone(token, page.text[:2000])
        # The new key passes the gate at once (nothing behind the prefix: nginx's 404 after the yes).
        passed = self.server.site_request("GET", PROTECTED + "x", {"Authorization": "Bearer " + token})
        self.assertStatus(passed, 404)
        refused = self.server.site_request("GET", PROTECTED + "x")
        self.assertStatus(refused, 401)
        self.assertEqual(json.loads(refused.text)["code"], "missing_key")
        self.assertEqual(refused.header("WWW-Authenticate"), 'Bearer realm="api"')

    def test_an_invitation_link_keeps_the_port(self):
        response = self.server.post("/w/1/members/invite", [("email", "invited@example.com"), ("role", "viewer")],
                                    headers={"Origin": self.origin()})
        self.assertStatus(response, 200)
        link = response.doc.by_id("invitation-link").get("value")
        self.assertRegex(link, rf"^http://127\.0\.0\.1:{self.server.port}/keyward/join/[A-Za-z0-9_-]{{43}}$")
        joined = self.server.get(re.sub(r"^http://[^/]+", "", link), cookies=False, session=False)
        self.assertStatus(joined, 200)
        self.assertIn("invited@example.com", joined.text)

    def test_the_gate_is_out_of_reach_but_for_auth_request(self):
        # The internal location answers 404 to a client, and keyward never hears of it.
        for path in ("/_keyward_gate", "/_keyward_gate?x=1", "/gate", "/keyward/gate"):
            with self.subTest(path=path):
                response = self.server.site_request("GET", path, {"Authorization": "Bearer kw_key_nonsense"})
                self.assertEqual(response.status, 404, response.text[:300])
                self.assertNotIn("X-Keyward-Key-Id", dict(response.headers))
        # The console's listener refuses a gate request outright; the gatekeeper's answers it.
        params = {"SCRIPT_NAME": "/gate", "REQUEST_URI": PROTECTED + "x", "REMOTE_ADDR": "203.0.113.9"}
        status, _, body = parse_cgi_output(fcgi_request(self.server.keyward_port, params)[0])
        self.assertEqual((status, json.loads(body)["error"]["code"]), (404, "gate_not_served"))
        status, _, body = parse_cgi_output(fcgi_request(self.server.gatekeeper_port, params)[0])
        self.assertEqual((status, json.loads(body)["code"]), (401, "missing_key"))
        # And the authorizer role, as ever, on either.
        status, _, _ = parse_cgi_output(fcgi_request(self.server.gatekeeper_port, params, role=FCGI_AUTHORIZER)[0])
        self.assertEqual(status, 401)


class NginxOutageTest(ServerTestCase):
    """keyward gone, then keyward on a damaged database: the client gets 503 and keyward's JSON."""

    server_class = NginxServer

    def test_503_reaches_the_client_as_503(self):
        token = self.server.create_key_cli("Checked")
        headers = {"Authorization": "Bearer " + token}
        self.assertStatus(self.server.site_request("GET", PROTECTED + "x", headers), 404)  # a yes

        # keyward is not running: nginx cannot reach the gate (502), the client gets 503.
        self.server.stop_keyward()
        down = self.server.site_request("GET", PROTECTED + "x", headers)
        self.assertEqual(down.status, 503, down.text[:300])
        self.assertEqual(down.header("Content-Type"), "application/json")
        self.assertEqual(down.header("Cache-Control"), "no-store")
        self.assertEqual(json.loads(down.text), {"code": "unavailable",
                                                 "message": "The key service is busy; try again in a moment"})
        # Nothing else in the location's way is turned into a 503: the site and the console's 502.
        self.assertStatus(self.server.site_request("GET", "/"), 200)
        self.assertStatus(self.server.site_request("GET", "/keyward/"), 502)

        # keyward runs, but cannot read its keys: its own 503 and message reach the client.
        if ON_POSTGRESQL:
            self.skipTest("the rest damages a page of SQLite's file, which a PostgreSQL database does not have")
        database = self.server.database
        with sqlite3.connect(database) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            root = [row[1] for row in connection.execute(
                "SELECT name, rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'api_key'")
                if [info[2] for info in connection.execute(f"PRAGMA index_info('{row[0]}')")] == ["secret_hash"]][0]
            size = connection.execute("PRAGMA page_size").fetchone()[0]
        with open(database, "r+b") as f:
            f.seek((root - 1) * size)
            f.write(b"\xa5" * size)
        self.server.start_keyward()
        damaged = self.server.site_request("GET", PROTECTED + "x", headers)
        self.assertEqual(damaged.status, 503, damaged.text[:300])
        self.assertEqual(damaged.header("Content-Type"), "application/json")
        self.assertEqual(json.loads(damaged.text), {
            "code": "unavailable", "message": "The key service cannot read its keys until its operator repairs it"})
        deadline = time.time() + 5
        while "database damaged" not in self.server.error_log() and time.time() < deadline:
            time.sleep(0.1)
        self.assertIn(f"database damaged: run PRAGMA integrity_check on {database}", self.server.error_log())
        self.assertIn("auth request unexpected status: 503", self.server.error_log())
        self.assertIsNone(sanitizer_report(self.server.error_log()))
