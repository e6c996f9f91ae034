"""test_origin.py: the console's own address, for its Origin check and the links it hands out.

A form a browser posts carries Origin: scheme://host[:port]; keyward compares it with the console's
origin: KEYWARD_PUBLIC_URL's when set, else the request's scheme and Host, with SERVER_PORT when the
Host has no port (Debian's nginx fastcgi_params send $host, the name without the port). Sent
straight to `keyward serve` over FastCGI with the variables each web server would send; the same
through a real nginx is in test_nginx.py.
"""
import os
import re
import subprocess
import unittest
import urllib.parse

from harness import (BIN, TEMPLATES, StandaloneKeyward, add_owner, fcgi_request, free_port, header,
                     parse_cgi_output, sanitizer_report)


class ConsoleOverFastcgi:
    """Sign in and invite over FastCGI to a StandaloneKeyward mounted at `base`."""

    base = ""

    def request(self, method, path, fields=None, cookie=None, **variables):
        body = urllib.parse.urlencode(fields or []).encode()
        params = {"REQUEST_METHOD": method, "REQUEST_URI": self.base + path, "QUERY_STRING": "",
                  "SCRIPT_NAME": "", "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/x-www-form-urlencoded",
                  "CONTENT_LENGTH": str(len(body))}
        if cookie:
            params["HTTP_COOKIE"] = cookie
        params.update({name: value for name, value in variables.items() if value is not None})
        return parse_cgi_output(fcgi_request(self.keyward.port, params, body)[0])

    def sign_in(self, **variables):
        """(status, session cookie or None) of a sign-in with these variables (HTTP_HOST, HTTP_ORIGIN, ...)."""
        status, headers, _ = self.request("POST", "/signin", [("email", self.email), ("password", self.password)],
                                          **variables)
        cookie = header(headers, "Set-Cookie")
        return status, cookie.split(";", 1)[0] if status == 303 and cookie else None

    def invitation_link(self, **variables):
        """Invite someone as the owner with these variables; the link the page shows."""
        status, cookie = self.sign_in(**variables)
        self.assertEqual(status, 303)
        status, _, page = self.request("GET", "/w/1/members", cookie=cookie, **variables)
        self.assertEqual(status, 200, page[:300])
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        self.invited += 1
        status, _, page = self.request("POST", "/w/1/members/invite", [
            ("email", f"invited-{self.invited}@example.com"), ("role", "viewer"), ("csrf", csrf)],
            cookie=cookie, **variables)
        self.assertEqual(status, 200, page[:500])
        return re.search(rb'id="invitation-link"[^>]*value="([^"]+)"', page).group(1).decode()


class RequestOriginTest(ConsoleOverFastcgi, unittest.TestCase):
    """Without KEYWARD_PUBLIC_URL: the request's scheme, host and port."""

    @classmethod
    def setUpClass(cls):
        cls.keyward = StandaloneKeyward(threads=1)
        cls.email, cls.password = add_owner(cls.keyward.database)
        cls.invited = 0

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        assert sanitizer_report(log) is None, log[-4000:]

    def test_the_origin_check_counts_the_port(self):
        # (HTTP_HOST, SERVER_PORT, HTTPS, Origin): whether a browser's sign-in is let in.
        cases = [
            ("localhost:8080", "8080", None, "http://localhost:8080", True),   # lighttpd, Apache, $http_host
            ("localhost", "8080", None, "http://localhost:8080", True),        # Debian's nginx: $host
            ("LocalHost", "8080", None, "http://localhost:8080", True),
            ("localhost", "80", None, "http://localhost", True),
            ("localhost:80", "80", None, "http://localhost", True),
            ("example.com", "443", "on", "https://example.com", True),
            ("example.com", "8443", "on", "https://example.com:8443", True),
            ("[::1]", "8080", None, "http://[::1]:8080", True),
            ("localhost", "8080", None, "http://localhost", False),           # another port: another site
            ("localhost:8080", "8080", None, "http://localhost:9090", False),
            ("localhost", "8080", None, "https://localhost:8080", False),
            ("localhost", "8080", "on", "http://localhost:8080", False),
            ("localhost", "8080", None, "http://evil.example:8080", False),
            ("localhost", "8080", None, "null", False),
            ("localhost", "8080", None, "http://localhost:8080/path", False),
            ("localhost", None, None, "http://localhost:8080", False),
            (None, "8080", None, "http://localhost:8080", False),
            ("bad host", "8080", None, "http://bad host:8080", False),
        ]
        for host, port, https, origin, allowed in cases:
            with self.subTest(host=host, port=port, https=https, origin=origin):
                status, cookie = self.sign_in(HTTP_HOST=host, SERVER_PORT=port, HTTPS=https, HTTP_ORIGIN=origin)
                self.assertEqual(status, 303 if allowed else 403)
                self.assertEqual(cookie is not None, allowed)
        # No Origin (an older browser, a script): not a cross-site form.
        self.assertEqual(self.sign_in(HTTP_HOST="localhost", SERVER_PORT="8080")[0], 303)

    def test_invitation_links_keep_the_port(self):
        token = r"/join/[A-Za-z0-9_-]{43}$"
        self.assertRegex(self.invitation_link(HTTP_HOST="localhost", SERVER_PORT="18701"),
                         r"^http://localhost:18701" + token)
        self.assertRegex(self.invitation_link(HTTP_HOST="localhost:18701", SERVER_PORT="18701"),
                         r"^http://localhost:18701" + token)
        self.assertRegex(self.invitation_link(HTTP_HOST="keys.example", SERVER_PORT="443", HTTPS="on"),
                         r"^https://keys\.example" + token)
        # A Host that is not one: a link without scheme and host, never one to somewhere else.
        self.assertRegex(self.invitation_link(HTTP_HOST="evil.example/x", SERVER_PORT="80"), r"^/join/[A-Za-z0-9_-]{43}$")


