"""test_bulk.py: several keys at once, and the key list as CSV, through the real server (issue 15, item 8).

Disable, enable and revoke a selection from the key list: one confirmation page naming every key
and what will happen to it, one audit line per key changed, keys already in the asked state
skipped and counted; all or nothing (a key of another workspace, an unknown or malformed one, a
revoked key asked to be disabled or enabled: nothing changes, and the page says which key and
why); the selection's size limit; CSRF; the roles that may not; Cancel back to the list with its
filters and the selection; the gatekeeper refusing the disabled and revoked keys on the next
request. The export: every key the filters match, all pages (past the store's page of 5,000),
RFC 4180 quoting, no secret, cells that a spreadsheet would run made text, viewers allowed.
"""
import csv
import io
import json
import os
import re
import secrets
import subprocess
import time
import urllib.parse

from harness import BIN, ON_POSTGRESQL, LighttpdGatekeeper, ServerTestCase, connect, secret_from
from test_members import PASSWORD, Person

COLUMNS = ["key_id", "name", "role", "status", "enabled", "off_the_record", "postback_url", "networks", "note",
           "created_by", "created_at", "last_used_at", "expires_at", "revoked_at"]
ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"


def key_id_of(token):
    return "key_" + token.split("_")[2]


def unique(label):
    return f"{label} {secrets.token_hex(3)}"


