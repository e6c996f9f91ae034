"""test_workspaces.py: workspaces through the real server: making one, the switcher, the front door,
and isolation: someone who is not a member gets the same 404 for every URL of another workspace,
whatever the method, and a key or role of one workspace is not reachable through another's URLs.
Also hostile text (markup and SQL) in every text field, shown escaped and stored verbatim on every
page that shows it."""
import re
import sqlite3
import subprocess
import unittest
import uuid

from harness import ON_POSTGRESQL, BIN, Server, ServerTestCase
from test_members import PASSWORD, Person

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
QUOTES = "\"'&"
SQL = "'; DROP TABLE api_key; --"
SQL2 = "Robert'); DELETE FROM user; --"


def escape(text):
    """`text` as the template engine writes it: & < > " ' escaped."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


class WorkspaceTestCase(ServerTestCase):
    def add_user(self, role, workspace=1):
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", email, "--role", role,
                               "--workspace", str(workspace)], input=PASSWORD + "\n", capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return email

    def person(self, role, workspace=1):
        person = Person(self.server, self.add_user(role, workspace))
        person.sign_in()
        return person

    def new_workspace(self, name=None):
        name = name or "Team " + uuid.uuid4().hex[:6]
        response = self.server.post("/workspaces", [("name", name)])
        self.assertStatus(response, 303)
        return int(re.fullmatch(r"/w/(\d+)/keys\?done=workspace-created", response.header("Location")).group(1))


class WorkspaceTest(WorkspaceTestCase):
    def test_making_a_workspace(self):
        name = "Payments " + uuid.uuid4().hex[:6]
        workspace = self.new_workspace(name)
        self.assertEqual(self.server.query("SELECT console_role FROM membership m JOIN user u ON u.id = m.user_id "
                                           "WHERE m.workspace_id = ? AND u.email_folded = ?",
                                           (workspace, Server.OWNER_EMAIL)), [("owner",)])
        self.assertEqual(sorted(r[0] for r in self.server.query("SELECT name FROM role WHERE workspace_id = ?",
                                                                (workspace,))), ["admin", "read-only"])
        self.assertEqual(self.server.count("audit_event", "workspace_id = ? AND action = 'workspace.create'",
                                           (workspace,)), 1)
        page = self.server.get(f"/w/{workspace}/keys?done=workspace-created")
        self.assertStatus(page, 200)
        switcher = re.search(r'<details class="switcher">.*?</details>', page.text, re.S).group(0)
        self.assertIn(f'href="/w/{workspace}/keys" aria-current="page"', switcher)
        self.assertIn('href="/w/1/keys"', switcher)
        self.assertIn('href="/workspaces"', switcher)
        listing = self.server.get("/workspaces")
        self.assertIn(name, listing.text)

    def test_only_owners_make_workspaces(self):
        """A viewer, an admin, and someone removed from every workspace cannot make a workspace of
        their own (where they could mint keys): no form, and 403 with nothing changed if they try."""
        before = self.server.count("workspace")
        admin = self.person("admin")
        removed = self.person("viewer")
        user_id = self.server.query("SELECT id FROM user WHERE email_folded = ?", (removed.email,))[0][0]
        self.assertStatus(self.server.post(f"/w/1/members/{user_id}/remove"), 303)
        for who in (self.person("viewer"), admin, removed):
            with self.subTest(who=who.email):
                page = who.get("/workspaces")
                self.assertStatus(page, 200)
                self.assertIsNone(page.doc.by_id("name"), "a form to make a workspace")
                if who is not removed:  # someone with no workspace is told to ask for an invitation instead
                    self.assertIn("Only owners of a workspace can make a new one", page.text)
                refused = who.post("/workspaces", [("name", "Mine")])
                self.assertErrorPage(refused, 403, "Only an owner of a workspace can make a new one", "Nothing was changed")
                self.assertEqual(self.server.count("workspace"), before)
        # An owner sees the form.
        self.assertIsNotNone(self.server.get("/workspaces").doc.by_id("name"))

    def test_bad_names_are_refused_and_kept(self):
        before = self.server.count("workspace")
        for name in ("", "   ", "x" * 101, "tab\there"):
            response = self.server.post("/workspaces", [("name", name)])
            self.assertStatus(response, 422)
            self.assertIn("name-error", response.doc.by_id("name").get("aria-describedby"))
        response = self.server.post("/workspaces", [("name", "x" * 101)])
        self.assertEqual(response.doc.value("name"), "x" * 101)
        self.assertEqual(self.server.count("workspace"), before)

    def test_the_front_door(self):
        self.assertEqual(self.server.get("/").header("Location"), "/w/1/")
        self.assertStatus(self.server.get("/w/1/"), 200)  # the dashboard
        self.assertEqual(self.server.get("/w/1").header("Location"), "/w/1/")
        loner = Person(self.server, f"loner-{uuid.uuid4().hex[:8]}@example.com")
        # A user who belongs to no workspace (removed from the only one) is shown the list.
        email = self.add_user("viewer")
        loner.email = email
        loner.sign_in()
        user = self.server.query("SELECT id FROM user WHERE email_folded = ?", (email,))[0][0]
        self.assertStatus(self.server.post(f"/w/1/members/{user}/remove"), 303)
        self.assertEqual(loner.get("/").header("Location"), "/workspaces")
        self.assertIn("not a member of any workspace", loner.get("/workspaces").text)


class IsolationTest(WorkspaceTestCase):
    """Workspace B belongs to its owner; an outsider (member of workspace 1 only) probes every URL of B."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server
        response = server.post("/workspaces", [("name", "Secret B")])
        cls.b = int(re.search(r"/w/(\d+)/", response.header("Location")).group(1))
        admin = server.query("SELECT id FROM role WHERE workspace_id = ? AND name = 'admin'", (cls.b,))[0][0]
        cls.b_role = admin
        created = server.post(f"/w/{cls.b}/keys/new", [("name", "Key of B"), ("role", str(admin)), ("enabled", "1")])
        cls.b_key = re.search(r"/keys/(key_[A-Za-z0-9]+)/", created.header("Location")).group(1)
        server.post(f"/w/{cls.b}/members/invite", [("email", "pending-b@example.com"), ("role", "viewer")])
        cls.b_invitation = server.query("SELECT id FROM invitation WHERE workspace_id = ?", (cls.b,))[0][0]
        cls.b_owner = server.query("SELECT id FROM user WHERE email_folded = ?", (Server.OWNER_EMAIL,))[0][0]
        cls.a_key, _ = server.create_key("Key of A")

    def urls(self, workspace, key, role, member, invitation):
        """Every console URL of a workspace, with the methods it answers."""
        w = f"/w/{workspace}"
        return [
            ("GET", f"{w}"), ("GET", f"{w}/"), ("GET", f"{w}/keys"), ("GET", f"{w}/keys?q=B"),
            ("GET", f"{w}/keys/new"), ("POST", f"{w}/keys/new"),
            ("GET", f"{w}/keys/{key}"), ("GET", f"{w}/keys/{key}/usage"), ("GET", f"{w}/keys/{key}/usage?period=30d"),
            ("GET", f"{w}/keys/{key}/edit"), ("POST", f"{w}/keys/{key}/edit"),
            ("POST", f"{w}/keys/{key}/enable"), ("POST", f"{w}/keys/{key}/disable"),
            ("GET", f"{w}/keys/{key}/regenerate"), ("POST", f"{w}/keys/{key}/regenerate"),
            ("GET", f"{w}/keys/{key}/revoke"), ("POST", f"{w}/keys/{key}/revoke"),
            ("GET", f"{w}/keys/{key}/secret"), ("POST", f"{w}/keys/{key}/secret"),
            ("GET", f"{w}/audit"), ("GET", f"{w}/audit?target={key}"),
            ("GET", f"{w}/roles"), ("GET", f"{w}/roles/new"), ("POST", f"{w}/roles/new"),
            ("GET", f"{w}/roles/{role}/edit"), ("POST", f"{w}/roles/{role}/edit"),
            ("GET", f"{w}/roles/{role}/delete"), ("POST", f"{w}/roles/{role}/delete"),
            ("GET", f"{w}/members"), ("POST", f"{w}/members/invite"),
            ("POST", f"{w}/members/{member}/role"), ("GET", f"{w}/members/{member}/remove"),
            ("POST", f"{w}/members/{member}/remove"), ("POST", f"{w}/invitations/{invitation}/cancel"),
            ("GET", f"{w}/nowhere"), ("PUT", f"{w}/keys"),
        ]

    def test_every_url_of_another_workspace_is_404_for_an_outsider(self):
        outsider = self.person("owner")  # owner of workspace 1, a stranger to B
        baseline = outsider.get("/w/1/no-such-page")
        self.assertStatus(baseline, 404)
        before = self.server.row_counts()
        key_before = self.server.key_row(self.b_key)
        for method, path in self.urls(self.b, self.b_key, self.b_role, self.b_owner, self.b_invitation):
            with self.subTest(method=method, path=path):
                fields = [("name", "Taken over"), ("role", "owner"), ("email", "spy@example.com")]
                response = (outsider.post(path, fields) if method == "POST" else outsider.request(method, path))
                self.assertStatus(response, 404)
                self.assertIn("There is no page at this address.", response.text)
                for secret in ("Secret B", "Key of B", self.b_key, "pending-b@example.com"):
                    self.assertNotIn(secret, response.text)
        self.assertEqual(self.server.row_counts(), before)
        self.assertEqual(self.server.key_row(self.b_key), key_before)

    def test_workspaces_that_do_not_exist_or_are_malformed_answer_the_same(self):
        outsider = self.person("viewer")
        for path in ("/w/999999/keys", "/w/0/keys", "/w/01/keys", "/w/abc/keys", "/w/-1/keys", "/w//keys",
                     "/w/99999999999999999999/keys", "/w/"):
            with self.subTest(path=path):
                response = outsider.get(path)
                self.assertStatus(response, 404)
                self.assertIn("There is no page at this address.", response.text)

    def test_a_key_or_role_of_one_workspace_is_not_reachable_through_another(self):
        # The owner is a member of both; workspace 1's key and role under B's URLs are unknown there.
        a_role = self.server.roles()["admin"]
        before = self.server.key_row(self.a_key)
        for method, path in (("GET", f"/w/{self.b}/keys/{self.a_key}"), ("POST", f"/w/{self.b}/keys/{self.a_key}/disable"),
                             ("POST", f"/w/{self.b}/keys/{self.a_key}/revoke"),
                             ("GET", f"/w/{self.b}/keys/{self.a_key}/usage"),
                             ("POST", f"/w/{self.b}/roles/{a_role}/delete"), ("GET", f"/w/{self.b}/roles/{a_role}/edit")):
            with self.subTest(method=method, path=path):
                response = self.server.request(method, path, body=[] if method == "POST" else None)
                self.assertStatus(response, 404)
        self.assertEqual(self.server.key_row(self.a_key), before)
        self.assertEqual(self.server.count("role", "id = ?", (a_role,)), 1)
        # Nor can a key of B be given a role of A.
        edit = self.server.post(f"/w/{self.b}/keys/{self.b_key}/edit", [("name", "Key of B"), ("role", str(a_role))])
        self.assertStatus(edit, 422)

    def test_signed_out_visitors_are_sent_to_sign_in(self):
        response = self.server.get(f"/w/{self.b}/keys", session=False)
        self.assertStatus(response, 303)
        self.assertTrue(response.header("Location").startswith("/signin?next="))
        self.assertStatus(self.server.post(f"/w/{self.b}/keys/{self.b_key}/disable", session=False), 401)


