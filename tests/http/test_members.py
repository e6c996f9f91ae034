"""test_members.py: a workspace's members through the real server: invitation links (shown once,
stored hashed, for one address, replaced, cancelled, used once, expiring), joining with a new or an
existing account, changing roles and removing members (admins cannot touch owners; a workspace
keeps an owner), the setup link for the first owner (and `make run` printing it), the audit lines
of each, every write of the route table refused to the roles that may not make it, and the issue's
"done when": an invited viewer sees the keys and can change none."""
import os
import re
import subprocess
import unittest
import uuid

from harness import (ON_POSTGRESQL, database_env, connect, BIN, ROOT, ApacheGatekeeper, Server, ServerTestCase, apache_binary, free_port, init_database,
                     sanitizer_report, wait_for_port)

PASSWORD = "a long member password"


class Person:
    """Someone with a browser of their own: a cookie jar of one session and its CSRF token."""

    def __init__(self, server, email=None):
        self.server = server
        self.email = email
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, csrf=True):
        if method == "POST" and csrf and self.csrf is not None:
            body = list(body or []) + [("csrf", self.csrf)]
        headers = {"Cookie": self.cookie} if self.cookie else {}
        response = self.server.request(method, path, body=body if method == "POST" else None, headers=headers,
                                       cookies=False, session=False, csrf=False)
        for value in response.headers_named("Set-Cookie"):
            if value.startswith("kw_session="):
                pair = value.split(";", 1)[0]
                self.cookie = None if "Max-Age=0" in value else pair
        match = re.search(r'name="csrf" value="([^"]+)"', response.text)
        if match:
            self.csrf = match.group(1)
        return response

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body=None, csrf=True):
        return self.request("POST", path, body or [], csrf)

    def sign_in(self):
        response = self.request("POST", "/signin", [("email", self.email), ("password", PASSWORD)], csrf=False)
        assert response.status == 303, response.text[:500]
        self.get("/")  # a page with forms: the CSRF token
        return response


class MembersTestCase(ServerTestCase):
    def new_email(self, tag="member"):
        return f"{tag}-{uuid.uuid4().hex[:8]}@example.com"

    def add_user(self, role, workspace=1, email=None):
        email = email or self.new_email(role)
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", email, "--role", role,
                               "--workspace", str(workspace)], input=PASSWORD + "\n", capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return email

    def person(self, role, workspace=1):
        person = Person(self.server, self.add_user(role, workspace))
        person.sign_in()
        return person

    def user_id(self, email):
        return self.server.query("SELECT id FROM user WHERE email_folded = ?", (email.lower(),))[0][0]

    def role_of(self, email, workspace=1):
        rows = self.server.query("SELECT console_role FROM membership m JOIN user u ON u.id = m.user_id "
                                 "WHERE u.email_folded = ? AND m.workspace_id = ?", (email.lower(), workspace))
        return rows[0][0] if rows else None

    def invite(self, email, role="viewer", who=None):
        """Invite as the harness owner (or `who`); returns (response, the link's path or None)."""
        fields = [("email", email), ("role", role)]
        response = (who.post("/w/1/members/invite", fields) if who else self.server.post("/w/1/members/invite", fields))
        link = None
        if response.status == 200:
            value = response.doc.by_id("invitation-link").get("value")
            link = re.sub(r"^https?://[^/]+", "", value)
        return response, link

    def audit(self, action, target):
        return self.server.query("SELECT actor_label, summary FROM audit_event WHERE action = ? AND target_id = ?",
                                 (action, target))

    def targets(self, key_id):
        """What the routes of WRITES point at: a key, a key role, a member, a pending invitation."""
        name = "target-" + uuid.uuid4().hex[:6]
        self.assertStatus(self.server.post("/w/1/roles/new", [("name", name), ("description", "kept")]), 303)
        invited = self.new_email("pending")
        self.assertStatus(self.invite(invited)[0], 200)
        return {"key": key_id, "admin": self.server.roles()["admin"],
                "role": self.server.query("SELECT id FROM role WHERE name = ?", (name,))[0][0],
                "user": self.user_id(self.add_user("viewer")),
                "invitation": self.server.query("SELECT id FROM invitation WHERE email = ?", (invited,))[0][0]}