class PublicUrlTest(ConsoleOverFastcgi, unittest.TestCase):
    """With KEYWARD_PUBLIC_URL: that address, whatever the request says (port mapping, TLS in front)."""

    base = "/console"

    @classmethod
    def setUpClass(cls):
        cls.keyward = StandaloneKeyward(threads=1, env={"KEYWARD_PUBLIC_URL": "https://Keys.Example.com:443/console/",
                                                        "KEYWARD_BASE_PATH": "/console"})
        cls.email, cls.password = add_owner(cls.keyward.database)
        cls.invited = 0

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        assert sanitizer_report(log) is None, log[-4000:]

    def test_only_the_public_origin_passes(self):
        inside = {"HTTP_HOST": "127.0.0.1", "SERVER_PORT": "8080"}  # what nginx behind a TLS proxy sees
        self.assertEqual(self.sign_in(HTTP_ORIGIN="https://keys.example.com", **inside)[0], 303)
        self.assertEqual(self.sign_in(HTTP_ORIGIN="https://keys.example.com:443", **inside)[0], 303)
        for origin in ("http://127.0.0.1:8080", "http://keys.example.com", "https://keys.example.com:8443",
                       "https://evil.example"):
            with self.subTest(origin=origin):
                self.assertEqual(self.sign_in(HTTP_ORIGIN=origin, **inside)[0], 403)

    def test_links_use_the_public_url(self):
        link = self.invitation_link(HTTP_HOST="127.0.0.1", SERVER_PORT="8080", HTTP_ORIGIN="https://keys.example.com")
        self.assertRegex(link, r"^https://keys\.example\.com/console/join/[A-Za-z0-9_-]{43}$")

    def test_a_malformed_public_url_stops_every_start_with_a_sentence(self):
        port = free_port()
        for url, words in (("keys.example.com", "must start with http:// or https://"),
                           ("https://keys.example.com:0/console", "a scheme, a host and perhaps a port"),
                           ("https://keys.example.com/other", "path must be KEYWARD_BASE_PATH")):
            for command in (["key", "list"], ["serve", "--listen", f"127.0.0.1:{port}"]):
                with self.subTest(url=url, command=command[0]):
                    done = subprocess.run([BIN, "--db", self.keyward.database, *command], capture_output=True,
                                          text=True, timeout=30, stdin=subprocess.DEVNULL,
                                          env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, KEYWARD_PUBLIC_URL=url,
                                                   KEYWARD_BASE_PATH="/console"))
                    self.assertEqual(done.returncode, 1, done.stdout)
                    self.assertIn("KEYWARD_PUBLIC_URL", done.stderr)
                    self.assertIn(words, done.stderr)
                    self.assertIn(url, done.stderr)
                    self.assertIsNone(sanitizer_report(done.stderr))


if __name__ == "__main__":
    unittest.main()
