"""test_secret.py: a key's secret is shown exactly once, never cached, never stored or logged in the
clear; afterwards only its last 4 characters appear."""
import re
import urllib.parse

from harness import ON_POSTGRESQL, ServerTestCase, TOKEN_PATTERN, secret_from


class SecretShownOnceTest(ServerTestCase):

    def create(self, name):
        """POST the create form; returns (key_id, the 303 response) without opening the secret page."""
        response = self.server.post("/w/1/keys/new", self.server.key_fields(name, cidrs=[("198.51.100.0/24", "Lab")]))
        self.assertStatus(response, 303)
        match = re.fullmatch(r"/w/1/keys/(key_[0-9A-Za-z]{16})/secret\?done=created", response.header("Location"))
        self.assertIsNotNone(match, response.header("Location"))
        return match.group(1), response

    def assertSecretAbsent(self, secret, text, where):
        self.assertNotIn(secret, text, f"the secret appears in {where}")
        self.assertNotIn(secret[-49:], text, f"the secret's 49-character tail appears in {where}")
        self.assertNotIn(secret[-49:-6], text, f"the secret's 43 random characters appear in {where}")

    def test_secret_page_shows_it_once_in_a_readonly_field_never_cached(self):
        key_id, created = self.create("Shown once")
        cookie = created.header("Set-Cookie")
        self.assertIsNotNone(cookie)
        self.assertTrue(cookie.startswith("kw_reveal="), cookie)
        attributes = [part.strip() for part in cookie.split(";")]
        self.assertIn("HttpOnly", attributes)
        self.assertIn("SameSite=Strict", attributes)
        self.assertIn(f"Path=/w/1/keys/{key_id}/secret", attributes)
        reveals = "api_key_id = (SELECT id FROM api_key WHERE key_id = ?)"
        self.assertEqual(self.server.count("secret_reveal", reveals, (key_id,)), 1)

        shown = self.server.follow(created)
        self.assertStatus(shown, 200)
        self.assertEqual(shown.header("Cache-Control"), "no-store")
        field = shown.doc.by_id("secret")
        self.assertEqual(field.tag, "textarea")  # it wraps: a 72-character token is seen whole on a phone
        self.assertTrue(field.has("readonly"))
        secret = secret_from(shown.text)
        self.assertRegex(secret, TOKEN_PATTERN)
        self.assertTrue(secret.startswith(f"kw_{key_id}_"))
        self.assertIn("This is the only time keyward shows this secret.", shown.text)
        # the page also clears the cookie and the sealed copy is gone
        cleared = [c for c in shown.headers_named("Set-Cookie") if c.startswith("kw_reveal=")]
        self.assertTrue(cleared and "Max-Age=0" in cleared[0], shown.headers)
        self.assertEqual(self.server.count("secret_reveal", reveals, (key_id,)), 0)

        # a second look: 410, and no secret
        again = self.server.get(f"/w/1/keys/{key_id}/secret?done=created")
        self.assertStatus(again, 410)
        self.assertIn("This secret was already shown", again.text)
        self.assertIn("…" + secret[-4:], again.text)
        self.assertEqual(again.header("Cache-Control"), "no-store")
        self.assertSecretAbsent(secret, again.text, "the second showing")
        self.assertIsNone(again.doc.by_id("secret"))
        # even when the browser replays the old cookie
        replayed = self.server.get(f"/w/1/keys/{key_id}/secret", headers={"Cookie": cookie.split(";")[0]},
                                   cookies=False)
        self.assertStatus(replayed, 410)
        self.assertSecretAbsent(secret, replayed.text, "a replay with the old cookie")

    def test_secret_never_appears_elsewhere(self):
        key_id, created = self.create("Never elsewhere")
        secret = secret_from(self.server.follow(created).text)
        self.assertRegex(secret, TOKEN_PATTERN)
        closed = self.server.post(f"/w/1/keys/{key_id}/secret", [("done", "created"), ("copied", "1")])
        self.assertStatus(closed, 303)

        pages = {
            "key page": self.server.follow(closed),
            "list": self.server.get("/w/1/keys"),
            "filtered list": self.server.get("/w/1/keys?q=never"),
            "edit form": self.server.get(f"/w/1/keys/{key_id}/edit"),
            "regenerate confirmation": self.server.get(f"/w/1/keys/{key_id}/regenerate"),
            "revoke confirmation": self.server.get(f"/w/1/keys/{key_id}/revoke"),
            "secret page afterwards": self.server.get(f"/w/1/keys/{key_id}/secret"),
        }
        for where, page in pages.items():
            self.assertIn(page.status, (200, 410), where)
            self.assertSecretAbsent(secret, page.text, where)
            self.assertSecretAbsent(secret, "\n".join(f"{k}: {v}" for k, v in page.headers), where + " headers")

        # only the last 4 characters, on the key page
        key_page = pages["key page"].text
        self.assertIn("<code>…" + secret[-4:] + "</code>", key_page)
        self.assertNotIn(secret[-5:], key_page)
        self.assertEqual(self.server.key_row(key_id)["secret_hint"], secret[-4:])

        # not in the log, the database, its WAL, or any other file of the data folder
        self.assertSecretAbsent(secret, self.server.error_log(), "the lighttpd error log")
        files = self.server.data_files()
        if ON_POSTGRESQL:  # the database is no file of the folder there: look through all of it, dumped
            files["pg_dump of the database"] = self.server.dump()
        else:
            self.assertIn("keyward.db", files)
            self.assertIn("keyward.db-wal", files)
            self.assertGreater(len(files["keyward.db-wal"]) + len(files["keyward.db"]), 0)
        for name, data in files.items():
            for needle in (secret, secret[-49:], secret[-49:-6]):
                self.assertNotIn(needle.encode(), data, f"secret bytes found in {name}")
        # the hash is stored, and it is not the secret in another dress
        row = self.server.key_row(key_id)
        self.assertIsInstance(row["secret_hash"], bytes)
        self.assertGreaterEqual(len(row["secret_hash"]), 32)
        self.assertNotIn(secret.encode(), row["secret_hash"])

    def test_regenerate_makes_a_new_secret(self):
        key_id, created = self.create("Regenerated")
        old = secret_from(self.server.follow(created).text)
        old_row = self.server.key_row(key_id)
        regenerated = self.server.post(f"/w/1/keys/{key_id}/regenerate")
        self.assertStatus(regenerated, 303)
        self.assertEqual(regenerated.header("Location"), f"/w/1/keys/{key_id}/secret?done=regenerated")
        self.assertIn("HttpOnly", regenerated.header("Set-Cookie"))
        shown = self.server.follow(regenerated)
        self.assertStatus(shown, 200)
        self.assertEqual(shown.header("Cache-Control"), "no-store")
        self.assertIn("Secret regenerated", shown.text)
        self.assertIn("The old secret has stopped working.", shown.text)
        new = secret_from(shown.text)
        self.assertRegex(new, TOKEN_PATTERN)
        self.assertNotEqual(new, old)
        self.assertNotEqual(new[-49:-6], old[-49:-6])
        self.assertEqual(new.split("_")[2], old.split("_")[2])  # same key ID
        row = self.server.key_row(key_id)
        self.assertNotEqual(row["secret_hash"], old_row["secret_hash"])
        self.assertEqual(row["secret_hint"], new[-4:])
        self.assertEqual(row["name"], old_row["name"])
        self.assertEqual(self.server.key_cidrs(key_id), [("198.51.100.0/24", "Lab")])
        # the new one is also shown only once
        again = self.server.get(f"/w/1/keys/{key_id}/secret?done=regenerated")
        self.assertStatus(again, 410)
        self.assertNotIn(new, again.text)
        key_page = self.server.get(f"/w/1/keys/{key_id}")
        self.assertIn("…" + new[-4:], key_page.text)
        for secret in (old, new):
            for name, data in self.server.data_files().items():
                self.assertNotIn(secret[-49:].encode(), data, f"secret bytes found in {name}")

    def test_close_without_copied_asks_again(self):
        key_id, created = self.create("Not copied")
        secret = secret_from(self.server.follow(created).text)
        unconfirmed = self.server.post(f"/w/1/keys/{key_id}/secret", [("done", "created")])
        self.assertStatus(unconfirmed, 422)
        self.assertIn("Did you copy the secret?", unconfirmed.text)
        self.assertNotIn(secret, unconfirmed.text)
        self.assertNotIn(secret[-49:], unconfirmed.text)
        self.assertEqual(unconfirmed.doc.value("copied"), "1")  # the "I copied it, continue" button
        self.assertIn(f'href="/w/1/keys/{key_id}/regenerate"', unconfirmed.text)
        self.assertSecurityHeaders(unconfirmed)

        confirmed = self.server.post(f"/w/1/keys/{key_id}/secret", [("done", "created"), ("copied", "1")])
        self.assertStatus(confirmed, 303)
        self.assertEqual(confirmed.header("Location"), f"/w/1/keys/{key_id}?done=created")

        confirmed = self.server.post(f"/w/1/keys/{key_id}/secret", [("done", "regenerated"), ("copied", "1")])
        self.assertEqual(confirmed.header("Location"), f"/w/1/keys/{key_id}?done=regenerated")
        # anything else in done= falls back to "created" rather than being echoed
        confirmed = self.server.post(f"/w/1/keys/{key_id}/secret", [("done", "evil\r\nX: y"), ("copied", "1")])
        self.assertEqual(confirmed.header("Location"), f"/w/1/keys/{key_id}?done=created")

    def test_secret_page_without_the_cookie_shows_nothing(self):
        key_id, created = self.create("No cookie")
        self.server.cookies.pop("kw_reveal", None)
        page = self.server.get(created.header("Location"), cookies=False)
        self.assertStatus(page, 410)
        self.assertIsNone(page.doc.by_id("secret"))
        self.assertEqual(page.header("Cache-Control"), "no-store")
        self.assertIsNone(re.search(r"kw_key_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}", page.text))

    def test_secret_page_with_a_forged_cookie_shows_nothing(self):
        key_id, created = self.create("Forged cookie")
        self.server.cookies.pop("kw_reveal", None)
        for forged in ("A" * 43, "not base64!", "", "A" * 500):
            with self.subTest(cookie=forged[:20]):
                page = self.server.get(created.header("Location"), headers={"Cookie": f"kw_reveal={forged}"},
                                       cookies=False)
                self.assertStatus(page, 410)
                self.assertIsNone(re.search(r"kw_key_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}", page.text))

    def test_a_cookie_for_one_key_does_not_open_another(self):
        first, created_first = self.create("First of two")
        first_cookie = self.server.cookies.pop("kw_reveal")
        second, created_second = self.create("Second of two")
        self.server.cookies.pop("kw_reveal")
        page = self.server.get(created_second.header("Location"),
                               headers={"Cookie": f"kw_reveal={first_cookie}"}, cookies=False)
        self.assertStatus(page, 410)
        self.assertIsNone(re.search(r"kw_key_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}", page.text))

    def test_only_the_cookie_holder_uses_the_showing_up(self):
        """A HEAD, a visit without the cookie or with a wrong one must not burn the one showing:
        the browser that created the key still sees the secret afterwards, exactly once."""
        key_id, created = self.create("Survives strangers")
        location = created.header("Location")
        cookie = self.server.cookies["kw_reveal"]
        head = self.server.request("HEAD", location)
        self.assertStatus(head, 200)
        self.assertEqual(head.body, b"")
        self.assertEqual(head.header("Cache-Control"), "no-store")
        self.server.cookies["kw_reveal"] = cookie  # HEAD must not have cleared it either
        self.assertStatus(self.server.get(location, cookies=False), 410)
        self.assertStatus(self.server.get(location, headers={"Cookie": "kw_reveal=" + "B" * 43}, cookies=False), 410)
        shown = self.server.get(location)
        self.assertStatus(shown, 200)
        self.assertRegex(secret_from(shown.text), r"^kw_key_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$")
        again = self.server.get(location, headers={"Cookie": "kw_reveal=" + cookie}, cookies=False)
        self.assertStatus(again, 410)

    def test_secret_page_of_an_unknown_key_is_404(self):
        page = self.server.get("/w/1/keys/key_AAAAAAAAAAAAAAAA/secret")
        self.assertErrorPage(page, 404, "Key not found")
        closed = self.server.post("/w/1/keys/key_AAAAAAAAAAAAAAAA/secret", [("copied", "1")])
        self.assertErrorPage(closed, 404, "Key not found")

    def test_secret_is_not_in_the_redirect(self):
        key_id, created = self.create("Redirect only")
        self.assertEqual(created.body, b"")
        self.assertNotIn("kw_key_", created.header("Location"))
        secret = secret_from(self.server.follow(created).text)
        self.assertNotIn(urllib.parse.quote(secret), created.header("Set-Cookie"))
        self.assertNotIn(secret[-49:-6], created.header("Set-Cookie"))