# Every write a console role may be refused, as (method, route, the fields to send, the roles the
# README's role table refuses it to: a developer may do anything to keys but revoke them; a viewer
# nothing). The routes are those of the route table in src/pages/pages.c, {parameter}s and all;
# WriteRefusalTest checks that none is missing.
WRITES = [
    ("POST", "/keys/new", lambda t: [("name", "Not allowed"), ("role", t["admin"])], {"viewer"}),
    ("POST", "/keys/{key}/edit", lambda t: [("name", "Renamed"), ("role", t["admin"])], {"viewer"}),
    ("POST", "/keys/{key}/enable", lambda t: [], {"viewer"}),
    ("POST", "/keys/{key}/disable", lambda t: [], {"viewer"}),
    ("POST", "/keys/{key}/regenerate", lambda t: [], {"viewer"}),
    ("POST", "/keys/{key}/end-overlap", lambda t: [], {"viewer"}),
    ("POST", "/keys/{key}/allowlist/on", lambda t: [], {"viewer"}),
    ("POST", "/keys/{key}/allowlist/off", lambda t: [], {"viewer"}),
    ("POST", "/keys/{key}/allowlist/add", lambda t: [("cidr", "192.0.2.0/24"), ("label", "not for viewers")],
     {"viewer"}),
    ("POST", "/keys/{key}/allowlist/remove", lambda t: [("cidr", "192.0.2.0/24")], {"viewer"}),
    ("POST", "/keys/{key}/revoke", lambda t: [], {"viewer", "developer"}),
    ("POST", "/keys/{key}/secret", lambda t: [("copied", "1")], set()),  # closes the secret page: changes nothing
    ("POST", "/keys/find", lambda t: [("q", "billing")], set()),  # the list's filter form: changes nothing
    ("POST", "/keys/bulk/disable", lambda t: [("key", t["key"])], {"viewer"}),  # several keys at once
    ("POST", "/keys/bulk/enable", lambda t: [("key", t["key"])], {"viewer"}),
    ("POST", "/keys/bulk/revoke", lambda t: [("key", t["key"])], {"viewer", "developer"}),
    ("POST", "/roles/new", lambda t: [("name", "not-allowed")], {"viewer", "developer"}),
    ("POST", "/roles/{role}/edit", lambda t: [("name", "renamed"), ("description", "not allowed")],
     {"viewer", "developer"}),
    ("POST", "/roles/{role}/delete", lambda t: [], {"viewer", "developer"}),
    ("POST", "/members/invite", lambda t: [("email", "not-allowed@example.com"), ("role", "viewer")],
     {"viewer", "developer"}),
    ("POST", "/members/{user}/role", lambda t: [("role", "owner")], {"viewer", "developer"}),
    ("POST", "/members/{user}/remove", lambda t: [], {"viewer", "developer"}),
    ("POST", "/invitations/{invitation}/cancel", lambda t: [], {"viewer", "developer"}),
    # The forms and confirmation pages of those writes.
    ("GET", "/keys/new", None, {"viewer"}),
    ("GET", "/keys/{key}/edit", None, {"viewer"}),
    ("GET", "/keys/{key}/regenerate", None, {"viewer"}),
    ("GET", "/keys/{key}/revoke", None, {"viewer", "developer"}),
    ("GET", "/keys/bulk/disable", None, {"viewer"}),
    ("GET", "/keys/bulk/enable", None, {"viewer"}),
    ("GET", "/keys/bulk/revoke", None, {"viewer", "developer"}),
    ("GET", "/roles/new", None, {"viewer", "developer"}),
    ("GET", "/roles/{role}/edit", None, {"viewer", "developer"}),
    ("GET", "/roles/{role}/delete", None, {"viewer", "developer"}),
    ("GET", "/members/{user}/remove", None, {"viewer", "developer"}),
]


def workspace_routes():
    """(method, path pattern, required permissions) of every route in workspace_routes[] of src/pages/pages.c."""
    with open(os.path.join(ROOT, "src", "pages", "pages.c"), encoding="utf-8") as f:
        source = f.read()
    table = source[source.index("workspace_routes[] = {"):]
    table = table[:table.index("};")]
    return [(method, path, need) for method, path, need in
            re.findall(r'\{ HTTP_(GET|POST), "([^"]*)", \w+, NEEDS\(([^)]*)\) \}', table)]


