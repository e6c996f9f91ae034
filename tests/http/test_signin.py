"""test_signin.py: signing in and out of the console through the real server: the session cookie
(Secure over HTTPS), wrong passwords, throttling and lock-out, sign-out with its CSRF token, idle and
absolute expiry, no fixation, the old session ended by a new sign-in, no open redirect, what was
typed shown back escaped, and the audit log naming who changed what. Every console page needs a
signed-in member whose role allows the action, and every form the session's CSRF token."""
import re
import subprocess
import time
import unittest
import urllib.parse
import uuid

from harness import (connect, BIN, ROOT, StandaloneKeyward, ServerTestCase, add_owner, fcgi_request, header, parse_cgi_output,
                     sanitizer_report)

PASSWORD = "correct horse battery staple"


def post_routes_needing_a_session():
    """The POST routes of the route table (src/pages/pages.c) that need a signed-in person, as
    paths with each {parameter} written *: /workspaces, /signout, /w/*/keys/*/edit ..."""
    with open(f"{ROOT}/src/pages/pages.c", encoding="utf-8") as f:
        source = f.read()
    workspace_at = source.index("workspace_routes[]")
    found = set()
    for match in re.finditer(r'\{ HTTP_POST, "([^"]*)", (\w+), ([^}]*?) \}', source):
        path, handler, need = match.groups()
        if need.strip() == "PUBLIC" and handler != "page_signout":
            continue  # /signin and /join/{token}: no session to hold a token (signout checks its own)
        path = re.sub(r"\{\w+\}", "*", path)
        found.add(("/w/*" + path) if match.start() > workspace_at else path)
    return found


