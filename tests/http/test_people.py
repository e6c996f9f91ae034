"""test_people.py: managing people through the real server and the command line: `keyward user
disable | enable | remove | reset-password | unlock` and `workspace create`, what each does to
sessions that are open in a browser (they stop at the next click), what a disabled person is told
(only after the right password), and the Account page: a new password (the old one required, other
sessions end, this browser stays), signing out everywhere, errors beside their fields. Pages of a
signed-in person are never stored by a cache, and POST answers carry no Server-Timing."""
import re
import sqlite3
import uuid

from harness import Server, ServerTestCase

PASSWORD = "correct horse battery staple"


class Browser:
    """A cookie jar of its own on the class's server: another person, or another browser of one."""

    def __init__(self, server):
        self.server = server
        self.cookies = {}
        self.csrf = None

    def request(self, method, path, fields=None, csrf=True):
        saved, saved_csrf = dict(self.server.cookies), self.server.csrf
        self.server.cookies.clear()
        self.server.cookies.update(self.cookies)
        self.server.csrf = self.csrf if csrf else None
        try:
            if method == "POST":
                return self.server.post(path, fields or [], csrf=csrf)
            return self.server.get(path)
        finally:
            self.cookies = dict(self.server.cookies)
            self.server.cookies.clear()
            self.server.cookies.update(saved)
            self.server.csrf = saved_csrf

    def sign_in(self, email, password=PASSWORD):
        response = self.request("POST", "/signin", [("email", email), ("password", password)], csrf=False)
        if response.status == 303:
            self.refresh()
        return response

    def refresh(self):
        page = self.request("GET", "/account")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        self.csrf = match.group(1) if match else None
        return page

    def signed_in_as(self, email):
        page = self.request("GET", "/account")
        return page.status == 200 and f"Signed in as {email}" in page.text