class InvitationTest(MembersTestCase):
    def test_an_invitation_link_is_shown_once_and_stored_hashed(self):
        email = self.new_email()
        response, link = self.invite(email, "developer")
        self.assertStatus(response, 200)
        self.assertEqual(response.header("Cache-Control"), "no-store")
        value = response.doc.by_id("invitation-link").get("value")
        self.assertRegex(value, rf"^http://127\.0\.0\.1:{self.server.port}/join/[A-Za-z0-9_-]{{43}}$")
        token = link.rsplit("/", 1)[1]
        if ON_POSTGRESQL:  # the database is no file there: look through all of it, dumped
            self.assertNotIn(token.encode(), self.server.dump())
        else:
            with open(self.server.database, "rb") as f:
                self.assertNotIn(token.encode(), f.read())
        self.assertEqual(self.server.count("invitation", "email = ? AND accepted_at IS NULL", (email,)), 1)
        members = self.server.get("/w/1/members")
        self.assertIn(email, members.text)
        self.assertNotIn(token, members.text)
        self.assertEqual(self.audit("member.invite", email)[0], (Server.OWNER_EMAIL, "invited as developer"))

    def test_bad_invitations_are_refused_and_keep_what_was_typed(self):
        before = self.server.count("invitation")
        response, _ = self.invite("not an address", "viewer")
        self.assertStatus(response, 422)
        self.assertEqual(response.doc.value("email"), "not an address")
        self.assertIn("email-error", response.doc.by_id("email").get("aria-describedby"))
        response, _ = self.invite(self.new_email(), "superuser")
        self.assertStatus(response, 422)
        response, _ = self.invite(Server.OWNER_EMAIL, "viewer")
        self.assertStatus(response, 409)
        self.assertIn("already a member", response.text)
        self.assertEqual(self.server.count("invitation"), before)

    def test_inviting_again_replaces_the_link_and_cancel_withdraws_it(self):
        email = self.new_email()
        _, first = self.invite(email)
        _, second = self.invite(email, "developer")
        stranger = Person(self.server)
        self.assertStatus(stranger.get(first), 404)
        self.assertStatus(stranger.get(second), 200)
        invitation = self.server.query("SELECT id FROM invitation WHERE email = ? AND accepted_at IS NULL", (email,))
        self.assertEqual(len(invitation), 1)
        cancelled = self.server.post(f"/w/1/invitations/{invitation[0][0]}/cancel")
        self.assertStatus(cancelled, 303)
        self.assertEqual(cancelled.header("Location"), "/w/1/members?done=invitation-cancelled")
        self.assertStatus(stranger.get(second), 404)
        self.assertStatus(self.server.post(f"/w/1/invitations/{invitation[0][0]}/cancel"), 404)
        self.assertEqual(len(self.audit("invitation.cancel", email)), 1)

    def test_a_new_account_joins_once_with_the_invited_role(self):
        email = self.new_email()
        _, link = self.invite(email, "developer")
        newcomer = Person(self.server, email)
        page = newcomer.get(link)
        self.assertStatus(page, 200)
        self.assertEqual(page.header("Cache-Control"), "no-store")
        self.assertIn(email, page.text)
        short = newcomer.post(link, [("password", "short"), ("password_again", "short")], csrf=False)
        self.assertStatus(short, 422)
        self.assertNotIn('value="short"', short.text)
        differ = newcomer.post(link, [("password", PASSWORD), ("password_again", PASSWORD + "!")], csrf=False)
        self.assertStatus(differ, 422)
        self.assertEqual(self.server.count("user", "email_folded = ?", (email,)), 0)
        joined = newcomer.post(link, [("password", PASSWORD), ("password_again", PASSWORD)], csrf=False)
        self.assertStatus(joined, 303)
        self.assertEqual(joined.header("Location"), "/w/1/keys?done=joined")
        self.assertIsNotNone(newcomer.cookie)
        self.assertEqual(self.role_of(email), "developer")
        self.assertStatus(newcomer.get("/w/1/keys"), 200)
        self.assertEqual(len(self.audit("member.join", email)), 1)
        # Used up: the link answers 410 to anyone, and makes nobody else.
        self.assertStatus(Person(self.server).get(link), 410)
        again = Person(self.server).post(link, [("password", PASSWORD), ("password_again", PASSWORD)], csrf=False)
        self.assertStatus(again, 410)

    def test_an_expired_link_is_gone(self):
        email = self.new_email()
        _, link = self.invite(email)
        with connect(self.server.database) as db:
            db.execute("UPDATE invitation SET expires_at = 1 WHERE email = ?", (email,))
        self.assertStatus(Person(self.server).get(link), 410)
        joined = Person(self.server, email).post(link, [("password", PASSWORD), ("password_again", PASSWORD)],
                                                 csrf=False)
        self.assertStatus(joined, 410)
        self.assertEqual(self.server.count("user", "email_folded = ?", (email,)), 0)

    def test_someone_with_an_account_signs_in_first_then_joins(self):
        email = self.add_user("viewer", workspace=1)
        workspace = self.server.post("/workspaces", [("name", "Second " + uuid.uuid4().hex[:6])])
        second = re.search(r"/w/(\d+)/", workspace.header("Location")).group(1)
        response = self.server.post(f"/w/{second}/members/invite", [("email", email), ("role", "admin")])
        link = re.sub(r"^https?://[^/]+", "", response.doc.by_id("invitation-link").get("value"))
        invitee = Person(self.server, email)
        page = invitee.get(link)
        self.assertStatus(page, 200)
        self.assertIn(f"/signin?next=%2Fjoin%2F{link.rsplit('/', 1)[1]}", page.text)
        self.assertStatus(invitee.post(link, [("password", PASSWORD), ("password_again", PASSWORD)], csrf=False), 409)
        self.assertIsNone(self.role_of(email, int(second)))
        invitee.sign_in()
        invitee.get(link)
        self.assertStatus(invitee.post(link, csrf=False), 403)  # without the session's token
        self.assertStatus(invitee.post(link, [("csrf", "A" * 43)], csrf=False), 403)  # or with a wrong one
        self.assertIsNone(self.role_of(email, int(second)))
        joined = invitee.post(link)
        self.assertStatus(joined, 303)
        self.assertEqual(joined.header("Location"), f"/w/{second}/keys?done=joined")
        self.assertEqual(self.role_of(email, int(second)), "admin")
        self.assertEqual(self.role_of(email, 1), "viewer")  # the other membership is untouched

    def test_someone_else_signed_in_cannot_use_the_link(self):
        email = self.new_email()
        _, link = self.invite(email)
        other = self.person("viewer")
        self.assertStatus(other.get(link), 403)
        self.assertStatus(other.post(link), 403)
        self.assertEqual(self.server.count("invitation", "email = ? AND accepted_at IS NULL", (email,)), 1)


