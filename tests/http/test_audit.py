"""test_audit.py: every change made in the console or with the command line leaves one audit line:
who (the signed-in user's e-mail address), from where, what, on which key or role, and a
before -> after summary that never holds a secret."""
import re
import subprocess
import uuid

from harness import BIN, ServerTestCase, secret_from
from test_members import PASSWORD, Person


class AuditTest(ServerTestCase):

    def lines(self, target_id):
        return self.server.query("SELECT action, actor_label, client_address, target_type, summary FROM audit_event "
                                 "WHERE target_id = ? ORDER BY id", (target_id,))

    def test_each_key_change_is_recorded_once_with_what_changed(self):
        key_id, secret = self.server.create_key("Audited", role="admin", cidrs=[("10.0.0.0/8", "Office")])
        fields = self.server.key_fields("Audited, renamed", role="read-only", cidrs=[("192.0.2.0/24", "")],
                                        postback_url="https://example.com/hook")
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/edit", fields), 303)
        unchanged = self.server.post(f"/w/1/keys/{key_id}/edit", fields)  # saved again, unchanged: no line
        self.assertStatus(unchanged, 303)
        self.assertIn("Nothing was changed", self.server.follow(unchanged).text)
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/disable"), 303)
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/disable"), 303)  # already disabled: no line
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/enable"), 303)
        regenerated = self.server.post(f"/w/1/keys/{key_id}/regenerate")
        self.assertStatus(regenerated, 303)
        new_secret = secret_from(self.server.follow(regenerated).text)
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/revoke"), 303)

        lines = self.lines(key_id)
        self.assertEqual([line[0] for line in lines], ["key.create", "key.update", "key.disable",
                                                       "key.enable", "key.regenerate", "key.revoke"])
        for action, actor, address, target_type, summary in lines:
            self.assertEqual((actor, address, target_type), (self.server.OWNER_EMAIL, "127.0.0.1", "key"), action)
        created, changed = lines[0][4], lines[1][4]
        self.assertEqual(created, "name “Audited”; role admin; enabled; recorded; networks: 10.0.0.0/8 (Office); "
                                  "POSTback URL: none")
        self.assertEqual(changed, "name: “Audited” → “Audited, renamed”; role: admin → read-only; "
                                  "networks: 10.0.0.0/8 (Office) → 192.0.2.0/24; "
                                  "POSTback URL: none → https://example.com/hook")
        self.assertEqual(lines[2][4], "state: enabled → disabled")
        # No secret, old or new, anywhere in the log.
        everything = " ".join(str(value) for row in self.server.query("SELECT * FROM audit_event") for value in row)
        for token in (secret, new_secret):
            self.assertTrue(token)
            self.assertNotIn(token, everything)
            self.assertNotIn(token[-12:], everything)

    def test_role_changes_are_recorded(self):
        form = [("name", "audited role"), ("description", "First"), ("permission", "api.key.view"),
                ("app_permissions", "messages.send")]
        self.assertStatus(self.server.post("/w/1/roles/new", form), 303)
        role_id = self.server.query("SELECT id FROM role WHERE name = 'audited role'")[0][0]
        edited = [("name", "audited role"), ("description", "Second"), ("permission", "api.key.view"),
                  ("app_permissions", "messages.send reports:read")]
        self.assertStatus(self.server.post(f"/w/1/roles/{role_id}/edit", edited), 303)
        self.assertStatus(self.server.post(f"/w/1/roles/{role_id}/delete"), 303)
        lines = self.lines("audited role")
        self.assertEqual([line[0] for line in lines], ["role.create", "role.update", "role.delete"])
        self.assertEqual(lines[0][4], "name “audited role”; description: “First”; permissions: api.key.view messages.send")
        self.assertEqual(lines[1][4], "description: “First” → “Second”; "
                                      "permissions: api.key.view messages.send → api.key.view messages.send reports:read")
        self.assertIn("reports:read", lines[2][4])

    def add_user(self, email, role="viewer"):
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", email, "--role", role],
                              input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_sign_ins_sign_outs_and_member_changes_say_who_and_from_where(self):
        email = f"comes-and-goes-{uuid.uuid4().hex[:8]}@example.com"
        self.add_user(email)
        person = Person(self.server, email)
        self.assertStatus(person.post("/signin", [("email", email), ("password", "not the password")], csrf=False), 401)
        person.sign_in()
        self.assertStatus(person.get("/w/1/keys"), 200)
        self.assertStatus(person.post("/signout"), 303)
        self.assertEqual(self.lines(email), [
            ("member.add", "command line", "", "member", "added as viewer"),
            ("signin.failed", email, "127.0.0.1", "member", "wrong password"),
            ("signin", email, "127.0.0.1", "member", "signed in"),
            ("signout", email, "127.0.0.1", "member", "signed out"),
        ])
        # The owner changes the member's role and removes them; someone invited joins.
        user = self.server.query("SELECT id FROM user WHERE email = ?", (email,))[0][0]
        self.assertStatus(self.server.post(f"/w/1/members/{user}/role", [("role", "developer")]), 303)
        self.assertStatus(self.server.post(f"/w/1/members/{user}/remove"), 303)
        invited = f"invited-{uuid.uuid4().hex[:8]}@example.com"
        response = self.server.post("/w/1/members/invite", [("email", invited), ("role", "viewer")])
        self.assertStatus(response, 200)
        link = re.sub(r"^https?://[^/]+", "", response.doc.by_id("invitation-link").get("value"))
        joined = Person(self.server, invited).post(link, [("password", PASSWORD), ("password_again", PASSWORD)],
                                                   csrf=False)
        self.assertStatus(joined, 303)
        owner = self.server.OWNER_EMAIL
        self.assertEqual(self.lines(email)[4:], [("member.role", owner, "127.0.0.1", "member", "role: viewer → developer"),
                                                 ("member.remove", owner, "127.0.0.1", "member", "removed (was developer)")])
        self.assertEqual([line[:4] for line in self.lines(invited)],
                         [("member.invite", owner, "127.0.0.1", "member"), ("member.join", invited, "127.0.0.1", "member")])

    def test_a_refused_change_leaves_no_line(self):
        before = self.server.query("SELECT count(*) FROM audit_event")[0][0]
        self.assertStatus(self.server.post("/w/1/keys/new", self.server.key_fields("")), 422)
        self.assertStatus(self.server.post("/w/1/roles/new", [("name", "")]), 422)
        self.assertEqual(self.server.query("SELECT count(*) FROM audit_event")[0][0], before)

    def test_the_command_line_is_recorded_as_such(self):
        token = self.server.create_key_cli("From the shell", "--cidr", "198.51.100.0/24=Lab")
        key_id = "key_" + token.split("_")[2]
        lines = self.lines(key_id)
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0][:4], ("key.create", "command line", "", "key"))
        self.assertIn("networks: 198.51.100.0/24 (Lab)", lines[0][4])
        self.assertNotIn(token, lines[0][4])
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", "audit@example.com",
                               "--role", "viewer"], input="a long enough password\n", capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.lines("audit@example.com")[0][:4], ("member.add", "command line", "", "member"))
        self.assertNotIn("a long enough password",
                         " ".join(str(v) for row in self.server.query("SELECT * FROM audit_event") for v in row))