class SignInTest(ServerTestCase):

    def setUp(self):
        self.server.cookies.clear()
        self.server.csrf = None
        # Every test signs in from 127.0.0.1: start each with that address's failures forgotten.
        connection = connect(self.server.database)
        try:
            with connection:
                connection.execute("DELETE FROM signin_failure")
        finally:
            connection.close()

    def add_user(self, role="owner"):
        email = f"user-{uuid.uuid4().hex[:8]}@Example.com"
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", email, "--role", role],
                              input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return email

    def sign_in(self, email, password=PASSWORD, **kw):
        response = self.server.post("/signin", [("email", email), ("password", password), ("next", kw.pop("next", ""))],
                                    **kw)
        if response.status == 303 and kw.get("cookies", True):
            self.server.refresh_csrf()  # later posts carry this session's token
        return response

    def audit(self, action, target):
        return self.server.query("SELECT actor_label, summary FROM audit_event WHERE action = ? AND target_id = ?",
                                 (action, target))

    def test_sign_in_sets_a_private_session_cookie_and_names_the_user(self):
        email = self.add_user()
        response = self.sign_in(email.lower())  # e-mail addresses are matched ignoring case
        self.assertStatus(response, 303)
        self.assertEqual(response.header("Location"), "/")  # the front door leads to the first workspace
        self.assertEqual(self.server.get("/").header("Location"), "/w/1/")
        cookie = response.header("Set-Cookie")
        self.assertRegex(cookie, r"^kw_session=[A-Za-z0-9_-]{43}; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax$")
        page = self.server.get("/w/1/keys")
        self.assertIn(email, page.text)
        signout = page.doc.find_all("form", action="/signout")
        self.assertEqual(len(signout), 1)
        self.assertEqual(len(page.doc.value("csrf") or ""), 43)
        self.assertEqual(self.audit("signin", email), [(email, "signed in")])
        token = self.server.cookies["kw_session"]
        self.assertEqual(self.server.query("SELECT count(*) FROM session WHERE token_hash = ?", (token.encode(),))[0][0], 0)

    def test_wrong_passwords_and_unknown_accounts_get_the_same_answer(self):
        email = self.add_user()
        wrong = self.sign_in(email, "not the password at all")
        unknown = self.sign_in("nobody-" + email, PASSWORD)
        for response in (wrong, unknown):
            self.assertStatus(response, 401)
            self.assertIn("That e-mail address and password do not match", response.text)
            self.assertIsNone(response.header("Set-Cookie"))
        self.assertEqual(wrong.doc.value("email"), email)  # what was typed is kept (not the password)
        self.assertNotIn("not the password at all", wrong.text)
        # The account's workspace logs the failure under its name; an unknown address belongs to no workspace.
        self.assertEqual(self.audit("signin.failed", email), [(email, "wrong password")])
        self.assertEqual(self.audit("signin.failed", "nobody-" + email), [])
        empty = self.server.post("/signin", [("email", ""), ("password", "")])
        self.assertStatus(empty, 422)

    def test_repeated_failures_are_slowed_down(self):
        email = self.add_user()
        for _ in range(3):  # free
            self.assertStatus(self.sign_in(email, "wrong password here"), 401)
        # Then each try waits 1, 2, 4 ... seconds after the latest failure (times are whole seconds,
        # so the first wait may already be over when the next request arrives).
        for _ in range(4):
            response = self.sign_in(email, "wrong password here")
            if response.status == 429:
                break
            self.assertStatus(response, 401)
        self.assertStatus(response, 429)
        slowed = self.sign_in(email, PASSWORD)  # even the right password waits
        self.assertStatus(slowed, 429)
        self.assertIn("Wait", slowed.text)
        self.assertTrue(slowed.header("Retry-After").isdigit())
        self.assertNotIn("kw_session", self.server.cookies)

    def test_sign_out_needs_its_token_and_ends_the_session_for_good(self):
        email = self.add_user()
        self.assertStatus(self.sign_in(email), 303)
        token = self.server.cookies["kw_session"]
        forged = self.server.post("/signout", [], csrf=False)
        self.assertStatus(forged, 403)
        self.assertIn(email, self.server.get("/w/1/keys").text)  # still signed in
        csrf = self.server.get("/w/1/keys").doc.value("csrf")
        out = self.server.post("/signout", [("csrf", csrf)])
        self.assertStatus(out, 303)
        self.assertEqual(out.header("Location"), "/signin?done=signed-out")
        self.assertIn("Max-Age=0", out.header("Set-Cookie"))
        self.assertIn("You are signed out", self.server.follow(out).text)
        # The old cookie, sent again, signs no one in: the session is gone on the server.
        replay = self.server.get("/w/1/keys", headers={"Cookie": f"kw_session={token}"}, cookies=False, session=False)
        self.assertStatus(replay, 303)
        self.assertEqual(replay.header("Location"), "/signin?next=%2Fw%2F1%2Fkeys")

    def test_an_idle_session_expires(self):
        email = self.add_user()
        self.assertStatus(self.sign_in(email), 303)
        connection = connect(self.server.database)
        try:
            with connection:
                connection.execute("UPDATE session SET last_seen_at = last_seen_at - 3 * 3600")
        finally:
            connection.close()
        self.assertNotIn(email, self.server.get("/w/1/keys").text)

    def test_a_planted_cookie_is_never_promoted(self):
        email = self.add_user()
        planted = "A" * 43
        response = self.sign_in(email, headers={"Cookie": f"kw_session={planted}"}, cookies=False)
        self.assertStatus(response, 303)
        self.assertNotIn(planted, response.header("Set-Cookie"))

    def test_a_form_from_another_site_is_refused(self):
        email = self.add_user()
        response = self.sign_in(email, headers={"Origin": "http://evil.example"})
        self.assertStatus(response, 403)
        self.assertNotIn("kw_session", self.server.cookies)

    def test_next_stays_on_this_console(self):
        email = self.add_user()
        self.assertEqual(self.sign_in(email, next="/w/1/roles").header("Location"), "/w/1/roles")
        self.server.cookies.clear()
        for outside in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            self.server.cookies.clear()
            self.assertEqual(self.sign_in(email, next=outside).header("Location"), "/", outside)

    def write(self, sql, params=()):
        connection = connect(self.server.database)
        try:
            with connection:
                connection.execute(sql, params)
        finally:
            connection.close()

    def test_signing_in_again_ends_the_old_session(self):
        first, second = self.add_user(), self.add_user()
        self.assertStatus(self.sign_in(first), 303)
        old = self.server.cookies["kw_session"]
        self.assertIn(first, self.server.get("/w/1/keys").text)
        of = "user_id = (SELECT id FROM user WHERE email = ?)"
        self.assertEqual(self.server.count("session", of, (first,)), 1)
        # The same browser signs in again (as someone else), sending the old cookie along.
        self.assertStatus(self.sign_in(second), 303)
        self.assertNotEqual(self.server.cookies["kw_session"], old)
        self.assertEqual(self.server.count("session", of, (first,)), 0)  # ended on the server, not just replaced
        self.assertEqual(self.server.count("session", of, (second,)), 1)
        replay = self.server.get("/w/1/keys", headers={"Cookie": f"kw_session={old}"}, cookies=False, session=False)
        self.assertStatus(replay, 303)
        self.assertEqual(replay.header("Location"), "/signin?next=%2Fw%2F1%2Fkeys")
        self.assertIn(second, self.server.get("/w/1/keys").text)  # the new one works

    def test_a_session_ends_at_its_absolute_expiry_however_busy(self):
        email = self.add_user()
        self.assertStatus(self.sign_in(email), 303)
        mine = "user_id = (SELECT id FROM user WHERE email = ?)"
        self.assertEqual(self.server.count("session", mine, (email,)), 1)
        # Made 12 hours and a second ago, but used a moment ago: idle expiry does not apply.
        now = int(time.time())
        self.write(f"UPDATE session SET created_at = ?, expires_at = ?, last_seen_at = ? WHERE {mine}",
                   (now - 12 * 3600 - 1, now - 1, now, email))
        page = self.server.get("/w/1/keys")
        self.assertStatus(page, 303)
        self.assertEqual(page.header("Location"), "/signin?next=%2Fw%2F1%2Fkeys")
        self.assertEqual(self.server.count("session", mine, (email,)), 0)  # deleted, not just ignored
        # Just before its end, the same session still works.
        self.assertStatus(self.sign_in(email), 303)
        self.write(f"UPDATE session SET created_at = ?, expires_at = ?, last_seen_at = ? WHERE {mine}",
                   (now - 12 * 3600 + 120, now + 120, now, email))
        self.assertIn(email, self.server.get("/w/1/keys").text)

    def add_failures(self, subject, count, at):
        connection = connect(self.server.database)
        try:
            with connection:
                connection.executemany("INSERT INTO signin_failure (subject, at) VALUES (?, ?)", [(subject, at)] * count)
        finally:
            connection.close()

    def assertRefusedForAWhile(self, response, locked):
        """A 429 with Retry-After and the sentence that says how long (paused 15 minutes when locked)."""
        self.assertStatus(response, 429)
        retry = int(response.header("Retry-After"))
        error = response.doc.by_id("signin-error").text.strip()
        if locked:
            self.assertGreater(retry, 840)
            self.assertLessEqual(retry, 900)
            self.assertRegex(error, r"^Too many failed sign-ins\. For your safety, signing in is paused for 1[45] more "
                                    r"minutes; try again then")
        else:
            self.assertLessEqual(retry, 60)
            self.assertRegex(error, r"^Several sign-ins failed\. Wait \d+ seconds? before trying again\.$")
        self.assertIsNone(response.header("Set-Cookie"))

    def test_ten_failures_lock_the_account_even_for_the_right_password(self):
        email = self.add_user()
        subject = "email:" + email.lower()
        for _ in range(3):  # real failures count in the same table the lock reads
            self.assertStatus(self.sign_in(email, "wrong password here"), 401)
        self.assertEqual(self.server.count("signin_failure", "subject = ?", (subject,)), 3)
        self.assertEqual(self.server.count("signin_failure", "subject = 'address:127.0.0.1'"), 3)
        now = int(time.time())
        self.add_failures(subject, 6, now)  # 9: slowed down (a minute at most), not locked
        self.assertRefusedForAWhile(self.sign_in(email), locked=False)
        self.add_failures(subject, 1, now)  # 10: locked for the window
        before = (self.server.snapshot(), self.server.count("signin_failure"))
        locked = self.sign_in(email)
        self.assertRefusedForAWhile(locked, locked=True)
        self.assertEqual(locked.doc.value("email"), email)
        self.assertNotIn("kw_session", self.server.cookies)
        self.assertEqual((self.server.snapshot(), self.server.count("signin_failure")), before)  # no session, no line
        # Another account at the same address is not locked by it.
        other = self.add_user()
        self.assertStatus(self.sign_in(other), 303)
        self.server.cookies.clear()
        # Once the window has passed since the latest failure, the right password works again.
        self.write("UPDATE signin_failure SET at = ? WHERE subject = ?", (now - 901, subject))
        self.assertStatus(self.sign_in(email), 303)
        self.assertEqual(self.server.count("signin_failure", "subject = ?", (subject,)), 0)  # cleared by success

    def test_thirty_failures_from_one_address_lock_every_account_there(self):
        email = self.add_user()
        now = int(time.time())
        self.add_failures("address:127.0.0.1", 29, now)  # slowed down, not locked
        self.assertRefusedForAWhile(self.sign_in(email), locked=False)
        self.add_failures("address:127.0.0.1", 1, now)
        self.assertRefusedForAWhile(self.sign_in(email), locked=True)
        self.assertRefusedForAWhile(self.sign_in(self.add_user()), locked=True)
        self.assertNotIn("kw_session", self.server.cookies)

    def test_what_was_typed_comes_back_escaped(self):
        for typed in ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "o'neil@example.com",
                      "x'\"><svg onload=alert(1)>@example.com"):
            with self.subTest(typed=typed):
                response = self.sign_in(typed, "some wrong password", next='"><script>alert(2)</script>')
                self.assertIn(response.status, (401, 422))
                self.assertEqual(response.doc.value("email"), typed)  # shown back, as typed
                self.assertEqual(response.doc.value("next"), '"><script>alert(2)</script>')
                for raw in (typed, "<script>alert(2)</script>", "<img src=x", "<svg onload"):
                    self.assertNotIn(raw, response.text)
                escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
                               .replace('"', "&quot;").replace("'", "&#39;")
                self.assertIn(f'value="{escaped}"', response.text)
        page = self.server.get("/signin?next=" + urllib.parse.quote('"><script>alert(3)</script>'))
        self.assertStatus(page, 200)
        self.assertNotIn("<script>alert(3)", page.text)
        self.assertIn('value="&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"', page.text)

    def test_changes_made_while_signed_in_are_logged_under_the_user(self):
        email = self.add_user()
        self.assertStatus(self.sign_in(email), 303)
        key_id, _ = self.server.create_key("Made by a signed-in user")
        self.assertEqual(self.audit("key.create", key_id)[0][0], email)


