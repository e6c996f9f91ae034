"""test_key_notes.py: a key's note and who made it; the list's filter finding a key by its note, key
ID, last 4 characters or whole secret (the secret by POST only, kept nowhere); new key like this one
(issue 15 items 3 to 5)."""
import html
import re
import urllib.parse
import uuid

from harness import ON_POSTGRESQL, ServerTestCase, secret_from

NOTE_TOO_LONG = "The note is too long: at most 1,000 characters (it has 1001)."
NOT_HERE = "No key of this workspace has this secret."


def unique(name):
    return f"{name} {uuid.uuid4().hex[:8]}"


class NoteTest(ServerTestCase):

    def create_with_note(self, name, note, **kw):
        fields = self.server.key_fields(name, **kw) + [("note", note)]
        created = self.server.post("/w/1/keys/new", fields)
        self.assertStatus(created, 303)
        return re.search(r"/keys/(key_[A-Za-z0-9]{16})/secret", created.header("Location")).group(1)

    def test_note_is_kept_shown_escaped_and_editable(self):
        note = "Runs on <b>ärger-1</b> & \"billing\"\r\nOwner: ops team\r\n\tticket 42"
        key_id = self.create_with_note(unique("Noted"), "  " + note + "  \r\n")
        self.assertEqual(self.server.key_row(key_id)["note"], note.replace("\r\n", "\n"))
        page = self.server.get(f"/w/1/keys/{key_id}")
        self.assertIn('<p class="note" id="key-note">Runs on &lt;b&gt;ärger-1&lt;/b&gt; &amp; &quot;billing&quot;\n'
                      "Owner: ops team\n\tticket 42</p>", page.text)
        self.assertNotIn("<b>ärger-1</b>", page.text)
        edit = self.server.get(f"/w/1/keys/{key_id}/edit")
        self.assertEqual(html.unescape(re.search(r'<textarea id="note"[^>]*>(.*?)</textarea>', edit.text, re.S)
                                       .group(1)), note.replace("\r\n", "\n"))
        # cleared by an edit
        fields = self.server.key_fields("Noted, cleared") + [("note", "")]
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/edit", fields), 303)
        self.assertEqual(self.server.key_row(key_id)["note"], "")
        self.assertIn("<dt>Note</dt><dd><span class=\"muted\">None</span></dd>",
                      self.server.get(f"/w/1/keys/{key_id}").text)

    def test_note_counts_characters_not_bytes_and_says_so_beyond_1000(self):
        name = unique("Long note")
        key_id = self.create_with_note(name, "ä" * 1000)  # 2,000 bytes: fine
        self.assertEqual(len(self.server.key_row(key_id)["note"]), 1000)
        typed = "ä" * 1001
        fields = self.server.key_fields(name, cidrs=[("10.9.0.0/16", "Lab")],
                                        postback_url="https://example.com/h") + [("note", typed)]
        refused = self.server.post("/w/1/keys/new", fields)
        self.assertStatus(refused, 422)
        self.assertEqual(refused.doc.field_error_for("note"), NOTE_TOO_LONG)
        self.assertTrue(refused.doc.by_id("note").has("autofocus"))
        self.assertIn(f'<a href="#note">{NOTE_TOO_LONG}</a>', refused.text)
        # everything typed is kept
        self.assertEqual(refused.doc.value("name"), name)
        self.assertEqual(refused.doc.value("postback_url"), "https://example.com/h")
        self.assertEqual(refused.doc.values("cidr")[0], "10.9.0.0/16")
        self.assertEqual(refused.doc.values("cidr_label")[0], "Lab")
        self.assertEqual(refused.doc.by_id("note").text, typed)
        self.assertEqual(self.server.count("api_key", "name = ?", (name,)), 1)

    def test_audit_shows_the_note_changed_shortened(self):
        key_id = self.create_with_note(unique("Audited note"), "first")
        long_note = "x" * 59 + "é" + "tail that the audit line leaves out"
        fields = self.server.key_fields("Audited note") + [("note", long_note)]
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/edit", fields), 303)
        lines = [row[0] for row in self.server.query(
            "SELECT summary FROM audit_event WHERE target_id = ? ORDER BY id", (key_id,))]
        self.assertTrue(lines[0].endswith("; note: “first”"), lines[0])
        self.assertIn("note: “first” → “" + "x" * 59 + "é…”", lines[1])
        self.assertNotIn("tail", lines[1])

    def test_created_by_the_person_or_the_command_line(self):
        key_id = self.create_with_note(unique("Mine"), "")
        self.assertEqual(self.server.key_row(key_id)["created_by"], self.server.OWNER_EMAIL)
        page = self.server.get(f"/w/1/keys/{key_id}")
        self.assertIn(f"<dt>Created by</dt><dd>{self.server.OWNER_EMAIL}</dd>", page.text)
        row = next(row for row in re.findall(r"<tr[ >].*?</tr>", self.server.get("/w/1/keys").text, re.S)
                   if key_id in row)
        self.assertIn(f"by {self.server.OWNER_EMAIL}", row)

        name = unique("From the shell")
        token = self.server.create_key_cli(name, "--note", "made by cron on ärger-2")
        key_id = re.search(r"(key_[A-Za-z0-9]{16})", token).group(1)
        row = self.server.key_row(key_id)
        self.assertEqual((row["created_by"], row["note"]), ("command line", "made by cron on ärger-2"))
        self.assertIn("<dt>Created by</dt><dd>command line</dd>", self.server.get(f"/w/1/keys/{key_id}").text)

        refused = self.server.cli("key", "create", "--name", unique("Too long"), "--note", "é" * 1001)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(NOTE_TOO_LONG, refused.stderr)
        self.assertEqual(refused.stdout, "")


class FilterTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tag = uuid.uuid4().hex[:8]
        server = cls.server
        fields = server.key_fields(f"Ärger {cls.tag}") + [("note", f"Läuft auf Server SIEBEN {cls.tag}")]
        created = server.post("/w/1/keys/new", fields)
        cls.noted = re.search(r"(key_[A-Za-z0-9]{16})", created.header("Location")).group(1)
        secret_page = server.follow(created)
        cls.noted_secret = secret_from(secret_page.text)
        cls.plain, cls.plain_secret = server.create_key(f"Plain {cls.tag}")

    def ids(self, q):
        return set(self.server.list_key_ids("q=" + urllib.parse.quote(q)))

    def test_name_and_note_case_insensitive_non_ascii(self):
        self.assertIn(self.noted, self.ids("ärg"))
        self.assertNotIn(self.plain, self.ids(f"ärger {self.tag}"))
        self.assertEqual(self.ids(f"läuft auf server sieben {self.tag}"), {self.noted})
        self.assertEqual(self.ids(f"LÄUFT AUF SERVER SIEBEN {self.tag}"), {self.noted})

    def test_key_id_from_four_characters(self):
        self.assertEqual(self.ids(self.plain), {self.plain})
        self.assertEqual(self.ids(self.plain.lower()), {self.plain})
        self.assertIn(self.plain, self.ids(self.plain[-6:]))
        # three characters are not looked for in key IDs (they would match most of them)
        piece = self.plain[-3:]
        if all(piece.lower() not in name for name in (f"ärger {self.tag}", f"plain {self.tag}")):
            self.assertNotIn(self.plain, self.ids(piece))

    def test_last_four_of_the_secret(self):
        last4 = self.plain_secret[-4:]
        self.assertIn(self.plain, self.ids(last4))
        self.assertIn(self.plain, self.ids("…" + last4))
        self.assertIn(self.plain, self.ids("..." + last4))
        self.assertIn(self.plain, self.ids(last4.swapcase()))
        if last4[1:] not in self.plain.lower():
            self.assertNotIn(self.plain, self.ids(last4[1:]))

    def find(self, q, **kw):
        return self.server.post("/w/1/keys/find", [("q", q), ("status", ""), ("role", "")], **kw)

    def assertSecretNowhere(self, secret, *pages):
        needles = (secret, secret[-49:-6], urllib.parse.quote(secret))
        for page in pages:
            for needle in needles:
                self.assertNotIn(needle, page.text)
                self.assertNotIn(needle, "\n".join(f"{k}: {v}" for k, v in page.headers))
        log = self.server.error_log()
        audit = "\n".join(" ".join(str(v) for v in row) for row in self.server.query("SELECT * FROM audit_event"))
        files = self.server.data_files()
        if ON_POSTGRESQL:
            files["pg_dump of the database"] = self.server.dump()
        for needle in needles:
            self.assertNotIn(needle, log, "the server's logs")
            self.assertNotIn(needle, audit, "the audit log")
            for name, data in files.items():
                self.assertNotIn(needle.encode(), data, f"found in {name}")

    def test_whole_secret_opens_its_key_by_post_and_is_kept_nowhere(self):
        for pasted in (self.plain_secret, f"  {self.plain_secret}  "):
            with self.subTest(pasted=pasted):
                found = self.find(pasted)
                self.assertStatus(found, 303)
                self.assertEqual(found.header("Location"), f"/w/1/keys/{self.plain}?done=found")
                page = self.server.follow(found)
                self.assertIn("This is the key whose secret you pasted.", page.text)
                self.assertSecretNowhere(self.plain_secret, found, page)

    def test_other_filters_are_redirected_to_the_address(self):
        sent = self.find(f"Plain {self.tag}")
        self.assertStatus(sent, 303)
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(sent.header("Location")).query)["q"],
                         [f"Plain {self.tag}"])
        self.assertEqual(set(re.findall(r"<code>(key_[0-9A-Za-z]{16})</code>", self.server.follow(sent).text)),
                         {self.plain})

    def test_unknown_foreign_and_mistyped_secrets(self):
        workspace = self.server.create_workspace(unique("Elsewhere"))
        foreign = self.server.create_key_cli(unique("Foreign"), "--workspace", str(workspace))
        revoked_id, revoked = self.server.create_key(unique("Gone"))
        self.assertStatus(self.server.post(f"/w/1/keys/{revoked_id}/revoke"), 303)
        unknown = self.plain_secret[:-12] + ("A" if self.plain_secret[-12] != "A" else "B") + self.plain_secret[-11:]
        for what, secret, status, message in (
                ("another workspace's", foreign, 404, NOT_HERE),
                ("a mistyped one", unknown, 422, "The key's checksum does not match"),
                ("half of one", self.plain_secret[:40], 422, "not a whole key of this server")):
            with self.subTest(what):
                page = self.find(secret)
                self.assertStatus(page, status)
                self.assertIn(message, page.doc.field_error_for("q"))
                self.assertTrue(page.doc.by_id("q").has("autofocus"))
                self.assertEqual(page.doc.value("q"), "")
                self.assertSecretNowhere(secret, page)
        # a revoked key of this workspace is still its key: its page says it is revoked
        found = self.find(revoked)
        self.assertEqual(found.header("Location"), f"/w/1/keys/{revoked_id}?done=found")

    def test_secret_in_the_address_is_not_searched(self):
        page = self.server.get("/w/1/keys?q=" + urllib.parse.quote(self.plain_secret))
        self.assertStatus(page, 400)
        self.assertIn("holds a secret", page.doc.field_error_for("q"))
        self.assertEqual(page.doc.value("q"), "")
        self.assertNotIn(self.plain_secret[-49:-6], page.text)
        self.assertNotIn("Clear filters", page.text)  # the list as if unfiltered: nothing was searched

    def test_find_needs_the_form_token(self):
        refused = self.server.post("/w/1/keys/find", [("q", self.plain_secret)], csrf=False)
        self.assertErrorPage(refused, 403, "Form expired")
        self.assertNotIn(self.plain_secret[-49:-6], refused.text)

    def test_filter_form_posts_with_its_token(self):
        page = self.server.get("/w/1/keys")
        form = page.doc.find_all("form", role="search")[0]
        self.assertEqual((form.get("method"), form.get("action")), ("post", "/w/1/keys/find"))
        self.assertEqual(page.doc.value("csrf"), self.server.csrf)


