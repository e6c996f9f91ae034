"""test_roles.py: the key roles section of the console (/w/1/roles): the list, the create and edit forms
and their rules, deletion (refused while keys use the role), hostile input, wrong methods, and the
effects elsewhere: the role <select> of the key form, and the gatekeeper, whose very next answer
carries a role's new permissions (through `keyward serve` over FastCGI, and through lighttpd).

Roles are checked in the database (table role: id, workspace_id, name, description, permissions,
the permissions one space-separated list). Names carry a random part so that tests sharing a server
do not depend on their order.
"""
import os
import re
import secrets
import shutil
import tempfile
import unittest
import urllib.parse

from harness import (connect, FCGI_AUTHORIZER, Document, LighttpdGatekeeper, ServerTestCase, StandaloneKeyward,
                     fastcgi_sign_in, fcgi_request, parse_cgi_output, sanitizer_report)

# keyward's own permissions, in the order the form lists them and the store keeps them.
BUILTIN = ("api.key.view", "api.key.create", "api.key.update", "api.key.delete", "api.key.verify")
SEEDED = {"admin": " ".join(BUILTIN), "read-only": "api.key.view"}


def unique(label):
    """A name no other test uses: letters, digits and a space, so the name rule accepts it."""
    return f"{label} {secrets.token_hex(4)}"


def role_fields(name, description="", permissions=(), app_permissions=""):
    """The role form's fields, as a list of pairs (a checkbox per checked built-in permission)."""
    return ([("name", name), ("description", description)] + [("permission", p) for p in permissions]
            + [("app_permissions", app_permissions)])


def app_permissions_field(doc):
    """The app_permissions control. The specification says a text input; a <textarea> is accepted
    too, since the field takes new lines (which a browser strips from an <input>'s value)."""
    found = doc.find_all("input", name="app_permissions") + doc.find_all("textarea", name="app_permissions")
    return found[0] if found else None


def app_permissions_text(doc):
    field = app_permissions_field(doc)
    if field is None:
        return None
    if field.tag == "textarea":
        return field.text[1:] if field.text.startswith("\n") else field.text  # HTML drops that first newline
    return field.get("value", "")


def checked_permissions(doc):
    return [e.get("value") for e in doc.find_all("input", name="permission") if e.has("checked")]


def split_permissions(text):
    return [p for p in re.split(r"[\s,]+", text or "") if p]


def words(text):
    """`text` with each run of white space made one space."""
    return " ".join(text.split())


def text_of(doc):
    """All the text of a parsed page or fragment (its first element holds the rest), spaces folded."""
    return words(doc.elements[0].text) if doc.elements else ""


def table_rows(page_text):
    """Each <tr> of a page, parsed on its own."""
    return [Document(row) for row in re.findall(r"<tr\b.*?</tr>", page_text, re.S)]


def main_nav(page_text):
    found = re.search(r"<nav\b.*?</nav>", page_text, re.S)
    return Document(found.group(0)) if found else None


class RoleConsole:
    """Helpers for a ServerTestCase whose server serves the console."""

    def role_row(self, role_id):
        rows = self.server.query("SELECT id, workspace_id, name, description, permissions FROM role WHERE id = ?",
                                 (role_id,))
        return dict(zip(("id", "workspace_id", "name", "description", "permissions"), rows[0])) if rows else None

    def role_id(self, name):
        rows = self.server.query("SELECT id FROM role WHERE workspace_id = 1 AND name = ?", (name,))
        self.assertEqual(len(rows), 1, f"no role named {name!r} in the database")
        return rows[0][0]

    def roles_table(self):
        return self.server.query("SELECT * FROM role ORDER BY id")

    def create_role(self, name, description="", permissions=(), app_permissions=""):
        """Create a role through the form; returns its id."""
        response = self.server.post("/w/1/roles/new", role_fields(name, description, permissions, app_permissions))
        self.assertStatus(response, 303)
        self.assertEqual(response.header("Location"), "/w/1/roles?done=created")
        return self.role_id(name.strip())