class RoleChangeTest(MembersTestCase):
    def test_owners_change_roles_and_remove_members(self):
        email = self.add_user("viewer")
        member = self.user_id(email)
        changed = self.server.post(f"/w/1/members/{member}/role", [("role", "developer")])
        self.assertStatus(changed, 303)
        self.assertEqual(changed.header("Location"), "/w/1/members?done=role-changed")
        self.assertEqual(self.role_of(email), "developer")
        self.assertEqual(self.audit("member.role", email)[0][1], "role: viewer → developer")
        self.assertStatus(self.server.post(f"/w/1/members/{member}/role", [("role", "root")]), 422)
        self.assertStatus(self.server.post("/w/1/members/999999/role", [("role", "viewer")]), 404)
        confirm = self.server.get(f"/w/1/members/{member}/remove")
        self.assertStatus(confirm, 200)
        self.assertIn(email, confirm.text)
        removed = self.server.post(f"/w/1/members/{member}/remove")
        self.assertStatus(removed, 303)
        self.assertIsNone(self.role_of(email))
        self.assertEqual(len(self.audit("member.remove", email)), 1)

    def test_a_removed_member_is_out_at_the_next_click(self):
        viewer = self.person("viewer")
        self.assertStatus(viewer.get("/w/1/keys"), 200)
        self.assertStatus(self.server.post(f"/w/1/members/{self.user_id(viewer.email)}/remove"), 303)
        self.assertStatus(viewer.get("/w/1/keys"), 404)

    def test_admins_cannot_touch_owners(self):
        admin = self.person("admin")
        owner_email = self.add_user("owner")
        owner = self.user_id(owner_email)
        viewer_email = self.add_user("viewer")
        viewer = self.user_id(viewer_email)
        admin.get("/w/1/members")
        for path, fields in ((f"/w/1/members/{owner}/role", [("role", "viewer")]),
                             (f"/w/1/members/{owner}/remove", []),
                             (f"/w/1/members/{viewer}/role", [("role", "owner")])):
            self.assertStatus(admin.post(path, fields), 403)
        self.assertStatus(admin.get(f"/w/1/members/{owner}/remove"), 403)
        response, link = self.invite(self.new_email(), "owner", who=admin)
        self.assertStatus(response, 403)
        self.assertIsNone(link)
        self.assertEqual(self.role_of(owner_email), "owner")
        self.assertEqual(self.role_of(viewer_email), "viewer")
        select = re.search(r'<select id="invite-role".*?</select>', admin.get("/w/1/members").text, re.S).group(0)
        self.assertNotIn('value="owner"', select)
        self.assertIn('value="admin"', select)
        # An admin manages the rest.
        self.assertStatus(admin.post(f"/w/1/members/{viewer}/role", [("role", "developer")]), 303)
        self.assertEqual(self.role_of(viewer_email), "developer")

    def test_developers_and_viewers_manage_no_one(self):
        target = self.user_id(self.add_user("viewer"))
        for role in ("developer", "viewer"):
            person = self.person(role)
            page = person.get("/w/1/members")
            self.assertStatus(page, 200)
            self.assertNotIn("/members/invite", page.text)
            before = self.server.count("invitation")
            self.assertStatus(person.post("/w/1/members/invite", [("email", self.new_email()), ("role", "viewer")]), 403)
            self.assertStatus(person.post(f"/w/1/members/{target}/role", [("role", "admin")]), 403)
            self.assertStatus(person.post(f"/w/1/members/{target}/remove"), 403)
            self.assertEqual(self.server.count("invitation"), before)

    def test_a_workspace_keeps_an_owner(self):
        workspace = self.server.post("/workspaces", [("name", "Sole " + uuid.uuid4().hex[:6])])
        second = re.search(r"/w/(\d+)/", workspace.header("Location")).group(1)
        me = self.user_id(Server.OWNER_EMAIL)
        for path, fields in ((f"/w/{second}/members/{me}/role", [("role", "admin")]),
                             (f"/w/{second}/members/{me}/remove", [])):
            response = self.server.post(path, fields)
            self.assertStatus(response, 409)
            self.assertIn("at least one owner", response.text)
        self.assertEqual(self.role_of(Server.OWNER_EMAIL, int(second)), "owner")


