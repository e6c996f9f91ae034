"""test_keys_flow.py: a key's life through the console (create, list, filter, edit, disable, enable,
regenerate, revoke), the list's filters and pagination, and its empty states."""
import os
import re
import secrets
import urllib.parse

from harness import ROOT, ServerTestCase, TOKEN_PATTERN, secret_from


def unique(label):
    """A name no other test in the class uses, so list assertions do not depend on test order."""
    return f"{label} {secrets.token_hex(4)}"


class KeyLifecycleTest(ServerTestCase):

    def test_create_list_edit_disable_enable_regenerate_revoke(self):
        server = self.server
        roles = server.roles()
        name = unique("Billing service")

        # create
        key_id, secret = server.create_key(name, role="admin", cidrs=[("192.0.2.0/24", "Office")],
                                           postback_url="https://example.com/hooks/keyward")
        self.assertRegex(secret, TOKEN_PATTERN)
        self.assertTrue(secret.startswith(f"kw_{key_id}_"), (secret, key_id))
        row = server.key_row(key_id)
        self.assertEqual(row["name"], name)
        self.assertEqual(row["enabled"], 1)
        self.assertIsNone(row["revoked_at"])
        self.assertEqual(str(row["role_id"]), roles["admin"])
        self.assertEqual(row["postback_url"], "https://example.com/hooks/keyward")
        self.assertEqual(server.key_cidrs(key_id), [("192.0.2.0/24", "Office")])

        closed = server.post(f"/w/1/keys/{key_id}/secret", [("done", "created"), ("copied", "1")])
        self.assertStatus(closed, 303)
        self.assertEqual(closed.header("Location"), f"/w/1/keys/{key_id}?done=created")
        page = server.follow(closed)
        self.assertStatus(page, 200)
        self.assertIn("Key created.", page.text)
        self.assertIn(f"<code>{key_id}</code>", page.text)
        self.assertIn('badge-enabled', page.text)

        # list
        listed = server.get("/w/1/keys")
        self.assertStatus(listed, 200)
        self.assertIn(key_id, server.list_key_ids())
        row_html = self._list_row(listed.text, key_id)
        self.assertIn(name, row_html)
        self.assertIn("admin", row_html)
        self.assertIn("Enabled", row_html)
        self.assertIn("Never", row_html)  # last used
        self.assertRegex(row_html, r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")  # created

        # edit: the form starts from what is stored
        edit = server.get(f"/w/1/keys/{key_id}/edit")
        self.assertStatus(edit, 200)
        self.assertEqual(edit.doc.value("name"), name)
        self.assertEqual(edit.doc.value("postback_url"), "https://example.com/hooks/keyward")
        self.assertEqual(edit.doc.values("cidr")[:1], ["192.0.2.0/24"])
        self.assertEqual(edit.doc.values("cidr_label")[:1], ["Office"])
        self.assertEqual(edit.doc.selected("role"), [roles["admin"]])
        self.assertTrue(edit.doc.checked("enabled"))
        self.assertFalse(edit.doc.checked("off_record"))
        self.assertEqual(edit.doc.find_all("form", class_="panel key-form")[0].get("action"), f"/w/1/keys/{key_id}/edit")

        new_name = name + " (renamed)"
        saved = server.post(f"/w/1/keys/{key_id}/edit", [
            ("name", "  " + new_name + "  "), ("role", roles["read-only"]), ("postback_url", ""),
            ("cidr", "2001:DB8::/32"), ("cidr_label", "VPN"), ("cidr", "203.0.113.7"), ("cidr_label", ""),
            ("off_record", "1"), ("enabled", "1"), ("action", "save")])
        self.assertStatus(saved, 303)
        self.assertEqual(saved.header("Location"), f"/w/1/keys/{key_id}?done=updated")
        row = server.key_row(key_id)
        self.assertEqual(row["name"], new_name)
        self.assertEqual(str(row["role_id"]), roles["read-only"])
        self.assertEqual(row["postback_url"], "")
        self.assertEqual(row["off_record"], 1)
        self.assertEqual(server.key_cidrs(key_id), [("2001:db8::/32", "VPN"), ("203.0.113.7/32", "")])
        page = server.follow(saved)
        self.assertIn("Changes saved.", page.text)
        self.assertIn(new_name, page.text)
        # The allowlist shown is the new one (the old one is only in the Activity history below it).
        networks = page.text[page.text.index('<table class="cidrs">'):page.text.index('id="activity-title"')]
        self.assertIn("<code>2001:db8::/32</code>", networks)
        self.assertIn("<code>203.0.113.7/32</code>", networks)
        self.assertNotIn("192.0.2.0/24", networks)
        self.assertIn("networks: 192.0.2.0/24 (Office) → 2001:db8::/32 (VPN), 203.0.113.7/32", page.text)

        # disable
        disabled = server.post(f"/w/1/keys/{key_id}/disable")
        self.assertStatus(disabled, 303)
        self.assertEqual(disabled.header("Location"), f"/w/1/keys/{key_id}?done=disabled")
        self.assertEqual(server.key_row(key_id)["enabled"], 0)
        page = server.follow(disabled)
        self.assertIn("Key disabled.", page.text)
        self.assertIn("badge-disabled", page.text)
        self.assertIn(f'action="/w/1/keys/{key_id}/enable"', page.text)
        self.assertNotIn(f'action="/w/1/keys/{key_id}/disable"', page.text)
        self.assertIn(key_id, server.list_key_ids("status=disabled"))
        self.assertNotIn(key_id, server.list_key_ids("status=enabled"))
        self.assertIn(key_id, server.list_key_ids())  # still active

        # enable
        enabled = server.post(f"/w/1/keys/{key_id}/enable")
        self.assertStatus(enabled, 303)
        self.assertEqual(enabled.header("Location"), f"/w/1/keys/{key_id}?done=enabled")
        self.assertEqual(server.key_row(key_id)["enabled"], 1)
        self.assertIn("Key enabled.", server.follow(enabled).text)
        self.assertIn(key_id, server.list_key_ids("status=enabled"))
        self.assertNotIn(key_id, server.list_key_ids("status=disabled"))

        # regenerate
        confirm = server.get(f"/w/1/keys/{key_id}/regenerate")
        self.assertStatus(confirm, 200)
        self.assertIn("…" + secret[-4:], confirm.text)
        self.assertIn(f'action="/w/1/keys/{key_id}/regenerate"', confirm.text)
        hash_before = server.key_row(key_id)["secret_hash"]
        regenerated = server.post(f"/w/1/keys/{key_id}/regenerate")
        self.assertStatus(regenerated, 303)
        self.assertEqual(regenerated.header("Location"), f"/w/1/keys/{key_id}/secret?done=regenerated")
        shown = server.follow(regenerated)
        self.assertStatus(shown, 200)
        new_secret = secret_from(shown.text)
        self.assertRegex(new_secret, TOKEN_PATTERN)
        self.assertNotEqual(new_secret, secret)
        self.assertTrue(new_secret.startswith(f"kw_{key_id}_"))
        self.assertNotEqual(server.key_row(key_id)["secret_hash"], hash_before)
        self.assertEqual(server.key_row(key_id)["secret_hint"], new_secret[-4:])
        closed = server.post(f"/w/1/keys/{key_id}/secret", [("done", "regenerated"), ("copied", "1")])
        self.assertEqual(closed.header("Location"), f"/w/1/keys/{key_id}?done=regenerated")
        self.assertIn("Secret regenerated.", server.follow(closed).text)

        # revoke
        confirm = server.get(f"/w/1/keys/{key_id}/revoke")
        self.assertStatus(confirm, 200)
        self.assertIn("Revoking is final.", confirm.text)
        revoked = server.post(f"/w/1/keys/{key_id}/revoke")
        self.assertStatus(revoked, 303)
        self.assertEqual(revoked.header("Location"), f"/w/1/keys/{key_id}?done=revoked")
        self.assertIsNotNone(server.key_row(key_id)["revoked_at"])
        page = server.follow(revoked)
        self.assertIn("Key revoked.", page.text)
        self.assertIn("badge-revoked", page.text)
        self.assertNotIn(f'href="/w/1/keys/{key_id}/edit"', page.text)
        self.assertNotIn(f'action="/w/1/keys/{key_id}/disable"', page.text)
        self.assertNotIn(f'action="/w/1/keys/{key_id}/enable"', page.text)

        # revoked keys leave the default list and show only under status=revoked
        self.assertNotIn(key_id, server.list_key_ids())
        self.assertNotIn(key_id, server.list_key_ids("status=enabled"))
        self.assertNotIn(key_id, server.list_key_ids("status=disabled"))
        self.assertIn(key_id, server.list_key_ids("status=revoked"))
        self.assertNotIn(key_id, server.list_key_ids("q=" + urllib.parse.quote(new_name)))
        self.assertIn(key_id, server.list_key_ids("status=revoked&q=" + urllib.parse.quote(new_name)))

        # and cannot be changed any more
        for method, path in (("GET", "edit"), ("POST", "edit"), ("POST", "enable"), ("POST", "disable"),
                             ("GET", "regenerate"), ("POST", "regenerate"), ("GET", "revoke"), ("POST", "revoke")):
            before = server.key_row(key_id)
            response = server.request(method, f"/w/1/keys/{key_id}/{path}",
                                      body=server.key_fields("changed") if method == "POST" else None)
            self.assertErrorPage(response, 409, "Key revoked")
            self.assertEqual(server.key_row(key_id), before, (method, path))

    def test_off_record_and_disabled_at_creation(self):
        key_id, _ = self.server.create_key(unique("Quiet"), off_record=True, enabled=False)
        row = self.server.key_row(key_id)
        self.assertEqual(row["off_record"], 1)
        self.assertEqual(row["enabled"], 0)
        page = self.server.get(f"/w/1/keys/{key_id}")
        self.assertIn("badge-disabled", page.text)
        # The same sentence on the key page, next to the form's checkbox, and in the README.
        sentence = ("keyward stores nothing about requests made with this key except the time it was "
                    "last used and an anonymous count of calls per hour.")
        self.assertIn("Yes: " + sentence, page.text)
        self.assertIn(sentence, self.server.get("/w/1/keys/new").text)
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as readme:
            self.assertIn(sentence, " ".join(readme.read().split()))

    def test_key_page_shows_networks_labels_url_and_role(self):
        key_id, _ = self.server.create_key(unique("Shown"), role="read-only",
                                           cidrs=[("10.0.0.0/8", "Intranet"), ("2001:db8::1", "")],
                                           postback_url="https://hooks.example.com:8443/k?x=1")
        page = self.server.get(f"/w/1/keys/{key_id}")
        self.assertStatus(page, 200)
        self.assertIn("<code>10.0.0.0/8</code></td><td>Intranet</td>", page.text)
        self.assertIn("<code>2001:db8::1/128</code>", page.text)
        self.assertIn("https://hooks.example.com:8443/k?x=1", page.text)
        self.assertIn("<dt>Role</dt><dd>read-only</dd>", page.text)

    def test_key_without_networks_says_any_address(self):
        key_id, _ = self.server.create_key(unique("Open"))
        self.assertIn("Any address may use this key.", self.server.get(f"/w/1/keys/{key_id}").text)
        self.assertEqual(self.server.key_cidrs(key_id), [])

    @staticmethod
    def _list_row(page_text, key_id):
        for row in re.findall(r"<tr[ >].*?</tr>", page_text, re.S):
            if key_id in row:
                return row
        raise AssertionError(f"{key_id} not in the list")


class KeyFilterTest(ServerTestCase):
    """Filters: name (case-insensitive, any part, non-ASCII), status, role; all in the address."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.tag = secrets.token_hex(3)
        cls.billing, _ = s.create_key(f"Billing Service PROD {cls.tag}", role="admin")
        cls.aerger, _ = s.create_key(f"Ärger mit Umlauten {cls.tag}", role="read-only")
        cls.strasse, _ = s.create_key(f"ÉCOLE Straße {cls.tag}", role="read-only", enabled=False)
        cls.revoked, _ = s.create_key(f"Old billing {cls.tag}", role="admin")
        assert s.post(f"/w/1/keys/{cls.revoked}/revoke").status == 303
        cls.roles = s.roles()

    def ids(self, query):
        return set(self.server.list_key_ids(query))

    def test_name_filter_is_case_insensitive_substring(self):
        for q in ("billing service", "BILLING SERVICE PROD", "ice pr", "Service"):
            with self.subTest(q=q):
                found = self.ids("q=" + urllib.parse.quote(q))
                self.assertIn(self.billing, found)
                self.assertNotIn(self.aerger, found)
                self.assertNotIn(self.revoked, found)  # revoked: not in the default list

    def test_name_filter_folds_non_ascii(self):
        for q in ("ärg", "ÄRG", "Ärger", "rger mit"):
            with self.subTest(q=q):
                found = self.ids("q=" + urllib.parse.quote(q))
                self.assertIn(self.aerger, found)
                self.assertNotIn(self.billing, found)
        for q in ("école", "ÉCOLE", "straße"):
            with self.subTest(q=q):
                self.assertIn(self.strasse, self.ids("q=" + urllib.parse.quote(q)))

    def test_name_filter_matching_nothing_says_so(self):
        page = self.server.get("/w/1/keys?q=" + urllib.parse.quote(f"no such key {self.tag} zzz"))
        self.assertStatus(page, 200)
        self.assertIn("No keys match", page.text)
        self.assertIn("clear the filters", page.text)
        self.assertNotIn("<table", page.text)
        self.assertNotIn("No API keys yet", page.text)

    def test_name_filter_trims_and_plus_means_space(self):
        found = self.ids("q=+billing+service+")
        self.assertIn(self.billing, found)
        page = self.server.get("/w/1/keys?q=+billing+service+")
        self.assertEqual(page.doc.value("q"), "billing service")

    def test_status_filter(self):
        tag = "q=" + self.tag
        self.assertEqual(self.ids(tag), {self.billing, self.aerger, self.strasse})
        self.assertEqual(self.ids(tag + "&status="), {self.billing, self.aerger, self.strasse})
        self.assertEqual(self.ids(tag + "&status=enabled"), {self.billing, self.aerger})
        self.assertEqual(self.ids(tag + "&status=disabled"), {self.strasse})
        self.assertEqual(self.ids(tag + "&status=revoked"), {self.revoked})
        # an unknown status is ignored rather than refused
        self.assertEqual(self.ids(tag + "&status=bogus"), {self.billing, self.aerger, self.strasse})

    def test_role_filter(self):
        tag = "q=" + self.tag
        self.assertEqual(self.ids(f"{tag}&role={self.roles['admin']}"), {self.billing})
        self.assertEqual(self.ids(f"{tag}&role={self.roles['read-only']}"), {self.aerger, self.strasse})
        self.assertEqual(self.ids(f"{tag}&role={self.roles['admin']}&status=revoked"), {self.revoked})
        self.assertEqual(self.ids(f"{tag}&role=999"), set())
        self.assertEqual(self.ids(f"{tag}&role=abc"), {self.billing, self.aerger, self.strasse})

    def test_filters_are_bookmarkable(self):
        """A filtered address opened afresh (no cookies, no earlier request) shows the same view."""
        query = urllib.parse.urlencode({"q": "ärger", "status": "enabled", "role": self.roles["read-only"]})
        page = self.server.get("/w/1/keys?" + query, cookies=False)
        self.assertStatus(page, 200)
        self.assertEqual(set(re.findall(r"<code>(key_[0-9A-Za-z]{16})</code>", page.text)), {self.aerger})
        self.assertEqual(page.doc.value("q"), "ärger")
        self.assertEqual(page.doc.selected("status"), ["enabled"])
        self.assertEqual(page.doc.selected("role"), [self.roles["read-only"]])
        self.assertIn('href="/w/1/keys">Clear filters</a>', page.text)
        # The filter form posts (a pasted secret must never reach an address), then redirects to the
        # same bookmarkable address.
        form = page.doc.find_all("form", role="search")[0]
        self.assertEqual(form.get("method"), "post")
        self.assertEqual(form.get("action"), "/w/1/keys/find")
        sent = self.server.post("/w/1/keys/find", [("q", "ärger"), ("status", "enabled"),
                                                    ("role", self.roles["read-only"])])
        self.assertStatus(sent, 303)
        again = self.server.get(sent.header("Location"), cookies=False)
        self.assertEqual(set(re.findall(r"<code>(key_[0-9A-Za-z]{16})</code>", again.text)), {self.aerger})
        self.assertEqual(again.doc.value("q"), "ärger")

    def test_unfiltered_list_has_no_clear_link_and_default_selections(self):
        page = self.server.get("/w/1/keys")
        self.assertNotIn("Clear filters", page.text)
        self.assertEqual(page.doc.selected("status"), [""])
        self.assertEqual(page.doc.selected("role"), [""])
        self.assertEqual([v for v, _ in page.doc.options("status")], ["", "enabled", "disabled", "revoked", "expiring",
                                                                    "expired"])

    def test_filter_with_undecodable_bytes_does_not_break_the_list(self):
        # lighttpd itself refuses %00 and invalid UTF-8 in the address (400) and re-encodes a lone
        # "%" as "%25", so through it keyward sees a literal "%"; the raw cases reach keyward's own
        # decoder over CGI in test_modes.CgiModeTest.test_filter_with_undecodable_bytes.
        for raw in ("%zz", "%", "%C3%28", "%FF", "a%00b", "%E2%82"):
            with self.subTest(q=raw):
                page = self.server.get("/w/1/keys?q=" + raw)
                self.assertIn(page.status, (200, 400), page.text[:2000])
                if page.status == 200:
                    self.assertIn("<h1>API keys</h1>", page.text)
                    self.assertIn("</html>", page.text)
                    self.assertIsNotNone(page.doc.by_id("q"))

    def test_filter_longer_than_100_characters_is_refused_with_a_message(self):
        page = self.server.get("/w/1/keys?q=" + "a" * 101)
        self.assertStatus(page, 200)
        self.assertIn("at most 100 characters", page.doc.field_error_for("q") or "")
        page = self.server.get("/w/1/keys?q=" + "a" * 100)
        self.assertIsNone(page.doc.field_error_for("q"))


class EmptyListTest(ServerTestCase):
    """A fresh console: the friendly empty state, then the no-match state once keys exist."""

    def test_empty_states(self):
        page = self.server.get("/w/1/keys")
        self.assertStatus(page, 200)
        self.assertIn("No API keys yet", page.text)
        self.assertIn('href="/w/1/keys/new">Create your first key</a>', page.text)
        self.assertNotIn("No keys match", page.text)
        self.assertNotIn("<table", page.text)

        # filters on an empty console: still no table, and no claim that keys exist
        page = self.server.get("/w/1/keys?status=revoked")
        self.assertNotIn("<table", page.text)
        self.assertIn("No keys match", page.text)

        key_id, _ = self.server.create_key("The first key")
        page = self.server.get("/w/1/keys")
        self.assertNotIn("No API keys yet", page.text)
        self.assertIn("1 key", page.text)
        self.assertIn(key_id, page.text)

        # only revoked keys: the default list is empty, but not "no keys yet"
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/revoke"), 303)
        page = self.server.get("/w/1/keys")
        self.assertStatus(page, 200)
        self.assertNotIn(key_id, page.text)
        self.assertNotIn("No API keys yet", page.text)
        self.assertNotIn("<table", page.text)
        empty = page.doc.find_all("section", class_="empty")
        self.assertEqual(len(empty), 1, page.text)
        self.assertIn("revoked", empty[0].text)
        self.assertTrue(page.doc.find_all("a", href="/w/1/keys?status=revoked"), "no way to the revoked keys")
        self.assertIn(key_id, self.server.list_key_ids("status=revoked"))

    def test_root_redirects_to_the_workspace(self):
        response = self.server.get("/")
        self.assertStatus(response, 303)
        self.assertEqual(response.header("Location"), "/w/1/")  # its dashboard


KEY_CODE = re.compile(r"<code>(key_[0-9A-Za-z]{16})</code>")


def listed(page):
    """The key IDs of a list page, in page order."""
    return KEY_CODE.findall(page.text)


def link_query(page, rel):
    """The query of the page's one link with `rel` (next: Older, prev: Newer), as a dict of lists; None if none."""
    links = page.doc.find_all("a", rel=rel)
    if not links:
        return None
    assert len(links) == 1, links
    return urllib.parse.parse_qs(urllib.parse.urlsplit(links[0].get("href")).query, keep_blank_values=True)


class PaginationTest(ServerTestCase):
    """53 keys made through the command line against the live database: 50 a page, newest first, each
    page going on from a key (the cursor) instead of counting past the pages before it."""

    COUNT = 53

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokens = []
        for number in range(cls.COUNT):
            role = ("--role", "admin") if number % 2 else ()
            done = cls.server.cli("key", "create", "--name", f"Bulk key {number:03d}", *role)
            assert done.returncode == 0, done.stderr
            cls.tokens.append(done.stdout.strip())
        # The database's own order: ids grow with time, newest first.
        cls.expected = [row[0] for row in cls.server.query(
            "SELECT key_id FROM api_key WHERE revoked_at IS NULL ORDER BY id DESC")]

    def test_cli_tokens_match_the_format(self):
        self.assertEqual(len(self.tokens), self.COUNT)
        for token in self.tokens:
            self.assertRegex(token, TOKEN_PATTERN)

    def test_fifty_a_page_newest_first_older_and_newer(self):
        first = self.server.get("/w/1/keys")
        self.assertEqual(listed(first), self.expected[:50])
        # the newest key is first: the last one the command line made
        self.assertEqual(listed(first)[0], "key_" + self.tokens[-1].split("_")[2])
        self.assertIsNone(link_query(first, "prev"), "the first page has no Newer")
        older = link_query(first, "next")
        self.assertEqual(older["before"], [self.expected[49]])
        self.assertNotIn("page", older)

        second = self.server.get(first.doc.find_all("a", rel="next")[0].get("href"))
        self.assertStatus(second, 200)
        self.assertEqual(listed(second), self.expected[50:])
        self.assertIsNone(link_query(second, "next"), "the last page has no Older")
        self.assertEqual(link_query(second, "prev")["after"], [self.expected[50]])

        back = self.server.get(second.doc.find_all("a", rel="prev")[0].get("href"))
        self.assertEqual(listed(back), self.expected[:50])
        self.assertIsNone(link_query(back, "prev"), "back at the newest: no Newer")
        self.assertEqual(link_query(back, "next")["before"], [self.expected[49]])
        # asking again gives the same pages
        self.assertEqual(listed(self.server.get("/w/1/keys")), listed(first))
        self.assertEqual(listed(self.server.get(f"/w/1/keys?before={self.expected[49]}")), listed(second))

    def test_counts_without_counting_every_key(self):
        first = self.server.get("/w/1/keys")
        self.assertEqual(first.doc.by_id("key-count").text, "The 50 newest of more than 50 keys")
        self.assertEqual([a.text for a in first.doc.find_all("a") if "Newest" in a.text], [])
        second = self.server.get(f"/w/1/keys?before={self.expected[49]}")
        self.assertEqual(second.doc.by_id("key-count").text, f"{self.COUNT - 50} keys on this page")
        newest = [a for a in second.doc.find_all("a") if "Newest" in a.text]
        self.assertEqual([a.get("href") for a in newest], ["/w/1/keys?q=&status=&role="])
        admin = self.server.roles()["admin"]
        one_page = self.server.get(f"/w/1/keys?role={admin}")
        self.assertEqual(one_page.doc.by_id("key-count").text, f"{self.COUNT // 2} keys")
        self.assertEqual(one_page.doc.find_all("nav", class_="pagination"), [])

    def test_pagination_links_keep_the_filters(self):
        page = self.server.get("/w/1/keys?q=bulk+key&status=enabled")
        query = link_query(page, "next")
        self.assertEqual(query.get("q"), ["bulk key"])
        self.assertEqual(query.get("status"), ["enabled"])
        self.assertEqual(query.get("before"), [self.expected[49]])
        older = self.server.get(page.doc.find_all("a", rel="next")[0].get("href"))
        self.assertEqual(listed(older), self.expected[50:])
        query = link_query(older, "prev")
        self.assertEqual((query.get("q"), query.get("status"), query.get("after")),
                         (["bulk key"], ["enabled"], [self.expected[50]]))
        # a filter that leaves some out pages through the rest
        admin = self.server.roles()["admin"]
        page = self.server.get(f"/w/1/keys?q=bulk&role={admin}")
        self.assertEqual(len(listed(page)), self.COUNT // 2)
        self.assertIsNone(link_query(page, "next"))

    def test_filtered_results_fit_one_page(self):
        admin = self.server.roles()["admin"]
        ids = self.server.list_key_ids(f"role={admin}")
        self.assertEqual(len(ids), self.COUNT // 2)
        page = self.server.get(f"/w/1/keys?role={admin}")
        self.assertEqual(page.doc.find_all("nav", class_="pagination"), [])

    def test_odd_cursors_give_the_first_page_quietly(self):
        """A cursor of no key here, too long, of the wrong shape, or past every key: the first page, no error."""
        for query in ("before=key_nosuchkey0000000", "after=key_nosuchkey0000000", "before=", "after=",
                      "before=" + "x" * 500, "before=%27%22%3E%3Cb%3E", "page=2", "page=-1", "page=abc",
                      f"before={self.expected[-1]}",  # the oldest key: nothing is older
                      f"before={self.expected[0]}&after=nonsense"):  # after= is read first, and is no key
            with self.subTest(query=query):
                response = self.server.get("/w/1/keys?" + query)
                self.assertStatus(response, 200)
                self.assertEqual(listed(response), self.expected[:50])
                self.assertIsNone(link_query(response, "prev"))
                self.assertNotIn("field-error", response.text)
                self.assertNotIn("<b>", response.text)

    def test_a_key_made_or_revoked_between_pages_is_neither_missed_nor_shown_twice(self):
        first = self.server.get("/w/1/keys")
        made = []
        try:
            for number in range(2):
                done = self.server.cli("key", "create", "--name", f"Bulk key made meanwhile {number}")
                self.assertEqual(done.returncode, 0, done.stderr)
                made.append("key_" + done.stdout.strip().split("_")[2])
            # the oldest key not yet shown is revoked meanwhile
            self.assertEqual(self.server.cli("key", "revoke", "--key-id", self.expected[-1]).returncode, 0)
            second = self.server.get(first.doc.find_all("a", rel="next")[0].get("href"))
            self.assertEqual(listed(second), self.expected[50:-1])
            self.assertEqual(set(listed(first)) & set(listed(second)), set())
            # the keys made meanwhile are on the first page of a new look, and only there
            fresh = self.server.get("/w/1/keys")
            self.assertEqual(listed(fresh)[:2], made[::-1])
            newer = self.server.get(second.doc.find_all("a", rel="prev")[0].get("href"))
            self.assertEqual(listed(newer), self.expected[:50])
            self.assertIsNotNone(link_query(newer, "prev"), "newer keys than these exist now")
        finally:
            for key_id in made:
                self.server.cli("key", "revoke", "--key-id", key_id)
            # revocation is final in keyward; the other tests of the class want their 53 keys back
            self.server.execute("UPDATE api_key SET revoked_at = NULL WHERE key_id = ?", (self.expected[-1],))

    def test_cli_list_shows_every_active_key(self):
        done = self.server.cli("key", "list")
        self.assertEqual(done.returncode, 0, done.stderr)
        listed_ids = re.findall(r"^(key_[0-9A-Za-z]{16})\s", done.stdout, re.M)
        self.assertEqual(listed_ids, self.expected)