class RolesTest(RoleConsole, ServerTestCase):

    # ---- helpers ----

    def list_row(self, role_id, page=None):
        """The row of /roles whose name links to the role's edit form, parsed on its own."""
        page = page or self.server.get("/w/1/roles")
        self.assertStatus(page, 200)
        for row in table_rows(page.text):
            if row.find_all("a", href=f"/w/1/roles/{role_id}/edit"):
                return row
        raise AssertionError(f"no row of /roles links to /roles/{role_id}/edit:\n{page.text[:3000]}")

    def assertRefused(self, path, fields, *fields_in_error):
        """POST `fields` to `path`: 422, the form again with an error summary and an error on exactly
        `fields_in_error`, and nothing saved. Returns the page's Document."""
        before = self.roles_table()
        response = self.server.post(path, fields)
        self.assertStatus(response, 422)
        self.assertEqual(self.roles_table(), before, "a refused form changed the role table")
        doc = response.doc
        summaries = [e for e in doc.find_all("div", role="alert") if "error-summary" in e.get("class", "").split()]
        self.assertEqual(len(summaries), 1, "no div.error-summary with role=alert")
        self.assertEqual(set(doc.field_errors()), {f"{field}-error" for field in fields_in_error})
        for field in fields_in_error:
            error = doc.by_id(f"{field}-error")
            self.assertEqual(error.tag, "p")
            control = app_permissions_field(doc) if field == "app_permissions" else doc.find_all("input", name=field)[0]
            self.assertEqual(control.get("aria-invalid"), "true", f"{field} not marked aria-invalid")
        return doc

    def assertNotice(self, page, sentence):
        """One status notice, which starts with `sentence` (it may say more)."""
        notices = page.doc.find_all("p", class_="notice", role="status")
        self.assertEqual(len(notices), 1, page.text[:2000])
        self.assertTrue(words(notices[0].text).startswith(sentence), notices[0].text)

    def error_of(self, doc, field):
        return words(doc.by_id(f"{field}-error").text)

    # ---- navigation and the list ----

    def test_header_nav_links_to_roles(self):
        for path in ("/w/1/keys", "/w/1/keys/new", "/w/1/roles"):
            with self.subTest(path=path):
                nav = main_nav(self.server.get(path).text)
                self.assertIsNotNone(nav, "no <nav>")
                self.assertEqual([words(a.text) for a in nav.find_all("a", href="/w/1/roles")], ["Roles"])

    def test_list_shows_every_role_of_the_workspace(self):
        self.create_role(unique("Listed"), "Shown in the list", ["api.key.view"], "messages.send")
        page = self.server.get("/w/1/roles")
        self.assertStatus(page, 200)
        self.assertSecurityHeaders(page)
        self.assertEqual([words(h.text) for h in page.doc.find_all("h1")], ["Key roles"])
        stored = self.server.query("SELECT id, name, description, permissions FROM role WHERE workspace_id = 1")
        linked = {int(m) for m in re.findall(r'href="/w/1/roles/(\d+)/edit"', page.text)}
        self.assertEqual(linked, {row[0] for row in stored})
        for role_id, name, description, permissions in stored:
            with self.subTest(role=name):
                row = self.list_row(role_id, page)
                self.assertEqual(words(row.find_all("a", href=f"/w/1/roles/{role_id}/edit")[0].text), name)
                self.assertIn(words(description), text_of(row))
                self.assertEqual([c.text.strip() for c in row.find_all("code")], permissions.split())
        self.assertEqual({name: permissions for _, name, _, permissions in stored if name in SEEDED}, SEEDED)
        self.assertEqual([words(a.text) for a in page.doc.find_all("a", href="/w/1/roles/new")], ["Create a role"])

    def test_list_says_how_many_keys_use_each_role(self):
        unused = self.create_role(unique("Nobody"))
        one = self.create_role(unique("One key"))
        two = self.create_role(unique("Two keys"))
        self.server.create_key_cli(unique("Only key"), "--role", self.role_row(one)["name"])
        self.server.create_key_cli(unique("First key"), "--role", self.role_row(two)["name"])
        self.server.create_key_cli(unique("Second key"), "--role", self.role_row(two)["name"], "--disabled")
        page = self.server.get("/w/1/roles")
        for role_id, expected in ((unused, r"Not used by any key"), (one, r"Used by 1 key(?!s)"),
                                  (two, r"Used by 2 keys")):
            with self.subTest(expected=expected):
                self.assertRegex(text_of(self.list_row(role_id, page)), expected)

    def test_notices_after_create_save_and_delete(self):
        self.assertEqual(self.server.get("/w/1/roles").doc.find_all("p", class_="notice"), [])
        for done, sentence in (("created", "Role created."), ("saved", "Role saved."), ("deleted", "Role deleted.")):
            with self.subTest(done=done):
                page = self.server.get("/w/1/roles?done=" + done)
                self.assertStatus(page, 200)
                self.assertNotice(page, sentence)

    # ---- creating ----

    def test_new_form(self):
        page = self.server.get("/w/1/roles/new")
        self.assertStatus(page, 200)
        self.assertSecurityHeaders(page)
        doc = page.doc
        forms = doc.find_all("form", action="/w/1/roles/new")
        self.assertEqual(len(forms), 1)
        self.assertEqual(forms[0].get("method"), "post")
        self.assertEqual(doc.value("name"), "")
        self.assertEqual(doc.value("description"), "")
        boxes = doc.find_all("input", name="permission")
        self.assertEqual([b.get("value") for b in boxes], list(BUILTIN))
        self.assertEqual({b.get("type") for b in boxes}, {"checkbox"})
        self.assertIsNotNone(app_permissions_field(doc), "no app_permissions field")
        self.assertEqual(app_permissions_text(doc), "")
        self.assertIn("Create role", [words(b.text) for b in doc.find_all("button")])
        self.assertEqual(doc.field_errors(), {})

    def test_create_trims_the_name_and_orders_the_permissions(self):
        name = unique("Support desk")
        # the boxes arrive in another order than the form lists them
        response = self.server.post("/w/1/roles/new", role_fields(f"  {name}  ", "Answers tickets",
                                                              ["api.key.verify", "api.key.view"],
                                                              "messages.send, reports:read"))
        self.assertStatus(response, 303)
        self.assertEqual(response.header("Location"), "/w/1/roles?done=created")
        row = self.role_row(self.role_id(name))
        self.assertEqual(row["workspace_id"], 1)
        self.assertEqual(row["description"], "Answers tickets")
        self.assertEqual(row["permissions"], "api.key.view api.key.verify messages.send reports:read")
        page = self.server.follow(response)
        self.assertNotice(page, "Role created.")
        self.assertIn("Answers tickets", text_of(self.list_row(row["id"], page)))

    def test_application_permissions_split_on_spaces_commas_and_new_lines_once_each(self):
        name = unique("Separators")
        typed = "reports:read,messages.send\r\nmessages.send  audit_log,\nreports:read  api.key.view"
        self.create_role(name, "", ["api.key.view", "api.key.view"], typed)
        self.assertEqual(self.role_row(self.role_id(name))["permissions"],
                         "api.key.view reports:read messages.send audit_log")

    def test_limits_that_are_still_accepted(self):
        fifty = " ".join(f"app{n}.run" for n in range(50))
        forty_five = ", ".join(f"app{n}:read" for n in range(45))
        cases = {
            "64-character name": dict(name=unique("N" * 55), description=""),
            "every allowed kind of character": dict(name=unique("Ops.team-2_b"), description=""),
            "200-character description": dict(name=unique("Long description"), description="d" * 200),
            "200 non-ASCII characters (400 bytes)": dict(name=unique("Accents"), description="é" * 200),
            "64-character permission": dict(name=unique("Long permission"), app_permissions="a" * 64),
            "50 application permissions": dict(name=unique("Fifty"), app_permissions=fifty),
            "5 built-in and 45 application permissions": dict(name=unique("Fifty in all"), permissions=BUILTIN,
                                                              app_permissions=forty_five),
            "every separator of the pattern": dict(name=unique("Pattern"), app_permissions="a.b_c:d-e 0 x9.y8"),
        }
        self.assertEqual(len(cases["64-character name"]["name"]), 64)
        for what, fields in cases.items():
            with self.subTest(what):
                row = self.role_row(self.create_role(**fields))
                self.assertEqual(row["name"], fields["name"])
                self.assertEqual(row["description"], fields.get("description", ""))
                self.assertEqual(row["permissions"].split(),
                                 list(fields.get("permissions", ())) + split_permissions(fields.get("app_permissions")))

    def test_name_rules(self):
        cases = {
            "empty": ("", None),
            "only spaces": ("   ", None),
            "65 characters": ("n" * 65, None),
            "markup": ("<script>alert(1)</script>", None),
            "semicolon": ("semi;colon", None),
            "slash": ("slash/name", None),
            "quote": ("O'Brien", None),
            "at sign": ("at@sign", None),
            "a seeded name in capitals": ("ADMIN", "already"),
            "a seeded name in mixed case": ("Read-Only", "already"),
            "a seeded name with spaces around": ("  admin ", "already"),
        }
        for what, (name, phrase) in cases.items():
            with self.subTest(what):
                doc = self.assertRefused("/w/1/roles/new", role_fields(name, "kept", ["api.key.view"]), "name")
                if phrase:
                    self.assertIn(phrase, self.error_of(doc, "name").lower())
                self.assertEqual(doc.value("name").strip(), name.strip())
                self.assertEqual(doc.value("description"), "kept")
                self.assertEqual(checked_permissions(doc), ["api.key.view"])

    def test_names_are_unique_ignoring_case(self):
        name = unique("Billing")
        self.create_role(name)
        doc = self.assertRefused("/w/1/roles/new", role_fields(name.upper()), "name")
        self.assertIn("already", self.error_of(doc, "name"))
        self.assertRefused("/w/1/roles/new", role_fields(name), "name")

    def test_description_rules(self):
        cases = {
            "201 characters": "d" * 201,
            "201 non-ASCII characters": "é" * 201,
            "a control character": "bell \x01 here",
            "a terminal escape": "\x1b[2J cleared",
            "a new line": "two\nlines",
            "DEL": "delete \x7f here",
            "a C1 control character": "csi \u009b here",
        }
        for what, description in cases.items():
            with self.subTest(what):
                doc = self.assertRefused("/w/1/roles/new", role_fields(unique("Described"), description), "description")
                if what.startswith("201"):
                    self.assertEqual(doc.value("description"), description)

    def test_application_permission_rules(self):
        cases = {
            "capitals": ("messages.send, Reports:Read", "Reports:Read"),
            "two separators in a row": ("messages..send", "messages..send"),
            "a leading separator": ("-leading", "-leading"),
            "a trailing separator": ("trailing.", "trailing."),
            "a slash": ("files/read", "files/read"),
            "non-ASCII": ("nachrichten.schön", "nachrichten.schön"),
            "punctuation": ("send!", "send!"),
            "markup": ("ok.one <img src=x onerror=alert(1)>", "<img"),
            "65 characters": ("a" * 65, None),
            "51 application permissions": (" ".join(f"app{n}.run" for n in range(51)), None),
        }
        for what, (typed, offending) in cases.items():
            with self.subTest(what):
                doc = self.assertRefused("/w/1/roles/new", role_fields(unique("Perms"), "", [], typed), "app_permissions")
                self.assertEqual(app_permissions_text(doc), typed)
                if offending:
                    self.assertIn(offending, self.error_of(doc, "app_permissions"))

    def test_at_most_fifty_permissions_in_all(self):
        forty_six = " ".join(f"app{n}.run" for n in range(46))
        self.assertRefused("/w/1/roles/new", role_fields(unique("Fifty one"), "", BUILTIN, forty_six), "app_permissions")

    def test_a_refused_form_keeps_everything_typed(self):
        fields = role_fields("bad/name", "x" * 201, ["api.key.delete", "api.key.create"],
                             "messages.send,\nBad:Perm  reports:read")
        doc = self.assertRefused("/w/1/roles/new", fields, "name", "description", "app_permissions")
        self.assertEqual(doc.value("name"), "bad/name")
        self.assertEqual(doc.value("description"), "x" * 201)
        self.assertEqual(checked_permissions(doc), ["api.key.create", "api.key.delete"])
        self.assertEqual(app_permissions_text(doc), "messages.send,\nBad:Perm  reports:read")
        self.assertIn("Bad:Perm", self.error_of(doc, "app_permissions"))
        self.assertEqual(doc.find_all("form", action="/w/1/roles/new")[0].get("method"), "post")

    def test_forged_permission_boxes_are_never_stored(self):
        """Only the five built-in values are checkboxes; anything else sent as one must not slip past
        the application permissions' pattern (refused or ignored, never stored)."""
        for forged in ("api.key.everything", "Evil Perm", "<b>x</b>"):
            with self.subTest(forged=forged):
                name = unique("Forged")
                response = self.server.post("/w/1/roles/new", role_fields(name, "", ["api.key.view", forged]))
                self.assertIn(response.status, (303, 422), response.text[:1000])
                for (permissions,) in self.server.query("SELECT permissions FROM role"):
                    self.assertNotIn(forged, permissions)

    # ---- editing ----

    def test_edit_form_starts_from_the_stored_role(self):
        name = unique("Prefilled")
        role_id = self.create_role(name, "Reads & writes", ["api.key.update", "api.key.view"],
                                   "messages.send reports:read")
        page = self.server.get(f"/w/1/roles/{role_id}/edit")
        self.assertStatus(page, 200)
        doc = page.doc
        self.assertEqual(doc.find_all("form", action=f"/w/1/roles/{role_id}/edit")[0].get("method"), "post")
        self.assertEqual(doc.value("name"), name)
        self.assertEqual(doc.value("description"), "Reads & writes")
        self.assertEqual(checked_permissions(doc), ["api.key.view", "api.key.update"])
        self.assertEqual(split_permissions(app_permissions_text(doc)), ["messages.send", "reports:read"])
        self.assertEqual(doc.field_errors(), {})

    def test_edit_saves(self):
        role_id = self.create_role(unique("Before"), "old", ["api.key.view"], "old.permission")
        new_name = unique("After")
        response = self.server.post(f"/w/1/roles/{role_id}/edit",
                                    role_fields(new_name, "new", ["api.key.delete", "api.key.create"], "b.two, a.one"))
        self.assertStatus(response, 303)
        self.assertEqual(response.header("Location"), "/w/1/roles?done=saved")
        self.assertEqual(self.role_row(role_id), {"id": role_id, "workspace_id": 1, "name": new_name,
                                                  "description": "new",
                                                  "permissions": "api.key.create api.key.delete b.two a.one"})
        page = self.server.follow(response)
        self.assertNotice(page, "Role saved.")
        row = self.list_row(role_id, page)
        self.assertEqual([c.text.strip() for c in row.find_all("code")],
                         ["api.key.create", "api.key.delete", "b.two", "a.one"])

    def test_edit_may_keep_its_own_name_but_not_take_another(self):
        other = unique("Taken")
        self.create_role(other)
        name = unique("Mine")
        role_id = self.create_role(name, "first")
        doc = self.assertRefused(f"/w/1/roles/{role_id}/edit", role_fields(other.upper(), "second"), "name")
        self.assertIn("already", self.error_of(doc, "name"))
        self.assertEqual(doc.value("name"), other.upper())
        self.assertEqual(doc.value("description"), "second")
        self.assertRefused(f"/w/1/roles/{role_id}/edit", role_fields("ADMIN"), "name")
        self.assertStatus(self.server.post(f"/w/1/roles/{role_id}/edit", role_fields(name, "second")), 303)
        self.assertEqual(self.role_row(role_id)["description"], "second")
        self.assertStatus(self.server.post(f"/w/1/roles/{role_id}/edit", role_fields(name.upper(), "third")), 303)
        self.assertEqual(self.role_row(role_id)["name"], name.upper())

    def test_edit_applies_the_same_rules(self):
        role_id = self.create_role(unique("Strict"), "", ["api.key.view"], "messages.send")
        typed = "messages.send UPPER"
        doc = self.assertRefused(f"/w/1/roles/{role_id}/edit", role_fields("  ", "\x01", ["api.key.verify"], typed),
                                 "name", "description", "app_permissions")
        self.assertEqual(checked_permissions(doc), ["api.key.verify"])
        self.assertEqual(app_permissions_text(doc), typed)
        self.assertEqual(doc.find_all("form", action=f"/w/1/roles/{role_id}/edit")[0].get("method"), "post")

    def test_unknown_or_non_numeric_ids_are_404(self):
        for role_id in ("999999", "0", "-1", "abc", "1x", "1.0", "99999999999999999999999"):
            with self.subTest(role_id=role_id):
                before = self.roles_table()
                self.assertErrorPage(self.server.get(f"/w/1/roles/{role_id}/edit"), 404)
                self.assertErrorPage(self.server.post(f"/w/1/roles/{role_id}/edit", role_fields(unique("Ghost"))), 404)
                self.assertErrorPage(self.server.get(f"/w/1/roles/{role_id}/delete"), 404)
                self.assertErrorPage(self.server.post(f"/w/1/roles/{role_id}/delete"), 404)
                self.assertEqual(self.roles_table(), before)

    def test_roles_of_another_workspace_are_out_of_reach(self):
        foreign = unique("Foreign team")
        connection = connect(self.server.database)
        try:
            with connection:
                connection.execute("INSERT OR IGNORE INTO workspace (id, name, created_at) VALUES (2, 'Other', 0)")
                role_id = connection.execute("INSERT INTO role (workspace_id, name, description, permissions) "
                                             "VALUES (2, ?, 'elsewhere', 'api.key.view')", (foreign,)).lastrowid
        finally:
            connection.close()
        page = self.server.get("/w/1/roles")
        self.assertNotIn(f"/w/1/roles/{role_id}/edit", page.text)
        self.assertNotIn(foreign, page.text)
        self.assertErrorPage(self.server.get(f"/w/1/roles/{role_id}/edit"), 404)
        self.assertErrorPage(self.server.post(f"/w/1/roles/{role_id}/edit", role_fields(unique("Hijacked"))), 404)
        self.assertErrorPage(self.server.post(f"/w/1/roles/{role_id}/delete"), 404)
        self.assertEqual(self.role_row(role_id)["name"], foreign)
        # a name is unique within its workspace only
        self.create_role(foreign.upper())

    # ---- deleting ----

    def test_delete_an_unused_role(self):
        name = unique("Short lived")
        role_id = self.create_role(name)
        confirm = self.server.get(f"/w/1/roles/{role_id}/delete")
        self.assertStatus(confirm, 200)
        self.assertIn(name, text_of(confirm.doc))
        self.assertEqual(confirm.doc.find_all("form", action=f"/w/1/roles/{role_id}/delete")[0].get("method"), "post")
        self.assertIsNotNone(self.role_row(role_id), "showing the confirmation deleted the role")
        response = self.server.post(f"/w/1/roles/{role_id}/delete")
        self.assertStatus(response, 303)
        self.assertEqual(response.header("Location"), "/w/1/roles?done=deleted")
        self.assertIsNone(self.role_row(role_id))
        page = self.server.follow(response)
        self.assertNotice(page, "Role deleted.")
        self.assertNotIn(f"/w/1/roles/{role_id}/edit", page.text)
        self.assertErrorPage(self.server.get(f"/w/1/roles/{role_id}/edit"), 404)

    def test_delete_is_refused_while_keys_use_the_role(self):
        name = unique("Busy")
        role_id = self.create_role(name)
        self.server.create_key_cli(unique("Busy key"), "--role", name)
        self.server.create_key_cli(unique("Paused key"), "--role", name, "--disabled")
        before = self.roles_table()
        response = self.server.post(f"/w/1/roles/{role_id}/delete")
        self.assertStatus(response, 409)
        self.assertIn("used by 2 keys", text_of(response.doc).lower())
        self.assertEqual(self.roles_table(), before)
        self.assertEqual(self.server.count("api_key", "role_id = ?", (role_id,)), 2)

    def test_delete_is_refused_while_a_revoked_key_has_the_role(self):
        name = unique("Remembered")
        role_id = self.create_role(name)
        token = self.server.create_key_cli(unique("Revoked key"), "--role", name)
        key_id = "key_" + token.split("_")[2]
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/revoke"), 303)
        before = self.roles_table()
        self.assertStatus(self.server.post(f"/w/1/roles/{role_id}/delete"), 409)
        self.assertEqual(self.roles_table(), before)
        self.assertEqual(self.server.key_row(key_id)["role_id"], role_id)

    # ---- effects on the keys ----

    def test_a_new_role_can_be_given_to_a_key(self):
        name = unique("Reporting")
        role_id = self.create_role(name, "Reads reports", ["api.key.view"], "reports:read")
        options = dict(self.server.get("/w/1/keys/new").doc.options("role"))
        self.assertIn(str(role_id), options)
        self.assertTrue(options[str(role_id)].startswith(name), options[str(role_id)])
        created = self.server.post("/w/1/keys/new", [("name", unique("Reporter")), ("role", str(role_id)),
                                                 ("postback_url", ""), ("enabled", "1")])
        self.assertStatus(created, 303)
        key_id = re.search(r"/w/1/keys/(key_[A-Za-z0-9]+)/secret", created.header("Location")).group(1)
        self.assertEqual(self.server.key_row(key_id)["role_id"], role_id)
        self.assertIn(f"<dt>Role</dt><dd>{name}</dd>", self.server.get(f"/w/1/keys/{key_id}").text)

    # ---- hostile input ----

    def test_markup_in_a_name_is_refused_and_comes_back_escaped(self):
        markup = "<script>alert(1)</script>"
        response = self.server.post("/w/1/roles/new", role_fields(markup, markup))
        self.assertStatus(response, 422)
        self.assertNotIn(markup, response.text)
        self.assertEqual([e.get("src") for e in response.doc.find_all("script")], ["/static/keyward.js"])
        self.assertEqual(response.doc.value("name"), markup)
        self.assertEqual(response.doc.value("description"), markup)

    def test_markup_and_quotes_in_descriptions_are_shown_escaped(self):
        for description in ("<script>alert(1)</script>", "O'Brien \"quoted\" & <b>"):
            with self.subTest(description=description):
                role_id = self.create_role(unique("Hostile"), description)
                self.assertEqual(self.role_row(role_id)["description"], description)
                listed = self.server.get("/w/1/roles")
                self.assertNotIn(description, listed.text)
                self.assertEqual([e.get("src") for e in listed.doc.find_all("script")], ["/static/keyward.js"])
                row = self.list_row(role_id, listed)
                self.assertIn(description, text_of(row))
                self.assertEqual(row.find_all("b"), [])
                edit = self.server.get(f"/w/1/roles/{role_id}/edit")
                self.assertNotIn(description, edit.text)
                self.assertEqual(edit.doc.value("description"), description)
                self.assertEqual([e.get("src") for e in edit.doc.find_all("script")], ["/static/keyward.js"])
                confirm = self.server.get(f"/w/1/roles/{role_id}/delete")
                self.assertNotIn(description, confirm.text)

    def test_markup_in_an_application_permission_comes_back_escaped(self):
        typed = "ok.one <img src=x onerror=alert(1)>"
        response = self.server.post("/w/1/roles/new", role_fields(unique("Image"), "", [], typed))
        self.assertStatus(response, 422)
        self.assertNotIn("<img", response.text)
        self.assertEqual(response.doc.find_all("img"), [])
        self.assertEqual(app_permissions_text(response.doc), typed)

    def test_sql_metacharacters_are_stored_and_shown_verbatim(self):
        description = "x'); DROP TABLE role; --"
        role_id = self.create_role(unique("Bobby"), description)
        self.assertEqual(self.role_row(role_id)["description"], description)
        self.assertIn(description, text_of(self.list_row(role_id)))
        self.assertEqual(self.server.get(f"/w/1/roles/{role_id}/edit").doc.value("description"), description)
        self.assertRefused("/w/1/roles/new", role_fields("Robert'); DROP TABLE role;--"), "name")
        self.assertGreaterEqual(self.server.count("role"), 3)

    # ---- methods ----

    def test_wrong_methods_are_405_with_allow(self):
        role_id = self.create_role(unique("Methods"))
        cases = [
            ("DELETE", "/w/1/roles", {"GET", "HEAD"}),
            ("POST", "/w/1/roles", {"GET", "HEAD"}),
            ("PUT", "/w/1/roles/new", {"GET", "HEAD", "POST"}),
            ("PATCH", f"/w/1/roles/{role_id}/edit", {"GET", "HEAD", "POST"}),
            ("DELETE", f"/w/1/roles/{role_id}/delete", {"GET", "HEAD", "POST"}),
        ]
        for method, path, allow in cases:
            with self.subTest(method=method, path=path):
                before = self.roles_table()
                body = role_fields(unique("Wrong")) if method != "DELETE" else None
                response = self.server.request(method, path, body=body)
                self.assertErrorPage(response, 405, "Method not allowed")
                self.assertEqual({m.strip() for m in (response.header("Allow") or "").split(",")}, allow)
                self.assertEqual(self.roles_table(), before)