class BulkChecks:
    """Helpers shared by the test classes of this file."""

    def confirm(self, action, key_ids, query=(), who=None):
        """The confirmation page of `action` for `key_ids`, as the list's form asks for it (GET)."""
        pairs = list(query) + [("key", key_id) for key_id in key_ids]
        path = f"/w/1/keys/bulk/{action}?" + urllib.parse.urlencode(pairs)
        return (who or self.server).get(path)

    def apply(self, action, key_ids, query=(), who=None, **kw):
        """Press the confirmation's button: POST its form."""
        fields = list(query) + [("key", key_id) for key_id in key_ids]
        return (who or self.server).post(f"/w/1/keys/bulk/{action}", fields, **kw)

    def state(self, key_id):
        row = self.server.key_row(key_id)
        return "revoked" if row["revoked_at"] else "enabled" if row["enabled"] else "disabled"

    def audit_lines(self, action, key_ids):
        marks = ",".join("?" * len(key_ids))
        return sorted(self.server.query(f"SELECT target_id, summary, actor_label FROM audit_event WHERE action = ? "
                                        f"AND target_id IN ({marks})", (action, *key_ids)))

    def add_person(self, role):
        email = f"{role}-{secrets.token_hex(4)}@example.com"
        done = subprocess.run([BIN, "--db", self.server.database, "user", "add", "--email", email, "--role", role,
                               "--workspace", "1"], input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        person = Person(self.server, email)
        person.sign_in()
        person.get("/w/1/keys")
        return person

    def key_in_other_workspace(self):
        workspace = self.server.create_workspace(unique("Elsewhere"))
        token = self.server.create_key_cli(unique("Foreign"), "--workspace", str(workspace))
        return key_id_of(token)


class BulkChangeTest(BulkChecks, ServerTestCase):
    """The changes, through lighttpd with the gatekeeper in front of the sample API."""

    server_class = LighttpdGatekeeper

    def call(self, token):
        return self.server.raw_request("GET", "/protected/orders", [("Authorization", "Bearer " + token)])

    def wait_status(self, token, status):
        """The gatekeeper's answer to `token`, once it is `status` (PostgreSQL: within the README's 1 s)."""
        response = self.call(token)
        deadline = time.monotonic() + (1 if ON_POSTGRESQL else 0)
        while response.status != status and time.monotonic() < deadline:
            time.sleep(0.01)
            response = self.call(token)
        return response

    def test_disable_then_enable_several_with_one_line_each_and_the_gatekeeper_follows(self):
        tag = secrets.token_hex(3)
        tokens = [self.server.create_key_cli(f"Batch {tag} {n}") for n in range(3)]
        quiet = self.server.create_key_cli(f"Batch {tag} off", "--disabled")
        ids = [key_id_of(token) for token in tokens]
        for token in tokens:
            self.assertEqual(self.wait_status(token, 200).status, 200)

        page = self.confirm("disable", ids + [key_id_of(quiet)], [("q", f"Batch {tag}"), ("page", "1")])
        self.assertStatus(page, 200)
        self.assertIn("Disable 4 keys?", page.text)
        for key_id in ids:
            self.assertIn(f"<code>{key_id}</code>", page.text)
        self.assertEqual(page.text.count("Will be disabled."), 3)
        self.assertIn("Already disabled: stays as it is.", page.text)
        self.assertEqual([b.text for b in page.doc.find_all("button") if "Disable" in (b.text or "")],
                         ["Disable 3 keys"])
        form = [f for f in page.doc.find_all("form") if f.get("action") == "/w/1/keys/bulk/disable"][0]
        self.assertEqual(form.get("method"), "post")
        self.assertEqual(sorted(page.doc.values("key")), sorted(ids + [key_id_of(quiet)]))
        self.assertEqual(page.doc.values("q"), [f"Batch {tag}"])
        self.assertEqual(page.doc.value("csrf"), self.server.csrf)

        done = self.apply("disable", ids + [key_id_of(quiet)], [("q", f"Batch {tag}"), ("page", "1")])
        self.assertStatus(done, 303)
        location = done.header("Location")
        self.assertTrue(location.startswith("/w/1/keys?"), location)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        self.assertEqual(query["q"], [f"Batch {tag}"])
        self.assertEqual((query["done"], query["changed"], query["unchanged"]), (["bulk-disabled"], ["3"], ["1"]))
        listed = self.server.follow(done)
        self.assertIn("3 keys disabled; 1 was already disabled. They stop working until they are enabled again.",
                      listed.text)
        self.assertEqual([self.state(key_id) for key_id in ids], ["disabled"] * 3)
        lines = self.audit_lines("key.disable", ids + [key_id_of(quiet)])
        self.assertEqual(lines, sorted((key_id, "state: enabled → disabled (one of 3 keys disabled together)",
                                        self.server.OWNER_EMAIL) for key_id in ids))
        # The gatekeeper refuses them on the next request, through the real server.
        for token in tokens:
            refused = self.wait_status(token, 401)
            self.assertEqual(refused.status, 401, refused.text)
            self.assertEqual(json.loads(refused.text)["code"], "disabled")

        enabled = self.apply("enable", ids + [key_id_of(quiet)])
        self.assertStatus(enabled, 303)
        self.assertIn("4 keys enabled. They work again.", self.server.follow(enabled).text)
        self.assertEqual(len(self.audit_lines("key.enable", ids + [key_id_of(quiet)])), 4)
        for token in tokens + [quiet]:
            self.assertEqual(self.wait_status(token, 200).status, 200)

        # Nothing left to do: the page says so and offers no button; the change itself writes nothing.
        page = self.confirm("enable", ids)
        self.assertIn("Nothing to change: every selected key is already enabled.", page.text)
        self.assertFalse([f for f in page.doc.find_all("form") if f.get("action") == "/w/1/keys/bulk/enable"])
        before = self.server.snapshot()
        again = self.apply("enable", ids)
        self.assertIn("Nothing was changed: the keys selected were already enabled.", self.server.follow(again).text)
        self.assertEqual(self.server.snapshot(), before)

    def test_revoke_several_is_final_and_skips_those_revoked_already(self):
        tag = secrets.token_hex(3)
        tokens = [self.server.create_key_cli(f"Old {tag} {n}") for n in range(2)]
        ids = [key_id_of(token) for token in tokens]
        page = self.confirm("revoke", ids)
        self.assertStatus(page, 200)
        self.assertIn("Revoke 2 keys?", page.text)
        self.assertIn("Revoking is final.", page.text)
        self.assertEqual(page.text.count("Will be revoked, for good."), 2)
        self.assertIn('class="button button-danger">Revoke 2 keys</button>', page.text)
        done = self.apply("revoke", ids)
        self.assertStatus(done, 303)
        self.assertIn("2 keys revoked. They no longer work, for good.", self.server.follow(done).text)
        self.assertEqual([self.state(key_id) for key_id in ids], ["revoked"] * 2)
        self.assertEqual([summary for _, summary, _ in self.audit_lines("key.revoke", ids)],
                         ["revoked: the key no longer works, for good (one of 2 keys revoked together)"] * 2)
        for token in tokens:
            refused = self.wait_status(token, 401)
            self.assertEqual(json.loads(refused.text)["code"], "revoked")

        fresh = key_id_of(self.server.create_key_cli(f"Old {tag} fresh"))
        done = self.apply("revoke", ids + [fresh])
        self.assertIn("1 key revoked; 2 were already revoked. It no longer works, for good.",
                      self.server.follow(done).text)
        self.assertEqual(self.audit_lines("key.revoke", [fresh]),
                         [(fresh, "revoked: the key no longer works, for good", self.server.OWNER_EMAIL)])
        self.assertEqual(len(self.audit_lines("key.revoke", ids)), 2, "no second line for a key revoked already")


class BulkRulesTest(BulkChecks, ServerTestCase):
    """All or nothing, limits, CSRF, roles, Cancel."""

    def test_a_key_of_another_workspace_or_unknown_changes_nothing(self):
        mine = [self.server.create_key(unique("Mine"))[0] for _ in range(2)]
        foreign = self.key_in_other_workspace()
        unknown = "key_0000000000000000"
        for action in ("disable", "revoke"):
            for stranger in (foreign, unknown):
                with self.subTest(action=action, stranger=stranger):
                    page = self.confirm(action, [mine[0], stranger, mine[1]])
                    self.assertStatus(page, 200)
                    self.assertIn("Not a key of this workspace. Leave it out.", page.text)
                    self.assertIn(f"<code>{stranger}</code>", page.text)
                    self.assertIn("1 of the selected keys cannot be", page.text)
                    self.assertFalse([f for f in page.doc.find_all("form") if "/keys/bulk/" in (f.get("action") or "")])
                    self.assertIn("Back to the list", page.text)
                    before = self.server.snapshot()
                    refused = self.apply(action, [mine[0], stranger, mine[1]])
                    self.assertStatus(refused, 409)
                    self.assertIn(f"Nothing was changed: {stranger} is not a key of this workspace.", refused.text)
                    self.assertEqual(self.server.snapshot(), before)
        self.assertEqual(self.server.key_row(foreign)["enabled"], 1)

    def test_a_revoked_key_refuses_disable_and_enable_for_the_whole_selection(self):
        keep, _ = self.server.create_key(unique("Keep"))
        off, _ = self.server.create_key(unique("Off"), enabled=False)
        gone, _ = self.server.create_key(unique("Gone"))
        self.assertStatus(self.server.post(f"/w/1/keys/{gone}/revoke"), 303)
        for action, other in (("disable", keep), ("enable", off)):
            with self.subTest(action=action):
                page = self.confirm(action, [other, gone])
                self.assertIn(f"Revoked: cannot be {action}d. Leave it out.", page.text)
                before = self.server.snapshot()
                refused = self.apply(action, [other, gone])
                self.assertStatus(refused, 409)
                self.assertIn(f"Nothing was changed: {gone} is revoked, so it cannot be {action}d.", refused.text)
                self.assertIn('id="bulk-refused"', refused.text)
                self.assertEqual(self.server.snapshot(), before)
        self.assertEqual((self.state(keep), self.state(off)), ("enabled", "disabled"))

    def test_the_selection_is_limited_and_checked(self):
        keys = [self.server.create_key(unique("Limit"))[0] for _ in range(2)]
        many = [f"key_{n:016d}" for n in range(101)]
        before = self.server.snapshot()
        for response in (self.confirm("disable", many), self.apply("disable", many)):
            self.assertErrorPage(response, 422, "At most 100 keys can be changed at once, and 101 were selected.")
        # A name sent twice counts once: 100 different and a repeat are within the limit.
        self.assertNotIn("At most 100", self.confirm("disable", many[:99] + keys[:1] * 2).text)
        for bad in ("key_<b>x</b>", "x" * 65, "key_ü"):
            with self.subTest(bad=bad):
                self.assertErrorPage(self.apply("disable", keys + [bad]), 400, "not a key ID")
        self.assertEqual(self.server.snapshot(), before)
        # Nothing selected: back to the list (filters kept), which says what to do.
        for response in (self.confirm("revoke", [], [("status", "enabled")]), self.apply("revoke", [], [("status", "enabled")])):
            self.assertStatus(response, 303)
            location = response.header("Location")
            self.assertIn("status=enabled", location)
            self.assertIn("bulk=none", location)
            page = self.server.follow(response)
            self.assertEqual(page.doc.by_id("bulk-error").text.split(",")[0], "No key was selected")
        self.assertEqual(self.server.snapshot(), before)

    def test_csrf_is_checked(self):
        key_id, _ = self.server.create_key(unique("Guarded"))
        before = self.server.snapshot()
        for action in ("disable", "enable", "revoke"):
            for token in ([], [("csrf", "A" * 43)]):
                response = self.apply(action, [key_id], token, csrf=False)
                self.assertStatus(response, 403)
                self.assertIn("has expired or came from another site", response.text)
        self.assertEqual(self.server.snapshot(), before)

    def test_cancel_goes_back_to_the_list_with_its_filters_and_the_selection(self):
        tag = secrets.token_hex(3)
        first, _ = self.server.create_key(f"Cancel {tag} one")
        second, _ = self.server.create_key(f"Cancel {tag} two")
        other, _ = self.server.create_key(f"Cancel {tag} other")
        page = self.confirm("revoke", [first, second], [("q", f"Cancel {tag}"), ("status", "enabled"), ("page", "1")])
        cancel = page.doc.by_id("bulk-cancel").get("href")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(cancel).query)
        self.assertEqual((query["q"], query["status"], sorted(query["key"])),
                         ([f"Cancel {tag}"], ["enabled"], sorted([first, second])))
        listed = self.server.get(cancel)
        self.assertStatus(listed, 200)
        self.assertEqual(listed.doc.value("q"), f"Cancel {tag}")
        self.assertEqual(listed.doc.selected("status"), ["enabled"])
        ticked = [box.get("value") for box in listed.doc.find_all("input", type="checkbox") if box.has("checked")]
        self.assertEqual(sorted(ticked), sorted([first, second]))
        self.assertIn(other, [box.get("value") for box in listed.doc.find_all("input", type="checkbox")])
        # The list's own form sends the filters along with the selection, to the confirmation.
        form = listed.doc.by_id("bulk")
        self.assertEqual((form.get("method"), form.get("action")), ("get", "/w/1/keys"))
        self.assertEqual(listed.doc.values("status")[-1:], ["enabled"])
        actions = [b.get("formaction") for b in listed.doc.find_all("button") if b.get("formaction")]
        self.assertEqual(actions, ["/w/1/keys/bulk/disable", "/w/1/keys/bulk/enable", "/w/1/keys/bulk/revoke"])
        # Select all on this page (without JavaScript: the server ticks every row); Clear the selection.
        everything = self.server.get(f"/w/1/keys?q=Cancel+{tag}&select=page")
        boxes = everything.doc.find_all("input", type="checkbox")
        self.assertEqual(len(boxes), 3)
        self.assertTrue(all(box.has("checked") for box in boxes))
        cleared = self.server.get(everything.doc.by_id("clear-selection").get("href"))
        self.assertFalse([box for box in cleared.doc.find_all("input", type="checkbox") if box.has("checked")])
        self.assertEqual([self.state(k) for k in (first, second, other)], ["enabled"] * 3)

    def test_only_roles_that_may_are_offered_the_changes_and_others_are_refused(self):
        key_id, _ = self.server.create_key(unique("Role check"))
        viewer = self.add_person("viewer")
        page = viewer.get("/w/1/keys")
        self.assertStatus(page, 200)
        self.assertIsNone(page.doc.by_id("bulk"))
        self.assertFalse(page.doc.find_all("input", type="checkbox"))
        self.assertIsNotNone(page.doc.by_id("export-csv"), "a viewer may export")
        before = self.server.snapshot()
        for action in ("disable", "enable", "revoke"):
            for response in (self.confirm(action, [key_id], who=viewer), self.apply(action, [key_id], who=viewer)):
                self.assertStatus(response, 403)
                self.assertIn("Your role in this workspace (viewer) does not allow this", response.text)
        self.assertEqual(self.server.snapshot(), before)

        developer = self.add_person("developer")
        before = self.server.snapshot()
        page = developer.get("/w/1/keys")
        actions = [b.get("formaction") for b in page.doc.find_all("button") if b.get("formaction")]
        self.assertEqual(actions, ["/w/1/keys/bulk/disable", "/w/1/keys/bulk/enable"])
        self.assertIn(key_id, [box.get("value") for box in page.doc.find_all("input", type="checkbox")])
        for response in (self.confirm("revoke", [key_id], who=developer), self.apply("revoke", [key_id], who=developer)):
            self.assertStatus(response, 403)
        self.assertEqual(self.server.snapshot(), before)
        done = self.apply("disable", [key_id], who=developer)
        self.assertStatus(done, 303)
        self.assertEqual(self.audit_lines("key.disable", [key_id]),
                         [(key_id, "state: enabled → disabled", developer.email)])