class PeopleTest(ServerTestCase):

    def setUp(self):
        self.write("DELETE FROM signin_failure")

    def write(self, sql, params=()):
        self.server.execute(sql, params)

    def add_user(self, role="viewer", workspace="1"):
        email = f"person-{uuid.uuid4().hex[:8]}@example.com"
        done = self.server.cli("user", "add", "--email", email, "--role", role, "--workspace", workspace,
                               input=PASSWORD + "\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        return email

    def lines(self, action, email):
        return self.server.query("SELECT workspace_id, actor_label, summary FROM audit_event WHERE action = ? AND "
                                 "target_id = ? ORDER BY workspace_id", (action, email))

    def test_disabling_someone_ends_their_sessions_at_the_next_click(self):
        email = self.add_user("admin")
        second = self.server.cli("workspace", "create", "--name", "Second place", "--owner", Server.OWNER_EMAIL)
        self.assertEqual(second.returncode, 0, second.stderr)
        workspace = second.stdout.strip()
        self.assertEqual(self.server.cli("user", "add", "--email", "x" + email, "--workspace", workspace,
                                         input=PASSWORD + "\n").returncode, 0)
        self.write("INSERT INTO membership (workspace_id, user_id, console_role, created_at) "
                   "SELECT ?, id, 'viewer', 1 FROM user WHERE email = ?", (int(workspace), email))
        laptop, phone = Browser(self.server), Browser(self.server)
        self.assertStatus(laptop.sign_in(email), 303)
        self.assertStatus(phone.sign_in(email), 303)
        self.assertTrue(laptop.signed_in_as(email))
        done = self.server.cli("user", "disable", "--email", email.upper())
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(f"disabled {email}: they cannot sign in; 2 sessions ended", done.stderr)
        # Both browsers are signed out at their next click, forms included.
        for browser in (laptop, phone):
            page = browser.request("GET", "/w/1/keys")
            self.assertStatus(page, 303)
            self.assertTrue(page.header("Location").startswith("/signin?next="))
            self.assertStatus(browser.request("POST", "/w/1/roles/new", [("name", "sneaky")]), 401)
        self.assertEqual(self.server.count("session", "user_id = (SELECT id FROM user WHERE email = ?)", (email,)), 0)
        # One line in each workspace the person belongs to.
        self.assertEqual([line[:2] for line in self.lines("user.disable", email)],
                         [(1, "command line"), (int(workspace), "command line")])
        # Disabling again changes nothing, and says so.
        again = self.server.cli("user", "disable", "--email", email)
        self.assertEqual(again.returncode, 0)
        self.assertIn("was disabled already; nothing was changed", again.stderr)
        self.assertEqual(len(self.lines("user.disable", email)), 2)

    def test_a_disabled_person_learns_it_only_with_the_right_password(self):
        email = self.add_user()
        self.assertEqual(self.server.cli("user", "disable", "--email", email).returncode, 0)
        # Members see who cannot sign in, on the page and on the command line.
        row = [e for e in self.server.get("/w/1/members").doc.find_all("tr") if email in e.text]
        self.assertEqual(len(row), 1)
        self.assertIn("disabled: cannot sign in", row[0].text)
        self.assertRegex(self.server.cli("user", "list").stdout, re.escape(email) + r" +viewer \(disabled\)\n")
        browser = Browser(self.server)
        # A wrong password: the answer anyone gets, word for word.
        wrong = browser.sign_in(email, "not the password at all")
        unknown = browser.sign_in("nobody-" + email, "not the password at all")
        self.assertStatus(wrong, 401)
        self.assertEqual(wrong.doc.by_id("signin-error").text, unknown.doc.by_id("signin-error").text)
        self.assertNotIn("disabled", wrong.text)
        # The right one: told, not signed in.
        right = browser.sign_in(email)
        self.assertStatus(right, 403)
        self.assertIn("This account is disabled", right.doc.by_id("signin-error").text)
        self.assertNotIn("kw_session", browser.cookies)
        self.assertIn(("right password, but the account is disabled",),
                      self.server.query("SELECT summary FROM audit_event WHERE action = 'signin.failed' AND "
                                        "target_id = ?", (email,)))
        # Enabled again: signs in as before.
        done = self.server.cli("user", "enable", "--email", email)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.write("DELETE FROM signin_failure")
        self.assertStatus(browser.sign_in(email), 303)
        self.assertTrue(browser.signed_in_as(email))
        self.assertEqual(len(self.lines("user.enable", email)), 1)

    def test_the_only_owner_cannot_be_disabled_or_removed(self):
        before = self.server.snapshot()
        for command in ("disable", "remove"):
            done = self.server.cli("user", command, "--email", Server.OWNER_EMAIL)
            self.assertEqual(done.returncode, 1, command)
            self.assertIn(f"{Server.OWNER_EMAIL} is the only owner of the workspace “Default” who can sign in",
                          done.stderr)
            self.assertIn("Nothing was changed", done.stderr)
        self.assertEqual(self.server.snapshot(), before)
        self.assertStatus(self.server.get("/w/1/keys"), 200)  # still signed in

    def test_removing_someone_deletes_the_account_and_the_log_keeps_their_address(self):
        email = self.add_user("developer")
        browser = Browser(self.server)
        self.assertStatus(browser.sign_in(email), 303)
        self.server.create_key("Made before the removal")
        done = self.server.cli("user", "remove", "--email", email)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.server.count("user", "email = ?", (email,)), 0)
        self.assertEqual(self.server.count("membership", "user_id NOT IN (SELECT id FROM user)"), 0)
        self.assertStatus(browser.request("GET", "/w/1/keys"), 303)
        self.assertEqual(self.lines("user.remove", email),
                         [(1, "command line", "account removed: memberships and sessions ended")])
        self.assertEqual(self.lines("signin", email)[0][1], email)  # the earlier lines keep the address
        self.assertNotIn(email, self.server.get("/w/1/members").text)
        # The address is free again; removing twice says there is no such user.
        again = self.server.cli("user", "remove", "--email", email)
        self.assertEqual(again.returncode, 1)
        self.assertIn(f"there is no user with the e-mail address {email}", again.stderr)

    def test_reset_password_reads_it_like_user_add_ends_sessions_and_unlocks(self):
        email = self.add_user()
        browser = Browser(self.server)
        self.assertStatus(browser.sign_in(email), 303)
        self.write("INSERT INTO signin_failure (subject, at) SELECT 'email:' || ?, strftime('%s', 'now') "
                   "FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 "
                   "UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL SELECT 10) AS ten",
                   (email,))
        self.assertStatus(Browser(self.server).sign_in(email), 429)  # paused
        for bad, problem in (("", "no password was given"), ("short\n", "Use at least 12 characters")):
            refused = self.server.cli("user", "reset-password", "--email", email, input=bad)
            self.assertEqual(refused.returncode, 1)
            self.assertIn(problem, refused.stderr)
        done = self.server.cli("user", "reset-password", "--email", email, input="a brand new passphrase\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("sign-in unlocked; 1 session ended", done.stderr)
        self.assertStatus(browser.request("GET", "/w/1/keys"), 303)  # the open session ended
        self.assertStatus(Browser(self.server).sign_in(email), 401)  # the old password is gone
        self.write("DELETE FROM signin_failure WHERE subject LIKE 'address:%'")
        self.assertStatus(Browser(self.server).sign_in(email, "a brand new passphrase"), 303)
        self.assertEqual(len(self.lines("user.password", email)), 1)

    def test_unlock_lifts_the_pause_of_an_account(self):
        email = self.add_user()
        self.write("INSERT INTO signin_failure (subject, at) SELECT 'email:' || ?, strftime('%s', 'now') "
                   "FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 "
                   "UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL SELECT 10) AS ten",
                   (email,))
        paused = Browser(self.server).sign_in(email)
        self.assertStatus(paused, 429)
        self.assertIn("paused", paused.text)
        done = self.server.cli("user", "unlock", "--email", email)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("is no longer slowed down or paused", done.stderr)
        self.assertStatus(Browser(self.server).sign_in(email), 303)
        self.assertEqual(len(self.lines("user.unlock", email)), 1)

    def test_person_commands_say_what_is_wrong(self):
        for args, problem in ((("user", "disable"), "usage: keyward user disable --email EMAIL"),
                              (("user", "unlock", "--email", "not-an-address"), "exactly one @"),
                              (("user", "enable", "--email", "nobody@example.com"),
                               "there is no user with the e-mail address nobody@example.com"),
                              (("user", "remove", "--email", "a@example.com", "extra"), "usage: keyward user remove"),
                              (("workspace", "create", "--name", "X"), "usage: keyward workspace create"),
                              (("workspace", "create", "--name", "", "--owner", Server.OWNER_EMAIL),
                               "Enter a name for the workspace"),
                              (("workspace", "create", "--name", "X", "--owner", "nobody@example.com"),
                               "there is no user with the e-mail address nobody@example.com to own it")):
            with self.subTest(args=args):
                done = self.server.cli(*args)
                self.assertNotEqual(done.returncode, 0)
                self.assertIn(problem, done.stderr)
                self.assertNotIn("Sanitizer", done.stderr)

    def test_workspace_create_on_the_command_line(self):
        owner = self.add_user()
        done = self.server.cli("workspace", "create", "--name", "Made on the command line", "--owner", owner)
        self.assertEqual(done.returncode, 0, done.stderr)
        workspace = int(done.stdout.strip())
        self.assertEqual(self.server.query("SELECT console_role FROM membership WHERE workspace_id = ? AND user_id = "
                                           "(SELECT id FROM user WHERE email = ?)", (workspace, owner)), [("owner",)])
        self.assertEqual(self.server.query("SELECT actor_label, action FROM audit_event WHERE workspace_id = ?",
                                           (workspace,)), [("command line", "workspace.create")])
        browser = Browser(self.server)
        self.assertStatus(browser.sign_in(owner), 303)
        self.assertStatus(browser.request("GET", f"/w/{workspace}/keys"), 200)
        # They are its only owner now: not to be disabled. And a disabled user owns nothing new.
        self.assertIn("only owner of the workspace “Made on the command line”",
                      self.server.cli("user", "disable", "--email", owner).stderr)
        disabled = self.add_user()
        self.assertEqual(self.server.cli("user", "disable", "--email", disabled).returncode, 0)
        refused = self.server.cli("workspace", "create", "--name", "Another", "--owner", disabled)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("is disabled", refused.stderr)

    # ---- the Account page ----

    def test_the_account_page_changes_the_password_and_keeps_this_browser(self):
        email = self.add_user("developer")
        here, elsewhere = Browser(self.server), Browser(self.server)
        self.assertStatus(here.sign_in(email), 303)
        self.assertStatus(elsewhere.sign_in(email), 303)
        page = here.refresh()
        self.assertStatus(page, 200)
        self.assertEqual(page.header("Cache-Control"), "no-store")
        self.assertIn("in 2 browsers (this one included)", page.text)
        self.assertEqual(len(page.doc.find_all("a", href="/account")), 1)  # the header links to it
        # Problems go beside their fields; no password comes back.
        for fields, field, problem, status in (
                ([("current_password", ""), ("password", "a new long password"), ("password_again", "x")],
                 "current_password", "Enter your current password.", 422),
                ([("current_password", PASSWORD), ("password", "short"), ("password_again", "short")],
                 "password", "Use at least 12 characters", 422),
                ([("current_password", PASSWORD), ("password", "a new long password"),
                  ("password_again", "another long password")], "password_again", "The two new passwords differ", 422),
                ([("current_password", "a wrong old password"), ("password", "a new long password"),
                  ("password_again", "a new long password")], "current_password",
                 "That is not your current password.", 422)):
            with self.subTest(problem=problem):
                refused = here.request("POST", "/account/password", fields)
                self.assertStatus(refused, status)
                self.assertIn(problem, refused.doc.field_error_for(field) or "")
                self.assertEqual(refused.doc.by_id(field).get("aria-invalid"), "true")
                for _, typed in fields:
                    if typed:
                        self.assertNotIn(f'value="{typed}"', refused.text)
        self.assertEqual(self.server.count("audit_event", "action = 'user.password' AND target_id = ?", (email,)), 0)
        # Without the form's token: refused, nothing changed.
        forged = here.request("POST", "/account/password", [("current_password", PASSWORD), ("password", "x" * 20),
                                                            ("password_again", "x" * 20)], csrf=False)
        self.assertStatus(forged, 403)
        self.write("DELETE FROM signin_failure")
        done = here.request("POST", "/account/password", [("current_password", PASSWORD),
                                                          ("password", "my brand new password"),
                                                          ("password_again", "my brand new password")])
        self.assertStatus(done, 303)
        self.assertEqual(done.header("Location"), "/account?done=password-changed")
        device = [c for c in done.headers_named("Set-Cookie") if c.startswith("kw_device=")]
        self.assertEqual(len(device), 1)  # this browser stays trusted, for the new password
        self.assertIn("Your password is changed", here.request("GET", "/account?done=password-changed").text)
        self.assertTrue(here.signed_in_as(email))
        self.assertFalse(elsewhere.signed_in_as(email))  # the other browser is signed out
        self.assertEqual(self.lines("user.password", email)[0][1:],
                         (email, "password changed; 1 other session ended"))
        self.assertStatus(Browser(self.server).sign_in(email), 401)
        self.assertStatus(Browser(self.server).sign_in(email, "my brand new password"), 303)

    def test_sign_out_everywhere(self):
        email = self.add_user()
        here, elsewhere = Browser(self.server), Browser(self.server)
        self.assertStatus(here.sign_in(email), 303)
        self.assertStatus(elsewhere.sign_in(email), 303)
        self.assertStatus(here.request("POST", "/account/signout-everywhere", [], csrf=False), 403)
        self.assertTrue(elsewhere.signed_in_as(email))
        out = here.request("POST", "/account/signout-everywhere", [])
        self.assertStatus(out, 303)
        self.assertEqual(out.header("Location"), "/signin?done=signed-out-everywhere")
        self.assertIn("You are signed out everywhere", here.request("GET", out.header("Location")).text)
        self.assertFalse(here.signed_in_as(email))
        self.assertFalse(elsewhere.signed_in_as(email))
        self.assertEqual(self.lines("signout.everywhere", email)[0][2], "signed out everywhere (2 sessions)")

    def test_pages_of_a_signed_in_person_are_not_stored_and_forms_are_not_timed(self):
        for path in ("/w/1/", "/w/1/keys", "/w/1/members", "/w/1/audit", "/w/1/roles", "/workspaces", "/account"):
            with self.subTest(path=path):
                page = self.server.get(path)
                self.assertStatus(page, 200)
                self.assertEqual(page.header("Cache-Control"), "no-store")
        self.assertIsNotNone(self.server.get("/w/1/keys").header("Server-Timing"))  # pages are timed
        signin = Browser(self.server).sign_in(Server.OWNER_EMAIL, "a wrong password, timed or not")
        self.assertStatus(signin, 401)
        self.assertIsNone(signin.header("Server-Timing"))
        invited = f"timed-{uuid.uuid4().hex[:8]}@example.com"
        made = self.server.post("/w/1/members/invite", [("email", invited), ("role", "viewer")])
        link = re.search(r'id="invitation-link"[^>]*value="[^"]*(/join/[^"]+)"', made.text).group(1)
        joined = Browser(self.server).request("POST", link, [("password", "a password of twelve"),
                                                             ("password_again", "a password of twelve")], csrf=False)
        self.assertStatus(joined, 303)
        self.assertIsNone(joined.header("Server-Timing"))


class StoreFaultsTest(ServerTestCase):
    """When the database refuses a write (a trigger that raises, as a full disk would), sign-in and
    sign-out say what happened: an attempt that cannot be counted is not checked, a session that
    cannot be ended still works and the answer says so, and an account made by an invitation whose
    session cannot start is said to exist."""

    def fault(self, operation, table):
        self.server.execute(f"CREATE TRIGGER injected BEFORE {operation} ON {table} "
                            "BEGIN SELECT RAISE(ABORT, 'injected'); END")
        self.addCleanup(self.server.execute, "DROP TRIGGER IF EXISTS injected")

    def test_an_attempt_that_cannot_be_counted_is_refused(self):
        self.server.execute("DELETE FROM signin_failure")
        self.fault("INSERT", "signin_failure")
        before = self.server.count("audit_event")
        refused = Browser(self.server).sign_in(Server.OWNER_EMAIL, "a wrong guess that is never checked")
        self.assertErrorPage(refused, 503, "could not record this sign-in attempt")
        right = Browser(self.server).sign_in(Server.OWNER_EMAIL, Server.OWNER_PASSWORD)
        self.assertStatus(right, 503)
        self.assertIsNone(right.header("Set-Cookie"))
        self.assertEqual(self.server.count("audit_event"), before)  # nothing was checked, so nothing to log

    def test_a_sign_out_that_cannot_end_the_session_says_so(self):
        browser = Browser(self.server)
        self.assertStatus(browser.sign_in(Server.OWNER_EMAIL, Server.OWNER_PASSWORD), 303)
        self.fault("DELETE", "session")
        out = browser.request("POST", "/signout", [])
        self.assertErrorPage(out, 500, "could not end your session, so you are still signed in")
        self.assertNotIn("signed-out", out.header("Location") or "")
        self.assertTrue(browser.signed_in_as(Server.OWNER_EMAIL))  # and so it is
        everywhere = browser.request("POST", "/account/signout-everywhere", [])
        self.assertErrorPage(everywhere, 500, "could not end your sessions, so you are still signed in")
        self.server.execute("DROP TRIGGER injected")
        self.assertStatus(browser.request("POST", "/signout", []), 303)
        self.assertFalse(browser.signed_in_as(Server.OWNER_EMAIL))

    def test_a_new_account_whose_session_cannot_start_is_said_to_exist(self):
        invited = f"late-{uuid.uuid4().hex[:8]}@example.com"
        made = self.server.post("/w/1/members/invite", [("email", invited), ("role", "viewer")])
        link = re.search(r'id="invitation-link"[^>]*value="[^"]*(/join/[^"]+)"', made.text).group(1)
        self.fault("INSERT", "session")
        joined = Browser(self.server).request("POST", link, [("password", "a password of twelve"),
                                                             ("password_again", "a password of twelve")], csrf=False)
        self.assertErrorPage(joined, 503, f"Your account {invited} is made", "Sign in with your e-mail address")
        self.assertNotIn("Nothing was changed", joined.text)
        self.assertEqual(self.server.count("user", "email = ?", (invited,)), 1)
        self.server.execute("DROP TRIGGER injected")
        self.assertStatus(Browser(self.server).sign_in(invited, "a password of twelve"), 303)