# ---- the gatekeeper's answer follows a role's permissions ----------------------------------------

RULES = """# roles test rules: a built-in permission and an application one
require /protected/admin/ api.key.create
require /protected/messages/ messages.send
"""


class RolePermissionsAtTheGateTest(unittest.TestCase):
    """One `keyward serve` (two threads, each with its own key cache) answers the console as a
    FastCGI responder and the API's requests as an FCGI_AUTHORIZER: a role edited through the
    console changes the very next authorizer answer, whichever thread gives it."""

    ASKS = 6  # authorizer requests per check, so that both threads answer (each connection may go to either)

    @classmethod
    def setUpClass(cls):
        cls.rules_folder = tempfile.mkdtemp(prefix="keyward-roles-rules-")
        rules = os.path.join(cls.rules_folder, "rules")
        with open(rules, "w") as f:
            f.write(RULES)
        cls.keyward = StandaloneKeyward(threads=2, env={"KEYWARD_CONFIG": rules})
        cls.cookie, cls.csrf = fastcgi_sign_in(cls.keyward.port, cls.keyward.database)

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        shutil.rmtree(cls.rules_folder, ignore_errors=True)
        if sanitizer_report(log):
            raise AssertionError(f"sanitizer report from keyward serve:\n{log[-6000:]}")

    def console(self, method, path, fields=()):
        fields = list(fields) + ([("csrf", self.csrf)] if method == "POST" else [])
        body = urllib.parse.urlencode(fields).encode()
        params = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method, "REQUEST_URI": path,
                  "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
                  "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
                  "HTTP_COOKIE": self.cookie}
        stdout, _, _ = fcgi_request(self.keyward.port, params, body)
        return parse_cgi_output(stdout)

    def save_role(self, path, fields):
        status, headers, body = self.console("POST", path, fields)
        self.assertEqual(status, 303, body[:2000])

    def ask(self, token, uri):
        """One authorizer request: (status, {header: value})."""
        params = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "REQUEST_URI": uri, "QUERY_STRING": "",
                  "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + token}
        stdout, _, _ = fcgi_request(self.keyward.port, params, role=FCGI_AUTHORIZER)
        status, headers, _ = parse_cgi_output(stdout)
        return status, dict(headers)

    def assertGate(self, token, role, permissions, may_send_messages):
        for _ in range(self.ASKS):
            status, headers = self.ask(token, "/protected/orders")
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("Variable-KEYWARD_ROLE"), role)
            self.assertEqual(headers.get("Variable-KEYWARD_PERMISSIONS"), permissions)
            self.assertEqual(self.ask(token, "/protected/messages/send")[0], 200 if may_send_messages else 403)

    def test_a_role_change_shows_on_the_next_verification(self):
        name = unique("Gate role")
        self.save_role("/w/1/roles/new", role_fields(name, "", ["api.key.view"], "reports:read"))
        done = self.keyward.cli("key", "create", "--name", "Caller", "--role", name)
        self.assertEqual(done.returncode, 0, done.stderr)
        token = done.stdout.strip()
        connection = connect(self.keyward.database, readonly=True)
        try:
            role_id = connection.execute("SELECT id FROM role WHERE name = ?", (name,)).fetchone()[0]
        finally:
            connection.close()
        self.assertGate(token, name, "api.key.view reports:read", False)

        self.save_role(f"/w/1/roles/{role_id}/edit", role_fields(name, "", ["api.key.view", "api.key.create"],
                                                             "reports:read, messages.send"))
        self.assertGate(token, name, "api.key.view api.key.create reports:read messages.send", True)
        self.assertEqual(self.ask(token, "/protected/admin/keys")[0], 200)

        renamed = unique("Renamed gate role")
        self.save_role(f"/w/1/roles/{role_id}/edit", role_fields(renamed, "", ["api.key.view"], ""))
        self.assertGate(token, renamed, "api.key.view", False)
        self.assertEqual(self.ask(token, "/protected/admin/keys")[0], 403)