class HostileTextTest(WorkspaceTestCase):
    """Markup comes back escaped on every page that shows it; SQL is stored and shown verbatim."""

    def assertSafe(self, text, where):
        for raw in (SCRIPT, IMAGE):
            self.assertNotIn(raw, text, where)

    def test_key_fields(self):
        name = SCRIPT + QUOTES + SQL
        label = IMAGE + SQL2
        url = "https://example.com/hook?q=%3Cscript%3E&x='\"&y=" + uuid.uuid4().hex[:4]
        key_id, _ = self.server.create_key(name, cidrs=[("10.0.0.0/8", label)], postback_url=url)
        row = self.server.key_row(key_id)
        self.assertEqual(row["name"], name)
        self.assertEqual(self.server.key_cidrs(key_id)[0][1], label)
        self.assertEqual(row["postback_url"], url)
        for path in ("/w/1/keys", f"/w/1/keys/{key_id}", f"/w/1/keys/{key_id}/edit", f"/w/1/keys/{key_id}/usage",
                     "/w/1/audit", f"/w/1/keys/{key_id}/revoke", f"/w/1/keys/{key_id}/regenerate", "/w/1/",
                     "/w/1/keys?q=" + "%3Cscript%3E"):
            with self.subTest(path=path):
                page = self.server.get(path)
                self.assertStatus(page, 200)
                self.assertSafe(page.text, path)
        shown = self.server.get(f"/w/1/keys/{key_id}")
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&#39;; DROP TABLE api_key; --", shown.text)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;Robert&#39;); DELETE FROM user; --", shown.text)
        self.assertGreater(self.server.count("user"), 0)  # the DELETE in the label ran nowhere

    def test_the_filter_box_and_audit_filters(self):
        for path in ("/w/1/keys?q=" + SCRIPT, "/w/1/audit?actor=" + SCRIPT + "&target=" + IMAGE,
                     "/w/1/keys?q=" + "%27%3B%20DROP%20TABLE%20api_key%3B%20--"):
            with self.subTest(path=path):
                page = self.server.get(path.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E"))
                self.assertStatus(page, 200)
                self.assertSafe(page.text, path)
        self.assertIn("value=\"&#39;; DROP TABLE api_key; --\"",
                      self.server.get("/w/1/keys?q=%27%3B%20DROP%20TABLE%20api_key%3B%20--").text)

    def test_role_fields(self):
        description = SCRIPT + SQL
        created = self.server.post("/w/1/roles/new", [("name", "hostile-" + uuid.uuid4().hex[:4]),
                                                       ("description", description)])
        self.assertStatus(created, 303)
        self.assertEqual(self.server.count("role", "description = ?", (description,)), 1)
        for path in ("/w/1/roles", "/w/1/audit"):
            page = self.server.get(path)
            self.assertSafe(page.text, path)
            self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;&#39;; DROP TABLE api_key; --", page.text)
        refused = self.server.post("/w/1/roles/new", [("name", SCRIPT), ("app_permissions", IMAGE)])
        self.assertStatus(refused, 422)
        self.assertSafe(refused.text, "role form")
        self.assertEqual(refused.doc.value("name"), SCRIPT)

    def test_workspace_name_and_invitation_email(self):
        name = SCRIPT + SQL
        workspace = self.new_workspace(name)
        self.assertEqual(self.server.query("SELECT name FROM workspace WHERE id = ?", (workspace,)), [(name,)])
        for path in ("/workspaces", f"/w/{workspace}/", f"/w/{workspace}/keys", "/w/1/keys", f"/w/{workspace}/members"):
            page = self.server.get(path)
            self.assertStatus(page, 200)
            self.assertSafe(page.text, path)
            self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;&#39;; DROP TABLE api_key; --", page.text)
        refused = self.server.post("/w/1/members/invite", [("email", IMAGE), ("role", "viewer")])
        self.assertStatus(refused, 422)
        self.assertSafe(refused.text, "invite form")
        self.assertEqual(refused.doc.value("email"), IMAGE)
        # A real address with quotes and SQL in it is valid; it is shown escaped.
        odd = "o'brien+" + uuid.uuid4().hex[:4] + "@example.com"
        invited = self.server.post("/w/1/members/invite", [("email", odd), ("role", "viewer")])
        self.assertStatus(invited, 200)
        self.assertIn("o&#39;brien", self.server.get("/w/1/members").text)

    def test_invitation_pages_show_a_hostile_workspace_name_and_address_escaped(self):
        name = SCRIPT + "\"><img src=x onerror=alert(1)>'" + SQL
        workspace = self.new_workspace(name)
        email = f"o'neil&co-{uuid.uuid4().hex[:6]}@example.com"
        escaped_name = escape(name)
        escaped_email = escape(email)
        self.assertIn("&#39;", escaped_email)

        def assertEscaped(page, where, shows_name=True):
            for raw in (SCRIPT, "<img src=x", email, name):
                self.assertNotIn(raw, page.text, where)
            self.assertIn(escaped_email, page.text, where)
            if shows_name:
                self.assertIn(escaped_name, page.text, where)

        shown = self.server.post(f"/w/{workspace}/members/invite", [("email", email), ("role", "viewer")])
        self.assertStatus(shown, 200)
        self.assertIn(f"Send this link to {escaped_email}", shown.text)
        assertEscaped(shown, "the invitation-link page")  # the name is in the page's workspace switcher
        link = re.sub(r"^https?://[^/]+", "", shown.doc.by_id("invitation-link").get("value"))

        newcomer = Person(self.server, email)
        page = newcomer.get(link)
        self.assertStatus(page, 200)
        self.assertIn(f"Join “{escaped_name}”", page.text)
        self.assertEqual(page.doc.value("email"), email)
        assertEscaped(page, "the join page")
        differ = newcomer.post(link, [("password", PASSWORD), ("password_again", PASSWORD + "!")], csrf=False)
        self.assertStatus(differ, 422)
        assertEscaped(differ, "the join page with errors")
        someone_else = self.person("viewer").get(link)
        self.assertStatus(someone_else, 403)
        self.assertIn(f"This invitation is for {escaped_email}", someone_else.text)
        assertEscaped(someone_else, "the join page, signed in as another")

    def test_tables_survive(self):
        if ON_POSTGRESQL:
            tables = {row[0] for row in self.server.query("SELECT table_name FROM information_schema.tables "
                                                          "WHERE table_schema = 'public'")}
        else:
            with sqlite3.connect(self.server.database) as db:
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self.assertTrue({"api_key", "user", "role", "workspace", "membership"} <= tables)


if __name__ == "__main__":
    unittest.main()