class AuditPageTest(ServerTestCase):

    def test_the_page_lists_and_filters_and_the_key_page_shows_activity(self):
        key_id, _ = self.server.create_key("Seen <script>alert(1)</script>")
        other_id, _ = self.server.create_key("Another")
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/disable"), 303)

        page = self.server.get("/w/1/audit")
        self.assertStatus(page, 200)
        self.assertIn("Audit log", page.text)
        self.assertNotIn("<script>alert(1)</script>", page.text)  # escaped, never markup
        self.assertIn("&lt;script&gt;", page.text)
        rows = page.doc.find_all("tr")
        self.assertGreaterEqual(len(rows), 4)  # header + 3 changes at least
        # Newest first: the disabling comes before the creations.
        table = page.text[page.text.index("<table"):]
        self.assertLess(table.index("Key disabled"), table.index("Key created"))

        by_key = self.server.get(f"/w/1/audit?target={key_id}")
        self.assertStatus(by_key, 200)
        self.assertIn(key_id, by_key.text)
        self.assertNotIn(other_id, by_key.text)
        self.assertEqual(by_key.doc.by_id("target").get("value"), key_id)

        by_action = self.server.get("/w/1/audit?action=key.disable")
        self.assertIn(key_id, by_action.text)
        self.assertNotIn(other_id, by_action.text)
        self.assertEqual([o.get("value") for o in by_action.doc.find_all("option") if o.has("selected")],
                         ["key.disable"])

        by_actor = self.server.get("/w/1/audit?actor=nobody%40example.com")
        self.assertIn("No changes match", by_actor.text)

        # Filters that cannot be read are left out, not an error.
        odd = self.server.get("/w/1/audit?actor=" + "a" * 400)
        self.assertStatus(odd, 200)
        self.assertIn("could not be read", odd.text)

        key_page = self.server.get(f"/w/1/keys/{key_id}")
        activity = key_page.doc.by_id("activity-title")
        self.assertIsNotNone(activity)
        self.assertIn("Key disabled", key_page.text)
        self.assertIn("state: enabled → disabled", key_page.text)

    def test_filter_options_and_values_come_back_escaped(self):
        # Actors are e-mail addresses, which may hold ' and &; the filter lists each as an option.
        actor = f"o'hara&co-{uuid.uuid4().hex[:6]}@example.com"
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", actor, "--role", "developer"],
                              input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        hostile = Person(self.server, actor)
        hostile.sign_in()
        hostile.get("/w/1/keys")
        name = "\"><img src=x onerror=alert(1)>'<script>alert(1)</script>"
        self.assertStatus(hostile.post("/w/1/keys/new", [("name", name), ("role", self.server.roles()["admin"]),
                                                         ("enabled", "1")]), 303)
        escaped_actor = actor.replace("&", "&amp;").replace("'", "&#39;")
        for path in ("/w/1/audit", "/w/1/audit?actor=" + escaped_actor.replace("&amp;", "%26").replace("&#39;", "%27"),
                     "/w/1/audit?target=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%27%3Cscript%3Ealert(1)%3C%2Fscript%3E"):
            with self.subTest(path=path):
                page = self.server.get(path)
                self.assertStatus(page, 200)
                self.assertIn(actor, [value for value, _ in page.doc.options("actor")])
                self.assertIn(f'<option value="{escaped_actor}"', page.text)
                for raw in (actor, "<img src=x", "<script>alert(1)"):
                    self.assertNotIn(raw, page.text)
        selected = self.server.get("/w/1/audit?actor=" + actor.replace("&", "%26").replace("'", "%27"))
        self.assertEqual(selected.doc.selected("actor"), [actor])
        typed = self.server.get("/w/1/audit?target=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%27%3Cscript%3Ealert(1)"
                                "%3C%2Fscript%3E")
        self.assertEqual(typed.doc.by_id("target").get("value"), name)
        self.assertIn('value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&lt;script&gt;alert(1)&lt;/script&gt;"',
                      typed.text)