class LikeTest(ServerTestCase):

    def test_new_key_like_this_one_fills_all_but_name_and_note(self):
        fields = self.server.key_fields(unique("Model"), role="admin",
                                        cidrs=[("10.1.0.0/16", "Office"), ("2001:db8::/48", "Lab <v6>")],
                                        postback_url="https://hooks.example.com/k", off_record=True,
                                        enabled=False) + [("note", "the model's own note")]
        created = self.server.post("/w/1/keys/new", fields)
        model = re.search(r"(key_[A-Za-z0-9]{16})", created.header("Location")).group(1)
        self.assertIn(f'href="/w/1/keys/new?like={model}">New key like this one</a>',
                      self.server.get(f"/w/1/keys/{model}").text)

        form = self.server.get(f"/w/1/keys/new?like={model}")
        self.assertStatus(form, 200)
        self.assertIn("Starting from", form.text)
        self.assertEqual(form.doc.value("name"), "")
        self.assertEqual(form.doc.by_id("note").text, "")
        self.assertEqual(form.doc.selected("role"), [self.server.roles()["admin"]])
        self.assertEqual(form.doc.values("cidr")[:2], ["10.1.0.0/16", "2001:db8::/48"])
        self.assertEqual(form.doc.values("cidr_label")[:2], ["Office", "Lab <v6>"])
        self.assertEqual(form.doc.value("postback_url"), "https://hooks.example.com/k")
        self.assertTrue(form.doc.checked("off_record"))
        self.assertFalse(form.doc.checked("enabled"))

        # sent as filled in, with a name of its own
        pairs = [(e.get("name"), e.get("value", "")) for e in form.doc.find_all("input")
                 if e.get("name") in ("cidr", "cidr_label", "postback_url")]
        pairs += [("name", "Copy"), ("role", form.doc.selected("role")[0]), ("off_record", "1")]
        copy = self.server.post("/w/1/keys/new", pairs)
        self.assertStatus(copy, 303)
        copy_id = re.search(r"(key_[A-Za-z0-9]{16})", copy.header("Location")).group(1)
        self.assertEqual(self.server.key_cidrs(copy_id), self.server.key_cidrs(model))
        row, model_row = self.server.key_row(copy_id), self.server.key_row(model)
        for column in ("role_id", "postback_url", "off_record", "enabled"):
            self.assertEqual(row[column], model_row[column], column)
        self.assertEqual(row["note"], "")

    def test_like_a_revoked_key_and_an_unknown_one(self):
        key_id, _ = self.server.create_key(unique("Leaked"), cidrs=[("192.0.2.0/24", "Partner")])
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/revoke"), 303)
        self.assertIn(f'href="/w/1/keys/new?like={key_id}"', self.server.get(f"/w/1/keys/{key_id}").text)
        form = self.server.get(f"/w/1/keys/new?like={key_id}")
        self.assertStatus(form, 200)
        self.assertEqual(form.doc.values("cidr_label")[0], "Partner")
        self.assertErrorPage(self.server.get("/w/1/keys/new?like=key_AAAAAAAAAAAAAAAA"), 404, "Key not found")
