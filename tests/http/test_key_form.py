"""test_key_form.py: the create and edit forms: what they show, what they save, the limits that are
still accepted, and "Add another network" without JavaScript."""
import os
import re
import secrets
import subprocess
import unittest
import urllib.parse

from harness import (connect, BIN, TEMPLATES, Document, ServerTestCase, StandaloneKeyward, fastcgi_sign_in, fcgi_request,
                     parse_cgi_output, sanitizer_report)


class KeyFormTest(ServerTestCase):

    def test_new_form_defaults(self):
        page = self.server.get("/w/1/keys/new")
        self.assertStatus(page, 200)
        doc = page.doc
        roles = self.server.roles()
        self.assertEqual(set(roles), {"admin", "read-only"})
        self.assertEqual(doc.selected("role"), [roles["read-only"]])  # the least a key can do
        self.assertEqual(doc.value("name"), "")
        self.assertEqual(doc.value("postback_url"), "")
        self.assertTrue(doc.checked("enabled"))
        self.assertFalse(doc.checked("off_record"))
        self.assertEqual(doc.values("cidr"), [""])
        self.assertEqual(doc.values("cidr_label"), [""])
        self.assertEqual(doc.find_all("button", name="action", value="add_cidr")[0].text.strip(),
                         "Add another network")
        form = doc.find_all("form", class_="panel key-form")[0]
        self.assertEqual(form.get("method"), "post")
        self.assertEqual(form.get("action"), "/w/1/keys/new")
        self.assertIsNone(doc.by_id("error-summary"))
        self.assertEqual(doc.field_errors(), {})
        # every field has a label
        for field_id in ("name", "role", "cidr-0", "cidr-label-0", "postback_url", "off_record", "enabled"):
            with self.subTest(field=field_id):
                self.assertIsNotNone(doc.by_id(field_id))
                self.assertTrue(doc.find_all("label", for_=field_id), f"no <label for={field_id}>")
        self.assertSecurityHeaders(page)

    def test_create_saves_trimmed_and_canonical_values(self):
        before = self.server.count("api_key")
        name = f"Trim me {secrets.token_hex(3)}"
        fields = [("name", f"  {name}\t "), ("role", self.server.roles()["admin"]),
                  ("postback_url", "  https://example.com/hook  "),
                  ("cidr", " 10.0.0.0/8 "), ("cidr_label", "  Intranet "),
                  ("cidr", "203.0.113.7"), ("cidr_label", ""),
                  ("cidr", ""), ("cidr_label", ""),  # a blank row is dropped, not an error
                  ("cidr", "2001:DB8::/32"), ("cidr_label", "v6"),
                  ("cidr", "::ffff:192.0.2.1"), ("cidr_label", "mapped"),
                  ("enabled", "1"), ("action", "save")]
        response = self.server.post("/w/1/keys/new", fields)
        self.assertStatus(response, 303)
        key_id = response.header("Location").split("/")[4]
        self.assertEqual(self.server.count("api_key"), before + 1)
        row = self.server.key_row(key_id)
        self.assertEqual(row["name"], name)
        self.assertEqual(row["name_folded"], name.lower())
        self.assertEqual(row["postback_url"], "https://example.com/hook")
        self.assertEqual(self.server.key_cidrs(key_id), [
            ("10.0.0.0/8", "Intranet"), ("203.0.113.7/32", ""), ("2001:db8::/32", "v6"),
            ("192.0.2.1/32", "mapped")])

    def test_limits_that_are_still_accepted(self):
        cases = {
            "100-character name": dict(name="n" * 100),
            "100 non-ASCII characters (200 bytes)": dict(name="é" * 100),
            "emoji name": dict(name="Ключ 🔑 für Ärger"),
            "2048-byte URL": dict(name="url limit", postback_url="https://example.com/" + "a" * (2048 - 20)),
            "http URL with port and IPv6 host": dict(name="v6 url", postback_url="http://[2001:db8::1]:8080/x"),
            "100-character label": dict(name="label limit", cidrs=[("192.0.2.0/24", "l" * 100)]),
        }
        for what, arguments in cases.items():
            with self.subTest(what):
                key_id, secret = self.server.create_key(**arguments)
                row = self.server.key_row(key_id)
                self.assertEqual(row["name"], arguments["name"])
                self.assertEqual(row["postback_url"], arguments.get("postback_url", ""))
                if "cidrs" in arguments:
                    self.assertEqual(self.server.key_cidrs(key_id), arguments["cidrs"])
                page = self.server.get(f"/w/1/keys/{key_id}/edit")
                self.assertEqual(page.doc.value("name"), arguments["name"])

    def test_add_another_network_on_create(self):
        before = self.server.row_counts()
        roles = self.server.roles()
        fields = [("name", "Growing"), ("role", roles["admin"]), ("postback_url", "https://example.com/h"),
                  ("cidr", "192.0.2.0/24"), ("cidr_label", "Office"),
                  ("cidr", "10.1.2.3/8"), ("cidr_label", "not checked yet"),
                  ("off_record", "1"), ("action", "add_cidr")]
        page = self.server.post("/w/1/keys/new", fields)
        self.assertStatus(page, 200)
        doc = page.doc
        self.assertEqual(doc.values("cidr"), ["192.0.2.0/24", "10.1.2.3/8", ""])
        self.assertEqual(doc.values("cidr_label"), ["Office", "not checked yet", ""])
        self.assertIsNotNone(doc.by_id("cidr-2"))
        self.assertIsNotNone(doc.by_id("cidr-label-2"))
        self.assertEqual(doc.value("name"), "Growing")
        self.assertEqual(doc.value("postback_url"), "https://example.com/h")
        self.assertEqual(doc.selected("role"), [roles["admin"]])
        self.assertTrue(doc.checked("off_record"))
        self.assertFalse(doc.checked("enabled"))
        self.assertEqual(doc.field_errors(), {})  # no checking yet: the user is still typing
        self.assertIsNone(doc.by_id("error-summary"))
        self.assertEqual(self.server.row_counts(), before)

        # and again, from the re-rendered form: one more row each time
        fields = [(n, v) for n, v in fields if n != "action"] + [("cidr", ""), ("cidr_label", ""),
                                                                  ("action", "add_cidr")]
        page = self.server.post("/w/1/keys/new", fields)
        self.assertEqual(len(page.doc.values("cidr")), 4)
        self.assertEqual(self.server.row_counts(), before)

    def test_add_another_network_on_edit(self):
        key_id, _ = self.server.create_key("Edit rows", cidrs=[("192.0.2.0/24", "Office")])
        row = self.server.key_row(key_id)
        edit = self.server.get(f"/w/1/keys/{key_id}/edit")
        self.assertEqual(edit.doc.values("cidr"), ["192.0.2.0/24", ""])  # stored rows plus an empty one
        fields = self.server.key_fields("Edit rows renamed", cidrs=[("192.0.2.0/24", "Office"),
                                                                     ("198.51.100.0/24", "Lab")])
        page = self.server.post(f"/w/1/keys/{key_id}/edit", fields + [("action", "add_cidr")])
        self.assertStatus(page, 200)
        self.assertEqual(page.doc.values("cidr"), ["192.0.2.0/24", "198.51.100.0/24", ""])
        self.assertEqual(page.doc.value("name"), "Edit rows renamed")
        self.assertEqual(page.doc.find_all("form", class_="panel key-form")[0].get("action"),
                         f"/w/1/keys/{key_id}/edit")
        self.assertEqual(self.server.key_row(key_id), row)
        self.assertEqual(self.server.key_cidrs(key_id), [("192.0.2.0/24", "Office")])

    def test_edit_can_remove_every_network(self):
        key_id, _ = self.server.create_key("Shrinking", cidrs=[("192.0.2.0/24", "a"), ("198.51.100.0/24", "b")])
        fields = self.server.key_fields("Shrinking", cidrs=[("", ""), ("", "")])
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/edit", fields), 303)
        self.assertEqual(self.server.key_cidrs(key_id), [])

    def test_edit_form_of_unknown_key_is_404(self):
        self.assertErrorPage(self.server.get("/w/1/keys/key_AAAAAAAAAAAAAAAA/edit"), 404, "Key not found")
        before = self.server.row_counts()
        response = self.server.post("/w/1/keys/key_AAAAAAAAAAAAAAAA/edit", self.server.key_fields("ghost"))
        self.assertErrorPage(response, 404, "Key not found")
        self.assertEqual(self.server.row_counts(), before)

    def test_edit_keeps_the_secret_and_key_id(self):
        key_id, secret = self.server.create_key("Same secret")
        row = self.server.key_row(key_id)
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/edit", self.server.key_fields("Same secret, new name")), 303)
        after = self.server.key_row(key_id)
        self.assertEqual(after["secret_hash"], row["secret_hash"])
        self.assertEqual(after["secret_hint"], secret[-4:])
        self.assertEqual(after["id"], row["id"])
        self.assertEqual(after["name"], "Same secret, new name")