class ExportTest(BulkChecks, ServerTestCase):
    """The key list as CSV."""

    def export(self, query="", who=None):
        response = (who or self.server).get("/w/1/keys.csv" + (("?" + query) if query else ""))
        self.assertStatus(response, 200)
        self.assertEqual(response.header("Content-Type"), "text/csv; charset=utf-8; header=present")
        self.assertRegex(response.header("Content-Disposition"),
                         r'^attachment; filename="keys-workspace-1-\d{8}-\d{4}Z\.csv"$')
        self.assertEqual(response.header("Cache-Control"), "no-store")
        text = response.body.decode("utf-8")
        self.assertTrue(text.endswith("\r\n"))
        rows = list(csv.reader(io.StringIO(text, newline="")))
        self.assertEqual(rows[0], COLUMNS)
        return text, [dict(zip(COLUMNS, row)) for row in rows[1:]]

    def test_every_column_quoted_as_rfc_4180_says_and_no_secret(self):
        tag = secrets.token_hex(3)
        name = f'Billing, "EU" {tag}'
        created = self.server.post("/w/1/keys/new", self.server.key_fields(
            name, role="read-only", cidrs=[("192.0.2.0/24", "Office, 2nd floor"), ("2001:db8::1", "")],
            postback_url="https://hooks.example.com/k?a=1&b=2", off_record=True)
            + [("note", "Deployed on ärger-7\nOwner: \"Ops\""), ("expires_at", "2099-01-31 18:00")])
        self.assertStatus(created, 303)
        key_id = re.search(r"(key_[0-9A-Za-z]{16})", created.header("Location")).group(1)
        secret = secret_from(self.server.follow(created).text)
        text, rows = self.export(f"q={tag}")
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual(row["key_id"], key_id)
        self.assertEqual(row["name"], name)
        self.assertEqual(row["role"], "read-only")
        self.assertEqual((row["status"], row["enabled"], row["off_the_record"]), ("enabled", "yes", "yes"))
        self.assertEqual(row["postback_url"], "https://hooks.example.com/k?a=1&b=2")
        self.assertEqual(row["networks"], "192.0.2.0/24 Office, 2nd floor\n2001:db8::1/128")
        self.assertEqual(row["note"], 'Deployed on ärger-7\nOwner: "Ops"')
        self.assertEqual(row["created_by"], self.server.OWNER_EMAIL)
        self.assertRegex(row["created_at"], ISO)
        self.assertEqual((row["last_used_at"], row["revoked_at"]), ("", ""))
        self.assertEqual(row["expires_at"], "2099-01-31T18:00:00Z")
        # The bytes themselves: quoted where needed, quotes doubled, CR LF between rows.
        self.assertIn(f'"Billing, ""EU"" {tag}"', text)
        self.assertIn('"Deployed on ärger-7\nOwner: ""Ops"""', text)
        secret_part = secret.split("_")[-1]
        self.assertNotIn(secret_part, text)
        self.assertNotIn(secret[-4:], text, "not even the last 4 (the list does not show them)")
        self.assertNotIn(secret_part[:20], text)

    def test_networks_of_keys_far_apart_and_close_together(self):
        tag = secrets.token_hex(3)
        far = [self.server.create_key(f"Far {tag} {n}", cidrs=[(f"198.51.100.{n}", f"host {n}")])[0] for n in (1, 2)]
        for _ in range(10):  # keys between them that the filter leaves out
            self.server.create_key(unique("Between"), cidrs=[("203.0.113.0/24", "between")])
        far.append(self.server.create_key(f"Far {tag} 3", cidrs=[("198.51.100.3", ""), ("2001:db8::/32", "v6")])[0])
        rows = {row["key_id"]: row["networks"] for row in self.export(f"q=Far+{tag}")[1]}
        self.assertEqual(rows, {far[0]: "198.51.100.1/32 host 1", far[1]: "198.51.100.2/32 host 2",
                                far[2]: "198.51.100.3/32\n2001:db8::/32 v6"})

    def test_cells_a_spreadsheet_would_run_are_made_text(self):
        tag = secrets.token_hex(3)
        names = ["=1+2", "+SUM(A1:A2)", "-2+3", "@cmd", f"=HYPERLINK(\"http://x\",\"y\") {tag}"]
        for name in names:
            self.server.create_key(f"{name} {tag}" if tag not in name else name)
        note_key, _ = self.server.create_key(unique("Tabbed"))
        fields = self.server.key_fields(f"Tabbed {tag}") + [("note", "x\t=cmd")]
        self.assertStatus(self.server.post(f"/w/1/keys/{note_key}/edit", fields + [("action", "save")]), 303)
        text, rows = self.export(f"q={tag}")
        got = sorted(row["name"] for row in rows)
        expected = sorted(["'" + (f"{n} {tag}" if tag not in n else n) for n in names] + [f"Tabbed {tag}"])
        self.assertEqual(got, expected)
        self.assertIn(f"'=1+2 {tag}", text)
        self.assertIn(f"\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\") {tag}\"", text)
        self.assertEqual([row["note"] for row in rows if row["name"] == f"Tabbed {tag}"], ["x\t=cmd"])
        for row in rows:
            for column, cell in row.items():
                self.assertFalse(cell[:1] in ("=", "+", "-", "@", "\t", "\r"), (column, cell))

    def test_the_filters_choose_the_keys_and_a_viewer_may_export(self):
        tag = secrets.token_hex(3)
        on, _ = self.server.create_key(f"Filtered {tag} on", role="admin")
        off, _ = self.server.create_key(f"Filtered {tag} off", role="read-only", enabled=False)
        gone, _ = self.server.create_key(f"Filtered {tag} gone")
        self.assertStatus(self.server.post(f"/w/1/keys/{gone}/revoke"), 303)
        ids = lambda query: sorted(row["key_id"] for row in self.export(query)[1])
        self.assertEqual(ids(f"q={tag}"), sorted([on, off]))
        self.assertEqual(ids(f"q={tag}&status=disabled"), [off])
        self.assertEqual(ids(f"q={tag}&status=revoked"), [gone])
        self.assertEqual(ids(f"q={tag}&role={self.server.roles()['read-only']}"), [off])
        self.assertEqual([row["status"] for row in self.export(f"q={tag}&status=revoked")[1]], ["revoked"])
        self.assertRegex(self.export(f"q={tag}&status=revoked")[1][0]["revoked_at"], ISO)
        # The list's Export link carries its filters.
        page = self.server.get(f"/w/1/keys?q={tag}&status=disabled")
        link = page.doc.by_id("export-csv").get("href")
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(link).query),
                         {"q": [tag], "status": ["disabled"]})
        self.assertEqual(ids(urllib.parse.urlsplit(link).query), [off])
        viewer = self.add_person("viewer")
        self.assertEqual(sorted(row["key_id"] for row in self.export(f"q={tag}", who=viewer)[1]), sorted([on, off]))
        # A filter that holds a secret is not used, and says so.
        refused = self.server.get("/w/1/keys.csv?q=" + urllib.parse.quote(self.server.create_key(unique("S"))[1]))
        self.assertErrorPage(refused, 400, "holds a secret", "Nothing was exported")