class DoneWhenTest(MembersTestCase):
    """Issue 4: invite a viewer; they join, see the keys, and can change none of them."""

    def test_an_invited_viewer_sees_but_cannot_change_keys(self):
        key_id, _ = self.server.create_key("Visible to the viewer")
        email = self.new_email("viewer")
        _, link = self.invite(email, "viewer")
        viewer = Person(self.server, email)
        viewer.get(link)
        self.assertStatus(viewer.post(link, [("password", PASSWORD), ("password_again", PASSWORD)], csrf=False), 303)
        keys = viewer.get("/w/1/keys")
        self.assertStatus(keys, 200)
        self.assertIn("Visible to the viewer", keys.text)
        self.assertStatus(viewer.get(f"/w/1/keys/{key_id}"), 200)
        targets = self.targets(key_id)
        before = self.server.snapshot()
        for method, pattern, fields, refused in WRITES:
            if method != "POST" or "viewer" not in refused:
                continue
            with self.subTest(path=pattern):
                response = viewer.post("/w/1" + pattern.format(**targets), fields(targets))
                self.assertStatus(response, 403)
                self.assertIn("Your role in this workspace (viewer) does not allow this", response.text)
                self.assertEqual(self.server.snapshot(), before)

class WriteRefusalTest(MembersTestCase):
    """Each write of the route table, tried by a viewer and by a developer: those the README's role
    table refuses them answer 403 and change no row; the others go through."""

    def test_the_table_lists_every_write_route(self):
        routes = workspace_routes()
        self.assertGreater(len(routes), 20)
        writes = {(method, path) for method, path, need in routes
                  if method == "POST" or need != "PERMISSION_KEY_VIEW"}
        self.assertEqual({(method, path) for method, path, _, _ in WRITES}, writes)

    def test_viewers_and_developers_are_refused_what_their_role_lacks(self):
        for role in ("viewer", "developer"):
            key_id, _ = self.server.create_key(f"Tried by a {role}")
            targets = self.targets(key_id)
            person = self.person(role)
            self.assertStatus(person.get("/w/1/keys"), 200)  # and the form token
            for method, pattern, fields, refused in WRITES:
                path = "/w/1" + pattern.format(**targets)
                with self.subTest(role=role, method=method, path=path):
                    before = self.server.snapshot()
                    response = person.request(method, path, fields(targets) if fields else None)
                    if role in refused:
                        self.assertStatus(response, 403)
                        self.assertIn(f"Your role in this workspace ({role}) does not allow this", response.text)
                        self.assertEqual(self.server.snapshot(), before)
                    else:
                        self.assertIn(response.status, (200, 303), response.text[:1000])