class ConsoleRequiresSignInTest(ServerTestCase):
    """Every console page wants a signed-in member whose role allows the action; every form wants
    the session's CSRF token; refusals change nothing."""

    def add_user(self, role):
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", email, "--role", role],
                              input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return email

    def counts(self):
        return self.server.query("SELECT (SELECT count(*) FROM api_key), (SELECT count(*) FROM role), "
                                 "(SELECT count(*) FROM api_key WHERE enabled = 0 OR revoked_at IS NOT NULL)")[0]

    def test_signed_out_pages_lead_to_sign_in_and_come_back(self):
        for path in ("/w/1/keys", "/w/1/keys/new", "/w/1/roles", "/w/1/audit", "/w/1/keys?q=a%20b&status=disabled"):
            response = self.server.get(path, session=False)
            self.assertStatus(response, 303)
            self.assertTrue(response.header("Location").startswith("/signin?next=%2F"), response.header("Location"))
        # Coming back: next= is where sign-in leads.
        location = self.server.get("/w/1/roles", session=False).header("Location")
        self.assertEqual(location, "/signin?next=%2Fw%2F1%2Froles")
        self.assertEqual(self.server.get(location, session=False).doc.value("next"), "/w/1/roles")
        # The sign-in page itself and the stylesheet need no session.
        self.assertStatus(self.server.get("/signin", session=False), 200)

    def test_signed_out_forms_change_nothing(self):
        key_id, _ = self.server.create_key("Guarded")
        before = self.counts()
        for path, fields in ((f"/w/1/keys/{key_id}/disable", []), (f"/w/1/keys/{key_id}/revoke", []),
                             ("/w/1/keys/new", self.server.key_fields("Sneaky")), ("/w/1/roles/new", [("name", "sneaky")])):
            response = self.server.post(path, fields, session=False)
            self.assertStatus(response, 401)
            self.assertIn("nothing was saved", response.text)
        self.assertEqual(self.counts(), before)

    def test_every_form_without_the_sessions_token_changes_nothing(self):
        """Each state-changing POST route (route table in src/pages/pages.c, and /workspaces and
        /signout): no csrf field, a made-up one, or another session's token is refused with 403 and
        no row changes; the same form with the right token then goes through (so the refusal was
        the token's doing)."""
        server = self.server
        key_id, _ = server.create_key("Needs its token")
        several = [server.create_key(f"Needs its token too {n}")[0] for n in range(2)]
        for name in ("token-edit", "token-delete"):
            self.assertStatus(server.post("/w/1/roles/new", [("name", name)]), 303)
        role = dict(server.query("SELECT name, id FROM role WHERE workspace_id = 1"))
        member = lambda email: server.query("SELECT id FROM user WHERE email = ?", (email,))[0][0]
        changed, removed = member(self.add_user("viewer")), member(self.add_user("viewer"))
        invited = f"invited-{uuid.uuid4().hex[:8]}@example.com"
        self.assertStatus(server.post("/w/1/members/invite", [("email", invited), ("role", "viewer")]), 200)
        invitation = server.query("SELECT id FROM invitation WHERE email = ?", (invited,))[0][0]
        # Another signed-in person's token: a real token, of the wrong session.
        other = self.add_user("viewer")
        signed_in = server.request("POST", "/signin", [("email", other), ("password", PASSWORD)], cookies=False,
                                   session=False, csrf=False)
        self.assertStatus(signed_in, 303)
        other_cookie = signed_in.header("Set-Cookie").split(";", 1)[0]
        other_csrf = server.get("/w/1/keys", headers={"Cookie": other_cookie}, cookies=False, session=False).doc.value("csrf")
        self.assertEqual(len(other_csrf), 43)
        self.assertNotEqual(other_csrf, server.csrf)

        # (path, fields, whether the form changes rows when it goes through), in an order where each still can.
        forms = [
            ("/workspaces", [("name", "Made with its token")], True),
            ("/w/1/keys/new", server.key_fields("Made with its token"), True),
            (f"/w/1/keys/{key_id}/edit", server.key_fields("Renamed with its token"), True),
            (f"/w/1/keys/{key_id}/disable", [], True),
            (f"/w/1/keys/{key_id}/enable", [], True),
            ("/w/1/keys/bulk/disable", [("key", k) for k in several], True),  # several keys at once
            ("/w/1/keys/bulk/enable", [("key", k) for k in several], True),
            ("/w/1/keys/bulk/revoke", [("key", k) for k in several], True),
            (f"/w/1/keys/{key_id}/regenerate", [("overlap", "1h")], True),
            (f"/w/1/keys/{key_id}/secret", [("copied", "1")], False),  # closes the secret page, changes nothing
            (f"/w/1/keys/{key_id}/end-overlap", [], True),  # the previous secret, kept for an hour, stops now
            (f"/w/1/keys/{key_id}/allowlist/off", [], True),
            (f"/w/1/keys/{key_id}/allowlist/on", [], True),
            (f"/w/1/keys/{key_id}/allowlist/add", [("cidr", "192.0.2.0/24"), ("label", "with its token")], True),
            (f"/w/1/keys/{key_id}/allowlist/remove", [("cidr", "192.0.2.0/24")], True),
            (f"/w/1/keys/{key_id}/revoke", [], True),
            ("/w/1/keys/find", [("q", "Made with")], False),  # a filter: redirects to the list, changes nothing
            ("/w/1/roles/new", [("name", "made-with-token")], True),
            (f"/w/1/roles/{role['token-edit']}/edit", [("name", "token-edit"), ("description", "edited")], True),
            (f"/w/1/roles/{role['token-delete']}/delete", [], True),
            ("/w/1/members/invite", [("email", f"new-{uuid.uuid4().hex[:8]}@example.com"), ("role", "viewer")], True),
            (f"/w/1/members/{changed}/role", [("role", "developer")], True),
            (f"/w/1/members/{removed}/remove", [], True),
            (f"/w/1/invitations/{invitation}/cancel", [], True),
            ("/account/password", [("current_password", server.OWNER_PASSWORD), ("password", "a new long password"),
                                   ("password_again", "a new long password")], True),
            ("/signout", [], True),  # ends the session
            # Signs out everywhere: a new session first, with the owner's password as it was.
            ("/account/signout-everywhere", [], True, self.reset_owner_and_sign_in),
        ]
        covered = {re.sub(r"/(key_[0-9A-Za-z]+|\d+)(?=/)", "/*", path) for path, *_ in forms}
        self.assertEqual(covered, post_routes_needing_a_session(), "a POST route without a CSRF row here")
        try:
            for path, fields, changes, *prepare in forms:
                for step in prepare:
                    step()
                with self.subTest(path=path):
                    before = server.snapshot()
                    for attempt, extra in (("missing", []), ("made up", [("csrf", "A" * 43)]),
                                           ("another session's", [("csrf", other_csrf)])):
                        response = server.post(path, fields + extra, csrf=False)
                        self.assertStatus(response, 403)
                        self.assertIn("has expired or came from another site", response.text, attempt)
                        self.assertEqual(server.snapshot(), before, f"{attempt} token: something changed")
                    done = server.post(path, fields)
                    self.assertIn(done.status, (200, 303), done.text[:1000])
                    if changes:
                        self.assertNotEqual(server.snapshot(), before, "the form changes nothing even with its token")
        finally:
            server.cookies.clear()
            server.sign_in_owner()

    def reset_owner_and_sign_in(self):
        """Give the owner their usual password back (keyward user reset-password) and sign them in."""
        done = subprocess.run([BIN, "--db", self.server.database, "user", "reset-password", "--email",
                               self.server.OWNER_EMAIL], input=self.server.OWNER_PASSWORD + "\n", capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.server.cookies.clear()
        self.server.sign_in_owner()

    def test_a_viewer_sees_keys_but_changes_nothing(self):
        key_id, _ = self.server.create_key("Watched by a viewer")
        new_key = self.server.key_fields("No")  # read while the owner may open the form
        owner_cookies, owner_csrf = dict(self.server.cookies), self.server.csrf
        viewer = self.add_user("viewer")
        try:
            self.server.cookies.clear()
            self.assertStatus(self.server.post("/signin", [("email", viewer), ("password", PASSWORD)], csrf=False), 303)
            self.server.refresh_csrf()
            self.assertStatus(self.server.get("/w/1/keys"), 200)
            self.assertStatus(self.server.get(f"/w/1/keys/{key_id}"), 200)
            self.assertStatus(self.server.get("/w/1/roles"), 200)
            before = self.counts()
            for method, path, fields in (("GET", "/w/1/keys/new", None), ("POST", "/w/1/keys/new", new_key),
                                         ("GET", f"/w/1/keys/{key_id}/edit", None),
                                         ("POST", f"/w/1/keys/{key_id}/disable", []),
                                         ("POST", f"/w/1/keys/{key_id}/regenerate", []),
                                         ("POST", f"/w/1/keys/{key_id}/revoke", []),
                                         ("GET", "/w/1/roles/new", None), ("POST", "/w/1/roles/new", [("name", "nope")])):
                response = self.server.request(method, path, fields)
                self.assertStatus(response, 403)
                self.assertIn("(viewer) does not allow this", response.text)
            self.assertEqual(self.counts(), before)
        finally:
            self.server.cookies.clear()
            self.server.cookies.update(owner_cookies)
            self.server.csrf = owner_csrf

    def test_a_developer_may_create_but_not_revoke(self):
        owner_cookies, owner_csrf = dict(self.server.cookies), self.server.csrf
        developer = self.add_user("developer")
        try:
            self.server.cookies.clear()
            self.assertStatus(self.server.post("/signin", [("email", developer), ("password", PASSWORD)], csrf=False),
                              303)
            self.server.refresh_csrf()
            key_id, _ = self.server.create_key("Made by a developer")
            self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/disable", []), 303)
            self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/revoke", []), 403)
            self.assertStatus(self.server.get("/w/1/roles/new"), 403)
        finally:
            self.server.cookies.clear()
            self.server.cookies.update(owner_cookies)
            self.server.csrf = owner_csrf


class SecureCookieTest(unittest.TestCase):
    """The session cookie is Secure when the request came over HTTPS (the web server's HTTPS=on or
    REQUEST_SCHEME=https), and not over plain HTTP, where a browser would drop a Secure cookie.
    Sent straight to `keyward serve` over FastCGI, since the test web server speaks plain HTTP."""

    @classmethod
    def setUpClass(cls):
        cls.keyward = StandaloneKeyward(threads=1)
        cls.email, cls.password = add_owner(cls.keyward.database)

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        assert sanitizer_report(log) is None, log[-4000:]

    def sign_in(self, **https):
        body = urllib.parse.urlencode({"email": self.email, "password": self.password}).encode()
        params = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/signin", "QUERY_STRING": "", "SCRIPT_NAME": "",
                  "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "console.example", "CONTENT_TYPE":
                  "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)), **https}
        status, headers, _ = parse_cgi_output(fcgi_request(self.keyward.port, params, body)[0])
        self.assertEqual(status, 303)
        return header(headers, "Set-Cookie")

    def test_secure_over_https_only(self):
        for https in ({"HTTPS": "on"}, {"REQUEST_SCHEME": "https"}):
            with self.subTest(https=https):
                cookie = self.sign_in(**https)
                self.assertRegex(cookie, r"^kw_session=[A-Za-z0-9_-]{43}; Path=/; Max-Age=43200; HttpOnly; "
                                         r"SameSite=Lax; Secure$")
        for plain in ({}, {"HTTPS": "off"}, {"REQUEST_SCHEME": "http"}):
            with self.subTest(plain=plain):
                cookie = self.sign_in(**plain)
                self.assertRegex(cookie, r"^kw_session=[A-Za-z0-9_-]{43}; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax$")
                self.assertNotIn("Secure", cookie)


if __name__ == "__main__":
    unittest.main()