class KeyLimitTest(unittest.TestCase):
    """KEYWARD_KEY_LIMIT: a workspace with as many active keys as allowed refuses a new one, in the
    console (the form comes back with what was typed and a message) and on the command line."""

    @classmethod
    def setUpClass(cls):
        cls.keyward = StandaloneKeyward(threads=1, env={"KEYWARD_KEY_LIMIT": "2"})
        cls.cookie, cls.csrf = fastcgi_sign_in(cls.keyward.port, cls.keyward.database)

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        assert sanitizer_report(log) is None, log[-4000:]

    def request(self, method, path, form=None):
        form = dict(form or {}, csrf=self.csrf) if method == "POST" else (form or {})
        body = urllib.parse.urlencode(form).encode()
        params = {"REQUEST_METHOD": method, "REQUEST_URI": path, "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1",
                  "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
                  "HTTP_COOKIE": self.cookie}
        stdout, _, _ = fcgi_request(self.keyward.port, params, body)
        return parse_cgi_output(stdout)

    def create(self, name, env_limit="2"):
        env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, KEYWARD_KEY_LIMIT=env_limit)
        return subprocess.run([BIN, "--db", self.keyward.database, "key", "create", "--name", name], env=env,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    def test_the_limit_in_the_console_and_on_the_command_line(self):
        for name in ("First", "Second"):
            self.assertEqual(self.create(name).returncode, 0)
        # The list counts against the limit ...
        status, _, body = self.request("GET", "/w/1/keys")
        self.assertIn("2 of 2 active keys in use: the limit is reached", Document(body.decode()).by_id("key-limit").text)
        # ... the form says so before anything is typed ...
        status, _, body = self.request("GET", "/w/1/keys/new")
        self.assertEqual(status, 200)
        doc = Document(body.decode())
        self.assertIn("2 active keys, as many as it may have (its limit is 2)", doc.by_id("limit-error").text)
        # ... and, when sent anyway, refuses it and keeps every field.
        form = {"name": "Third <b>&", "role": "1", "enabled": "1", "postback_url": "https://example.com/hook",
                "cidr": "10.0.0.0/8", "cidr_label": "Office"}
        status, _, body = self.request("POST", "/w/1/keys/new", form)
        self.assertEqual(status, 409)
        doc = Document(body.decode())
        self.assertIn("Nothing was saved; everything you typed is kept below", doc.by_id("limit-error").text)
        self.assertEqual(doc.value("name"), "Third <b>&")
        self.assertEqual(doc.value("postback_url"), "https://example.com/hook")
        self.assertEqual(doc.values("cidr")[0], "10.0.0.0/8")
        self.assertEqual(doc.values("cidr_label")[0], "Office")
        self.assertNotIn("<b>&", body.decode())  # escaped, not markup
        connection = connect(self.keyward.database)
        try:
            self.assertEqual(connection.execute("SELECT count(*) FROM api_key WHERE revoked_at IS NULL").fetchone()[0], 2)
        finally:
            connection.close()
        # The command line too, with a message that says what to do.
        done = self.create("Third, by hand")
        self.assertEqual(done.returncode, 1)
        self.assertIn("revoke keys that are no longer used", done.stderr)
        self.assertEqual(done.stdout, "")
        # A revoked key makes room.
        key_id = re.search(r"^(key_\S+)\s+enabled\s+\S+\s+First$", self.keyward.cli("key", "list").stdout, re.M).group(1)
        status, _, _ = self.request("POST", f"/w/1/keys/{key_id}/revoke")
        self.assertEqual(status, 303)
        status, _, body = self.request("GET", "/w/1/keys/new")
        self.assertNotIn('id="limit-error"', body.decode())
        self.assertEqual(self.create("Third, after a revocation").returncode, 0)

    def test_a_malformed_limit_is_refused_at_start(self):
        done = self.create("Never", env_limit="lots")
        self.assertEqual(done.returncode, 1)
        self.assertIn("KEYWARD_KEY_LIMIT must be a whole number", done.stderr)