class SetupLinkTest(unittest.TestCase):
    """The one-time link that makes the first owner, on a server with no user at all."""

    def setUp(self):
        self.server = NoUserServer()

    def tearDown(self):
        self.server.stop()
        self.server.cleanup()

    def test_the_setup_link_makes_the_first_owner_once(self):
        done = self.server.cli("setup-link", "--url", f"http://127.0.0.1:{self.server.port}/")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout.strip(), rf"^http://127\.0\.0\.1:{self.server.port}/join/[A-Za-z0-9_-]{{43}}$")
        link = re.sub(r"^https?://[^/]+", "", done.stdout.strip())
        spare = re.sub(r"^https?://[^/]+", "", self.server.cli("setup-link").stdout.strip())
        first = Person(self.server, "first@example.com")
        page = first.get(link)
        self.assertEqual(page.status, 200)
        self.assertEqual(page.header("Cache-Control"), "no-store")
        bad = first.post(link, [("email", "nope"), ("password", PASSWORD), ("password_again", PASSWORD)], csrf=False)
        self.assertEqual(bad.status, 422)
        made = first.post(link, [("email", "first@example.com"), ("password", PASSWORD),
                                 ("password_again", PASSWORD)], csrf=False)
        self.assertEqual(made.status, 303, made.text[:500])
        self.assertEqual(made.header("Location"), "/w/1/keys?done=joined")
        self.assertEqual(first.get("/w/1/keys").status, 200)
        self.assertEqual(self.server.query("SELECT console_role FROM membership")[0][0], "owner")
        self.assertEqual(self.server.count("audit_event", "action = 'member.setup'"), 1)
        # Used; and the spare link stops working once an account exists.
        self.assertEqual(Person(self.server).get(link).status, 410)
        self.assertEqual(Person(self.server).get(spare).status, 410)
        again = Person(self.server).post(spare, [("email", "second@example.com"), ("password", PASSWORD),
                                                 ("password_again", PASSWORD)], csrf=False)
        self.assertEqual(again.status, 410)
        self.assertEqual(self.server.count("user"), 1)
        refused = self.server.cli("setup-link")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("first owner exists already", refused.stderr)


class NoUserServer(Server):
    """A server whose database has no user yet (as after `make run` on a fresh checkout)."""

    def sign_in_owner(self):
        self.session = None
        self.csrf = None