class ExportManyTest(BulkChecks, ServerTestCase):
    """Past the export's store page (5,000 keys), and past the list's page (50), with networks."""

    COUNT = 5100

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        role = s.query("SELECT id FROM role WHERE workspace_id = 1 AND name = 'admin'")[0][0]
        connection = connect(s.database)
        try:
            for first in range(0, cls.COUNT, 2550):  # SQLite takes 32,766 parameters a statement
                rows, params = [], []
                for n in range(first, min(first + 2550, cls.COUNT)):
                    rows.append("(1, ?, ?, ?, ?, 'QZQZ', ?, ?, ?, ?)")
                    # Several keys a second: the order is created_at, then id. Every third disabled.
                    params += [f"key_{n:016d}", f"Many {n:04d}", f"many {n:04d}", os.urandom(32), role,
                               int(n % 3 != 0), 1700000000 + n // 4, 1700000000 + n // 4]
                connection.execute("INSERT INTO api_key (workspace_id, key_id, name, name_folded, secret_hash, "
                                   "secret_hint, role_id, enabled, created_at, updated_at) VALUES " + ", ".join(rows),
                                   params)
            # Networks on every 7th key, a second one on every 14th.
            for position, every in ((0, 7), (1, 14)):
                connection.execute("INSERT INTO api_key_cidr (workspace_id, api_key_id, position, cidr, label) "
                                   f"SELECT 1, id, {position}, '10.{position}.0.0/16', 'net ' || id FROM api_key "
                                   f"WHERE name LIKE 'Many %' AND id % {every} = 0")
            connection.commit()
        finally:
            connection.close()

    def expected(self, where):
        """(key_id, networks) of the keys `where` picks, in the list's order, from the database."""
        keys = self.server.query("SELECT id, key_id FROM api_key WHERE workspace_id = 1 AND name LIKE 'Many %' AND "
                                 f"{where} ORDER BY created_at DESC, id DESC")
        networks = {}
        for key, cidr, label in self.server.query("SELECT api_key_id, cidr, label FROM api_key_cidr "
                                                   "WHERE workspace_id = 1 ORDER BY api_key_id, position"):
            networks.setdefault(key, []).append(f"{cidr} {label}")
        return [(key_id, "\n".join(networks.get(key, []))) for key, key_id in keys]

    def test_every_key_once_in_the_list_order_with_its_networks(self):
        for query, where in (("q=many", "1 = 1"), ("q=many&status=enabled", "enabled = 1")):
            with self.subTest(query=query):
                response = self.server.get("/w/1/keys.csv?" + query)
                self.assertStatus(response, 200)
                rows = list(csv.reader(io.StringIO(response.body.decode("utf-8"), newline="")))[1:]
                expected = self.expected(where)
                self.assertGreater(len(expected), 3000)
                self.assertEqual([(row[0], row[7]) for row in rows], expected)
                self.assertTrue(any(row[7] for row in rows))
                self.assertNotIn("QZQZ", response.body.decode("utf-8"))
        self.assertEqual(len(self.expected("1 = 1")), self.COUNT)
        head = self.server.request("HEAD", "/w/1/keys.csv?q=many")
        self.assertStatus(head, 200)
        self.assertEqual(head.body, b"")
        self.assertEqual(head.header("Content-Type"), "text/csv; charset=utf-8; header=present")
