"""test_walk.py: what a walk through the console found (issue 15, items 7 and 13), through the real
server: every page offers only the actions the signed-in person's console role allows, and each
role sees the ones it may take; sign-in puts the cursor in the first empty field; the notices of a
new workspace and of joining one are shown where their redirects land; a role's key count links to
lists of as many keys as it says; the latest calls list one row per second, endpoint, address and
outcome however many processes recorded them; the layout links a favicon that is served."""
import html
import re
import time

from harness import ServerTestCase, connect
from test_members import PASSWORD, Person, workspace_routes

# What each console role may do, as the README's role table and src/domain/accounts.c say.
ALL = {"PERMISSION_KEY_VIEW", "PERMISSION_KEY_CREATE", "PERMISSION_KEY_UPDATE", "PERMISSION_KEY_DELETE",
       "PERMISSION_ROLE_MANAGE", "PERMISSION_MEMBER_MANAGE"}
PERMISSIONS = {
    "owner": ALL,
    "admin": ALL,
    "developer": {"PERMISSION_KEY_VIEW", "PERMISSION_KEY_CREATE", "PERMISSION_KEY_UPDATE"},
    "viewer": {"PERMISSION_KEY_VIEW"},
}

# What each role is offered on an enabled key's page and on the key list (the closing note).
KEY_PAGE = {
    "owner": ["Edit", "Disable", "Regenerate secret", "Revoke"],
    "admin": ["Edit", "Disable", "Regenerate secret", "Revoke"],
    "developer": ["Edit", "Disable", "Regenerate secret"],
    "viewer": [],
}
# On the list, Disable, Enable and Revoke act on the keys ticked (each leads to one confirmation).
KEY_LIST = {
    "owner": ["New key", "Create a key", "Disable", "Enable", "Revoke"],
    "admin": ["New key", "Create a key", "Disable", "Enable", "Revoke"],
    "developer": ["New key", "Create a key", "Disable", "Enable"],
    "viewer": [],
}
ACTION_WORDS = {"New key", "Create a key", "Edit", "Disable", "Enable", "Regenerate secret", "Revoke"}


def words(text):
    return " ".join(text.split())


def offered(page):
    """(method, path in the workspace) of every link and form of a page, without query or fragment."""
    found = [("GET", href) for href in re.findall(r'<a [^>]*href="([^"]+)"', page.text)]
    found += [(method.upper(), action) for method, action in
              re.findall(r'<form [^>]*method="(get|post)"[^>]*action="([^"]+)"', page.text)]
    # Buttons that send their form elsewhere: the key list's Disable, Enable, Revoke (a GET form: each
    # asks for its confirmation page).
    found += [("GET", action) for action in re.findall(r'<button [^>]*formaction="([^"]+)"', page.text)]
    result = set()
    for method, address in found:
        address = html.unescape(address).split("#")[0].split("?")[0]
        if address.startswith("/w/1/") or address == "/w/1":
            result.add((method, address[len("/w/1"):] or "/"))
    return result


def route_need(method, path):
    """The permissions the route table wants for `method` `path` (its first matching row), or None."""
    for route_method, pattern, need in workspace_routes():
        regex = "^" + re.sub(r"\\\{[a-z]+\\\}", "[^/]+", re.escape(pattern)) + "$"
        if route_method == method and re.match(regex, path):
            return {word.strip() for word in need.split("|")}
    return None


def action_words(page, section=None):
    """The action words (ACTION_WORDS) of the links and buttons of a page, or of one of its parts, in order."""
    text = page.text
    if section is not None:
        match = re.search(section, text, re.S)
        text = match.group(0) if match else ""
    labels = re.findall(r"<a [^>]*>([^<]+)</a>|<button [^>]*>([^<]+)</button>", text)
    return [words(a or b) for a, b in labels if words(a or b) in ACTION_WORDS]


class RoleAwarePagesTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key_id, _ = cls.server.create_key("Looked at by everyone", role="admin")
        cls.people = {}
        for role in PERMISSIONS:
            email = f"walk-{role}@example.com"
            done = cls.server.cli("user", "add", "--email", email, "--role", role, "--workspace", "1",
                                  input=PASSWORD + "\n")
            assert done.returncode == 0, done.stderr
            person = Person(cls.server, email)
            person.sign_in()
            cls.people[role] = person

    def pages(self):
        return ["/w/1/", "/w/1/keys", f"/w/1/keys/{self.key_id}", f"/w/1/keys/{self.key_id}/usage", "/w/1/roles",
                "/w/1/members", "/w/1/audit"]

    def test_every_action_offered_is_one_the_role_may_take(self):
        for role, person in self.people.items():
            for address in self.pages():
                page = person.get(address)
                self.assertStatus(page, 200)
                for method, path in sorted(offered(page)):
                    need = route_need(method, path)
                    with self.subTest(role=role, page=address, offered=f"{method} {path}"):
                        self.assertIsNotNone(need, "a link to a route the table does not have")
                        self.assertLessEqual(need - {"SIGNED_IN"}, PERMISSIONS[role])

    def test_what_each_role_sees_on_a_key_page_and_the_key_list(self):
        for role, person in self.people.items():
            with self.subTest(role=role):
                key = person.get(f"/w/1/keys/{self.key_id}")
                self.assertEqual(action_words(key, r"<main.*</main>"), KEY_PAGE[role])
                listing = person.get("/w/1/keys")
                self.assertEqual(action_words(listing), KEY_LIST[role])

    def test_role_and_member_management_only_for_those_who_may(self):
        for role, person in self.people.items():
            manages = role in ("owner", "admin")
            with self.subTest(role=role):
                roles = person.get("/w/1/roles")
                self.assertEqual("Create a role" in roles.text, manages)
                self.assertEqual(bool(re.search(r'href="/w/1/roles/\d+/edit"', roles.text)), manages)
                members = person.get("/w/1/members")
                self.assertEqual("Invite someone" in members.text, manages)
                self.assertEqual(bool(re.search(r'action="/w/1/members/\d+/role"', members.text)), manages)

    def test_the_server_still_refuses_what_is_not_offered(self):
        viewer = self.people["viewer"]
        for path in (f"/w/1/keys/{self.key_id}/disable", f"/w/1/keys/{self.key_id}/regenerate"):
            with self.subTest(path=path):
                self.assertStatus(viewer.post(path), 403)
        self.assertStatus(self.people["developer"].post(f"/w/1/keys/{self.key_id}/revoke"), 403)
        self.assertEqual(self.server.key_row(self.key_id)["enabled"], 1)

    def test_a_viewer_without_keys_is_not_told_to_create_one(self):
        workspace = self.server.create_workspace("Empty for a viewer")
        email = "walk-empty-viewer@example.com"
        done = self.server.cli("user", "add", "--email", email, "--role", "viewer", "--workspace", str(workspace),
                               input=PASSWORD + "\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        viewer = Person(self.server, email)
        viewer.sign_in()
        page = viewer.get(f"/w/{workspace}/keys")
        self.assertIn("No API keys yet", page.text)
        self.assertNotIn("/keys/new", page.text)
        self.assertIn("Your role in this workspace cannot create keys.", page.text)


class WalkFixesTest(ServerTestCase):
    def test_sign_in_puts_the_cursor_in_the_first_empty_field(self):
        stranger = Person(self.server)
        page = stranger.get("/signin")
        self.assertTrue(page.doc.by_id("email").has("autofocus"))
        self.assertFalse(page.doc.by_id("password").has("autofocus"))
        wrong = stranger.request("POST", "/signin", [("email", "nobody@example.com"), ("password", "not it at all")],
                                 csrf=False)
        self.assertStatus(wrong, 401)
        self.assertFalse(wrong.doc.by_id("email").has("autofocus"))
        self.assertTrue(wrong.doc.by_id("password").has("autofocus"))
        empty = stranger.request("POST", "/signin", [("email", ""), ("password", "something")], csrf=False)
        self.assertStatus(empty, 422)
        self.assertTrue(empty.doc.by_id("email").has("autofocus"))
        self.assertFalse(empty.doc.by_id("password").has("autofocus"))

    def notice_of(self, page):
        notices = page.doc.find_all("p", class_="notice", role="status")
        return [words(n.text) for n in notices]

    def test_a_new_workspace_and_a_new_member_are_told_so_where_they_land(self):
        created = self.server.post("/workspaces", [("name", "Told it is created")])
        self.assertStatus(created, 303)
        landed = self.server.follow(created)
        self.assertStatus(landed, 200)
        self.assertEqual(self.notice_of(landed),
                         ["Workspace created. You are its owner: create keys, or invite members."])
        email = "walk-joins@example.com"
        invited = self.server.post("/w/1/members/invite", [("email", email), ("role", "viewer")])
        self.assertStatus(invited, 200)
        link = re.sub(r"^https?://[^/]+", "", invited.doc.by_id("invitation-link").get("value"))
        newcomer = Person(self.server, email)
        joined = newcomer.post(link, [("password", PASSWORD), ("password_again", PASSWORD)], csrf=False)
        self.assertStatus(joined, 303)
        welcome = newcomer.get(joined.header("Location"))
        self.assertEqual(self.notice_of(welcome), ["Welcome: you are now a member of this workspace."])
        # The list takes only its own words: a key's are the key page's.
        self.assertEqual(self.notice_of(self.server.get("/w/1/keys?done=revoked")), [])

    def test_a_role_counts_its_keys_as_its_links_list_them(self):
        name = "walk-counted"
        self.assertStatus(self.server.post("/w/1/roles/new", [("name", name), ("description", "")]), 303)
        tokens = [self.server.create_key_cli(f"Counted {i}", "--role", name) for i in range(4)]
        revoked = tokens[0][3:23]  # kw_key_…_…: its key ID
        self.assertStatus(self.server.post(f"/w/1/keys/{revoked}/revoke"), 303)
        role_id = self.server.query("SELECT id FROM role WHERE name = ?", (name,))[0][0]
        row = re.search(rf'<tr>\s*<td data-label="Role">[^\n]*/roles/{role_id}/edit.*?</tr>',
                        self.server.get("/w/1/roles").text, re.S).group(0)
        links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', row)
        counted = {text: html.unescape(href) for href, text in links if "/keys" in href}
        self.assertEqual(set(counted), {"Used by 3 keys", "1 revoked"})
        self.assertIn(" and ", re.sub(r"<[^>]+>", "", row))
        for text, listed in (("Used by 3 keys", 3), ("1 revoked", 1)):
            with self.subTest(link=text):
                page = self.server.get(counted[text])
                self.assertStatus(page, 200)
                self.assertEqual(len(re.findall(r"<code>(key_[0-9A-Za-z]{16})</code>", page.text)), listed)
        for token in tokens[1:]:
            self.assertStatus(self.server.post(f"/w/1/keys/{token[3:23]}/revoke"), 303)
        row = re.search(rf'<tr>\s*<td data-label="Role">[^\n]*/roles/{role_id}/edit.*?</tr>',
                        self.server.get("/w/1/roles").text, re.S).group(0)
        self.assertEqual([t for _, t in re.findall(r'<a href="([^"]+/keys[^"]*)">([^<]+)</a>', row)],
                         ["Used by 4 revoked keys"])

    def latest_rows(self, key_id, address):
        page = self.server.get(f"/w/1/keys/{key_id}/usage?period=24h&address={address}")
        self.assertStatus(page, 200)
        latest = re.search(r'<h2 id="latest-title">.*?</section>', page.text, re.S).group(0)
        return [(endpoint, int(calls)) for endpoint, calls in
                re.findall(r'<code class="wrap">([^<]+)</code>.*?<td data-label="Calls">(\d+)</td>', latest)]

    def test_latest_calls_are_one_row_however_many_processes_recorded_them(self):
        key_id, _ = self.server.create_key("Called by two processes")
        row = self.server.query("SELECT id FROM api_key WHERE key_id = ?", (key_id,))[0][0]
        second = int(time.time()) - 30
        insert = ("INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, calls) "
                  "VALUES (1, ?, ?, '/merged', '192.0.2.77', 'granted', ?)")
        with connect(self.server.database) as db:  # two processes' rows of one second
            db.execute(insert, (row, second, 1))
            db.execute(insert, (row, second, 2))
        self.assertEqual(self.latest_rows(key_id, "192.0.2.77"), [("/merged", 3)])  # raw, not rolled up yet
        done = self.server.cli("usage", "rollup")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.latest_rows(key_id, "192.0.2.77"), [("/merged", 3)])  # rolled up
        with connect(self.server.database) as db:  # a third, after the watermark: the same line still
            db.execute(insert, (row, second, 4))
        self.assertEqual(self.latest_rows(key_id, "192.0.2.77"), [("/merged", 7)])

    def test_the_layout_links_a_favicon_that_is_served(self):
        page = self.server.get("/signin", session=False)
        icons = [link for link in page.doc.find_all("link") if link.get("rel") == "icon"]
        self.assertEqual(len(icons), 1)
        icon = self.server.get(icons[0].get("href"), session=False)
        self.assertStatus(icon, 200)
        self.assertEqual(icon.header("Content-Type"), "image/svg+xml")
        self.assertIn("<svg", icon.text)