def run_start_script(server, script, env):
    """Run www/`script` detached for `server` (its output kept in server.output) and wait for its port."""
    output_path = os.path.join(server.folder, "script-output.txt")
    with open(output_path, "w") as output:  # a file, not a pipe: the web server lives on after the script
        done = subprocess.run([os.path.join(ROOT, "www", script)], env=env, stdout=output, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    with open(output_path) as f:
        server.output = f.read()
    if done.returncode != 0 or not wait_for_port(server.port):
        raise RuntimeError(f"{script} failed ({done.returncode}): {done.stderr}{server.output}")


class ScriptOutputServer(NoUserServer):
    """www/run-lighttpd.sh (what `make run` runs) on a fresh data folder and a free port, with
    DETACH=1 as the harness starts it, its output kept in self.output; with `user`, that user is
    made before the script runs."""

    def __init__(self, user=None):
        self.user = user
        super().__init__()

    def start(self):
        if self.user:
            init_database(self.database)
            done = subprocess.run([BIN, "--db", self.database, "user", "add", "--email", self.user, "--owner"],
                                  input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
                                  env=dict(os.environ, **database_env(self.database)))
            assert done.returncode == 0, done.stderr
        run_start_script(self, "run-lighttpd.sh",
                         dict(os.environ, PORT=str(self.port), VARDIR=self.folder, BIN=BIN, DETACH="1",
                              **database_env(self.database)))


class StartScriptTest(unittest.TestCase):
    """`make run` prints the one-time setup link when no user exists, detached (DETACH=1) too."""

    def start(self, user=None):
        server = ScriptOutputServer(user)

        def stop():
            server.stop()  # lighttpd by the pid file the script names, then the keyward it spawned
            log = server.error_log()
            server.cleanup()
            self.assertIsNone(sanitizer_report(log), log[-4000:])
        self.addCleanup(stop)
        return server

    def test_the_setup_link_is_printed_when_no_user_exists(self):
        server = self.start()
        out = server.output
        self.assertIn(f"keyward console: http://127.0.0.1:{server.port}/\n", out)
        self.assertIn("no console user yet: open this one-time setup link", out)
        link = re.search(rf"^  http://127\.0\.0\.1:{server.port}(/join/[A-Za-z0-9_-]{{43}})$", out, re.M)
        self.assertIsNotNone(link, out)
        self.assertEqual(server.count("invitation", "setup = 1 AND accepted_at IS NULL"), 1)
        page = Person(server).get(link.group(1))
        self.assertEqual(page.status, 200, page.text[:500])
        self.assertIn("Set up keyward", page.text)
        # How to stop what it started: the pid file of the lighttpd now running.
        stop = re.search(r"^stop: kill \$\(cat (\S+)\)$", out, re.M)
        self.assertIsNotNone(stop, out)
        self.assertEqual(stop.group(1), os.path.join(server.folder, "lighttpd.pid"))
        self.assertIsNotNone(server.lighttpd_pid())
        self.assertTrue(os.path.exists(f"/proc/{server.lighttpd_pid()}"))

    def test_no_link_once_a_user_exists(self):
        server = self.start(user="first@example.com")
        self.assertIn(f"keyward console: http://127.0.0.1:{server.port}/\n", server.output)
        self.assertNotIn("setup link", server.output)
        self.assertNotIn("/join/", server.output)
        self.assertEqual(server.count("invitation"), 0)


class ApacheScriptOutputServer(ApacheGatekeeper):
    """www/run-apache.sh (what `make run-apache` runs) detached, on a fresh data folder, its output
    kept in self.output; no user is made."""

    def start(self):
        self.keyward_port = free_port()
        env = dict(os.environ, PORT=str(self.port), KEYWARD_PORT=str(self.keyward_port), VARDIR=self.folder,
                   BIN=BIN, THREADS="2", DETACH="1")
        env.update(self.prepare())
        run_start_script(self, "run-apache.sh", env)


@unittest.skipUnless(apache_binary(), "Apache is not installed")
class ApacheStartScriptTest(unittest.TestCase):
    def test_the_setup_link_is_printed_detached_too(self):
        server = ApacheScriptOutputServer()

        def stop():
            server.stop()
            log = server.error_log()
            server.cleanup()
            self.assertIsNone(sanitizer_report(log), log[-4000:])
        self.addCleanup(stop)
        link = re.search(rf"^  http://127\.0\.0\.1:{server.port}(/join/[A-Za-z0-9_-]{{43}})$", server.output, re.M)
        self.assertIsNotNone(link, server.output)
        page = Person(server).get(link.group(1))
        self.assertEqual(page.status, 200, page.text[:500])
        self.assertIn("Set up keyward", page.text)
        stop_line = re.search(r"^stop: kill \$\(cat (\S+)\) \$\(cat (\S+)\)$", server.output, re.M)
        self.assertIsNotNone(stop_line, server.output)
        self.assertEqual(stop_line.groups(), (os.path.join(server.folder, "apache.pid"),
                                              os.path.join(server.folder, "keyward-serve.pid")))


if __name__ == "__main__":
    unittest.main()