class RoleChangeThroughLighttpdTest(RoleConsole, ServerTestCase):
    """The deployed shape: the console and the authorizer are different keyward processes under
    lighttpd; a role saved by one is what the other answers with on the next API request."""

    server_class = LighttpdGatekeeper

    def call(self, path, token):
        return self.server.raw_request("GET", path, [("Authorization", "Bearer " + token)])

    def test_a_role_change_reaches_the_api_on_the_next_request(self):
        name = unique("Deployed role")
        role_id = self.create_role(name, "", ["api.key.view"], "messages.send")
        token = self.server.create_key_cli("Deployed caller", "--role", name)
        before = len(self.server.backend_requests())
        self.assertEqual(self.call("/protected/admin/x", token).status, 403)  # the rules want api.key.create
        self.assertEqual(len(self.server.backend_requests()), before)

        response = self.server.post(f"/w/1/roles/{role_id}/edit",
                                    role_fields(name, "", ["api.key.view", "api.key.create"], "messages.send"))
        self.assertStatus(response, 303)
        for _ in range(4):  # lighttpd runs two authorizer processes
            self.assertStatus(self.call("/protected/admin/x", token), 200)
            seen = self.server.backend_requests()[-1]
            self.assertEqual(seen["KEYWARD_ROLE"], name)
            self.assertEqual(seen["KEYWARD_PERMISSIONS"], "api.key.view api.key.create messages.send")


class RoleUsageLinkTest(ServerTestCase):

    def test_the_key_count_links_to_the_keys_of_that_role(self):
        self.server.create_key("Linked to its role", role="read-only")
        page = self.server.get("/w/1/roles")
        read_only = self.server.roles()["read-only"]
        links = [a for a in page.doc.find_all("a") if a.get("href") == f"/w/1/keys?role={read_only}"]
        self.assertEqual(len(links), 1)
        self.assertRegex(links[0].text, r"^Used by \d+ keys?")
        listed = self.server.get(links[0].get("href"))
        self.assertIn("Linked to its role", listed.text)
