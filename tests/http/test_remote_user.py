"""test_remote_user.py: KEYWARD_TRUST_REMOTE_USER=1 behind the web server's own Basic
authentication, lighttpd (mod_auth, spawned keyward) and Apache (mod_auth_basic, keyward serve
behind mod_proxy_fcgi): the web server's REMOTE_USER is signed in, a REMOTE_USER keyward does not
know signs no one in, and a client cannot claim one with a header."""
import base64
import hashlib
import os
import re
import subprocess
import unittest

from harness import BIN, ApacheGatekeeper, Server, ServerTestCase, apache_modules_folder

STRANGER = "stranger@example.com"


def basic(email, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


class SignedInThroughTheWebServer:
    """The owner exists (password sign-in still works at /signin); the tests sign in through the web server."""

    def sign_in_owner(self):
        super().sign_in_owner()
        self.cookies.clear()
        self.session = None
        self.csrf = None


class RemoteUserServer(SignedInThroughTheWebServer, Server):
    """lighttpd asks for Basic auth on /w/ (workspace pages); keyward trusts its REMOTE_USER."""

    def prepare(self):
        users = os.path.join(self.folder, "users.plain")
        with open(users, "w") as f:
            f.write(f"{self.OWNER_EMAIL}:{self.OWNER_PASSWORD}\n{STRANGER}:the stranger's password\n")
        conf = os.path.join(self.folder, "auth.conf")
        with open(conf, "w") as f:
            f.write(f"""server.modules += ( "mod_authn_file" )  # mod_auth is in www/lighttpd.conf, before mod_fastcgi
auth.backend = "plain"
auth.backend.plain.userfile = "{users}"
$HTTP["url"] =^ "/w/" {{
  auth.require = ( "" => ( "method" => "basic", "realm" => "keyward", "require" => "valid-user" ) )
}}
""")
        return {"TRUST_REMOTE_USER": "1", "CONSOLE_CONF": conf}


class ApacheRemoteUserServer(SignedInThroughTheWebServer, ApacheGatekeeper):
    """Apache asks for Basic auth on /w/ in front of keyward serve (mod_proxy_fcgi)."""

    def prepare(self):
        env = super().prepare()
        users = os.path.join(self.folder, "htpasswd")
        with open(users, "w") as f:
            for email, password in ((self.OWNER_EMAIL, self.OWNER_PASSWORD), (STRANGER, "the stranger's password")):
                digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
                f.write(f"{email}:{{SHA}}{digest}\n")
        modules = apache_modules_folder()
        with open(env["API_CONF"], "a") as f:
            f.write(f"""
LoadModule auth_basic_module "{modules}/mod_auth_basic.so"
LoadModule authn_file_module "{modules}/mod_authn_file.so"
<LocationMatch "^/w/">
    AuthType Basic
    AuthName "keyward"
    AuthBasicProvider file
    AuthUserFile "{users}"
    Require valid-user
</LocationMatch>
""")
        env["KEYWARD_TRUST_REMOTE_USER"] = "1"
        return env


class RemoteUserTest(ServerTestCase):
    server_class = RemoteUserServer

    def test_the_web_servers_user_is_signed_in(self):
        self.server.cookies.clear()
        self.assertStatus(self.server.get("/w/1/keys"), 401)  # lighttpd asks first
        page = self.server.get("/w/1/keys", headers=basic(Server.OWNER_EMAIL, Server.OWNER_PASSWORD))
        self.assertStatus(page, 200)
        self.assertIn(Server.OWNER_EMAIL, page.text)
        self.assertIn("kw_session", self.server.cookies)  # a session, so forms get their token
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        admin = self.server.query("SELECT id FROM role WHERE workspace_id = 1 AND name = 'admin'")[0][0]
        fields = [("name", "Made via REMOTE_USER"), ("role", str(admin)), ("enabled", "1"), ("csrf", csrf)]
        created = self.server.post("/w/1/keys/new", fields,
                                   headers=basic(Server.OWNER_EMAIL, Server.OWNER_PASSWORD), csrf=False)
        self.assertStatus(created, 303)
        key_id = created.header("Location").split("/")[4]
        actor = self.server.query("SELECT actor_label FROM audit_event WHERE action = 'key.create' AND target_id = ?",
                                  (key_id,))
        self.assertEqual(actor, [(Server.OWNER_EMAIL,)])
        signins = self.server.query("SELECT summary FROM audit_event WHERE action = 'signin' AND actor_label = ?",
                                    (Server.OWNER_EMAIL,))
        self.assertIn(("signed in by the web server (REMOTE_USER)",), signins)
        # The next request reuses that session instead of starting another.
        sessions = self.server.count("session")
        self.assertStatus(self.server.get("/w/1/keys", headers=basic(Server.OWNER_EMAIL, Server.OWNER_PASSWORD)), 200)
        self.assertEqual(self.server.count("session"), sessions)

    def test_a_user_keyward_does_not_know_is_not_signed_in(self):
        self.server.cookies.clear()
        response = self.server.get("/w/1/keys", headers=basic(STRANGER, "the stranger's password"))
        self.assertStatus(response, 303)
        self.assertTrue(response.header("Location").startswith("/signin?next="), response.header("Location"))
        self.assertNotIn("kw_session", self.server.cookies)
        self.assertIn("REMOTE_USER is not a keyward user", self.server.error_log())

    def test_a_disabled_user_is_not_signed_in_by_the_web_server(self):
        self.server.cookies.clear()
        added = self.server.cli("user", "add", "--email", STRANGER, input="the stranger's keyward password\n")
        self.assertEqual(added.returncode, 0, added.stderr)
        try:
            page = self.server.get("/w/1/keys", headers=basic(STRANGER, "the stranger's password"))
            self.assertStatus(page, 200)  # enabled: signed in by the web server
            self.assertIn(STRANGER, page.text)
            self.assertEqual(self.server.cli("user", "disable", "--email", STRANGER).returncode, 0)
            # The session the web server started ends, and no new one starts.
            response = self.server.get("/w/1/keys", headers=basic(STRANGER, "the stranger's password"))
            self.assertStatus(response, 303)
            self.assertTrue(response.header("Location").startswith("/signin?next="), response.header("Location"))
            self.assertEqual(self.server.count("session", "user_id = (SELECT id FROM user WHERE email = ?)",
                                               (STRANGER,)), 0)
            with open(os.path.join(self.server.folder, "keyward.log"), encoding="utf-8", errors="replace") as f:
                self.assertIn("REMOTE_USER's keyward account is disabled; nobody signed in", f.read())
        finally:
            self.assertEqual(self.server.cli("user", "remove", "--email", STRANGER).returncode, 0)

    def test_a_client_cannot_claim_a_remote_user_with_a_header(self):
        self.server.cookies.clear()
        # "/" is outside the authenticated part: lighttpd sets no REMOTE_USER there.
        for name in ("Remote-User", "REMOTE_USER", "X-Remote-User"):
            response = self.server.get("/", headers={name: Server.OWNER_EMAIL})
            self.assertStatus(response, 303)
            self.assertTrue(response.header("Location").startswith("/signin"), (name, response.header("Location")))
            self.assertNotIn("kw_session", self.server.cookies)

    def test_the_web_servers_word_wins_over_an_older_cookie(self):
        self.server.cookies.clear()
        other = "other-" + os.urandom(3).hex() + "@example.com"
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", other, "--role", "viewer"],
                              input="another long password\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        signed_in = self.server.post("/signin", [("email", other), ("password", "another long password")], csrf=False)
        self.assertStatus(signed_in, 303)
        old_cookie = self.server.cookies["kw_session"]
        page = self.server.get("/w/1/keys", headers=basic(Server.OWNER_EMAIL, Server.OWNER_PASSWORD))
        self.assertStatus(page, 200)
        self.assertIn(Server.OWNER_EMAIL, page.text)
        self.assertNotIn(other, page.text)
        self.assertNotEqual(self.server.cookies["kw_session"], old_cookie)


class ApacheRemoteUserTest(RemoteUserTest):
    server_class = ApacheRemoteUserServer

    def test_a_user_keyward_does_not_know_is_not_signed_in(self):
        self.server.cookies.clear()
        response = self.server.get("/w/1/keys", headers=basic(STRANGER, "the stranger's password"))
        self.assertStatus(response, 303)
        self.assertTrue(response.header("Location").startswith("/signin?next="), response.header("Location"))
        self.assertNotIn("kw_session", self.server.cookies)
        with open(os.path.join(self.server.folder, "keyward.log"), encoding="utf-8", errors="replace") as f:
            self.assertIn("REMOTE_USER is not a keyward user", f.read())


if __name__ == "__main__":
    unittest.main()
