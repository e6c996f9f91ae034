"""test_security.py: hostile text comes back escaped on every page that shows it, SQL metacharacters
are stored and shown verbatim, and every response carries the security headers."""
import re
import urllib.parse

from harness import ServerTestCase

SCRIPT = "<script>alert(1)</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
BREAKOUT = "\"'><img src=x onerror=alert(1)>"
BREAKOUT_ESCAPED = "&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;"
# A POSTback URL may hold these (no spaces or controls): quotes and angle brackets included.
URL = "https://example.com/hook?a=<script>alert(1)</script>&b=\"'><img/src=x/onerror=alert(1)>"
URL_ESCAPED = ("https://example.com/hook?a=&lt;script&gt;alert(1)&lt;/script&gt;&amp;b="
               "&quot;&#39;&gt;&lt;img/src=x/onerror=alert(1)&gt;")
SQL = "Robert'); DROP TABLE api_key; --"
SQL_ESCAPED = "Robert&#39;); DROP TABLE api_key; --"


class HostileTextTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.name = f"{SCRIPT} {BREAKOUT}"
        cls.name_escaped = f"{SCRIPT_ESCAPED} {BREAKOUT_ESCAPED}"
        cls.key_id, _ = s.create_key(cls.name, cidrs=[("192.0.2.0/24", BREAKOUT), ("10.0.0.0/8", SCRIPT)],
                                     postback_url=URL)

    def assertNoRawPayload(self, text, where):
        self.assertNotIn("<script>", text, where)
        self.assertNotIn("<img", text, where)
        self.assertNotIn("onerror=alert(1)>", text, where)
        self.assertNotIn("'>", text, where)
        self.assertNotIn('"\'', text, where)

    def test_stored_verbatim(self):
        row = self.server.key_row(self.key_id)
        self.assertEqual(row["name"], self.name)
        self.assertEqual(row["postback_url"], URL)
        self.assertEqual(self.server.key_cidrs(self.key_id), [("192.0.2.0/24", BREAKOUT), ("10.0.0.0/8", SCRIPT)])

    def test_list_escapes_the_name(self):
        for query in ("", "?q=" + urllib.parse.quote("<script>"), "?q=" + urllib.parse.quote("'><img")):
            with self.subTest(query=query):
                page = self.server.get("/w/1/keys" + query)
                self.assertStatus(page, 200)
                self.assertIn(self.key_id, page.text)
                self.assertIn(self.name_escaped, page.text)
                self.assertNoRawPayload(page.text, "list")

    def test_filter_box_escapes_what_was_typed(self):
        page = self.server.get("/w/1/keys?q=" + urllib.parse.quote(BREAKOUT))
        self.assertIn(f'value="{BREAKOUT_ESCAPED}"', page.text)
        self.assertEqual(page.doc.value("q"), BREAKOUT)
        self.assertNoRawPayload(page.text, "filter box")

    def test_key_page_escapes_name_label_and_url(self):
        page = self.server.get(f"/w/1/keys/{self.key_id}")
        self.assertStatus(page, 200)
        self.assertIn(self.name_escaped, page.text)
        self.assertIn(f"<td>{BREAKOUT_ESCAPED}</td>", page.text)
        self.assertIn(f"<td>{SCRIPT_ESCAPED}</td>", page.text)
        self.assertIn(URL_ESCAPED, page.text)
        self.assertIn(f"<title>{self.name_escaped} · keyward</title>", page.text)
        self.assertNoRawPayload(page.text, "key page")

    def test_edit_form_escapes_every_value(self):
        page = self.server.get(f"/w/1/keys/{self.key_id}/edit")
        self.assertStatus(page, 200)
        self.assertIn(f'value="{self.name_escaped}"', page.text)
        self.assertIn(f'value="{BREAKOUT_ESCAPED}"', page.text)
        self.assertIn(f'value="{SCRIPT_ESCAPED}"', page.text)
        self.assertIn(f'value="{URL_ESCAPED}"', page.text)
        self.assertNoRawPayload(page.text, "edit form")
        # and the browser would read them back exactly
        self.assertEqual(page.doc.value("name"), self.name)
        self.assertEqual(page.doc.values("cidr_label")[:2], [BREAKOUT, SCRIPT])
        self.assertEqual(page.doc.value("postback_url"), URL)

    def test_confirmation_pages_escape_the_name(self):
        for path in ("regenerate", "revoke"):
            with self.subTest(page=path):
                page = self.server.get(f"/w/1/keys/{self.key_id}/{path}")
                self.assertStatus(page, 200)
                self.assertIn(self.name_escaped, page.text)
                self.assertNoRawPayload(page.text, path)

    def test_secret_pages_escape_the_name(self):
        key_id, _ = self.server.create_key(BREAKOUT + SCRIPT)
        gone = self.server.get(f"/w/1/keys/{key_id}/secret")
        self.assertStatus(gone, 410)
        self.assertIn(BREAKOUT_ESCAPED + SCRIPT_ESCAPED, gone.text)
        self.assertNoRawPayload(gone.text, "secret gone page")
        created = self.server.post("/w/1/keys/new", self.server.key_fields(SCRIPT + BREAKOUT))
        shown = self.server.follow(created)
        self.assertStatus(shown, 200)
        self.assertIn(SCRIPT_ESCAPED + BREAKOUT_ESCAPED, shown.text)
        self.assertNoRawPayload(shown.text, "secret page")
        key_id = created.header("Location").split("/")[4]
        unconfirmed = self.server.post(f"/w/1/keys/{key_id}/secret", [("done", BREAKOUT)])
        self.assertStatus(unconfirmed, 422)
        self.assertNoRawPayload(unconfirmed.text, "unconfirmed page")

    def test_refused_form_escapes_what_was_typed(self):
        roles = self.server.roles()
        fields = [("name", self.name), ("role", roles["admin"]), ("postback_url", URL),
                  ("cidr", BREAKOUT), ("cidr_label", SCRIPT), ("action", "save")]
        before = self.server.row_counts()
        page = self.server.post("/w/1/keys/new", fields)
        self.assertStatus(page, 422)  # the network is not one
        self.assertIn(f'value="{self.name_escaped}"', page.text)
        self.assertIn(f'value="{BREAKOUT_ESCAPED}"', page.text)
        self.assertIn(f'value="{SCRIPT_ESCAPED}"', page.text)
        self.assertIn(f'value="{URL_ESCAPED}"', page.text)
        self.assertNoRawPayload(page.text, "refused form")
        self.assertEqual(self.server.row_counts(), before)
        # the host-bits message quotes what was typed: escaped too
        fields = [("name", "x"), ("role", roles["admin"]), ("cidr", "10.1.2.3/8"), ("cidr_label", BREAKOUT)]
        page = self.server.post("/w/1/keys/new", fields)
        self.assertIn("did you mean 10.0.0.0/8?", page.doc.field_error_for("cidr-0"))
        self.assertNoRawPayload(page.text, "refused form with a suggestion")

    def test_add_row_escapes_what_was_typed(self):
        page = self.server.post("/w/1/keys/new", [("name", self.name), ("cidr", BREAKOUT), ("cidr_label", SCRIPT),
                                              ("postback_url", URL), ("action", "add_cidr")])
        self.assertStatus(page, 200)
        self.assertIn(f'value="{self.name_escaped}"', page.text)
        self.assertNoRawPayload(page.text, "add a row")

    def test_sql_metacharacters_are_stored_and_shown_verbatim(self):
        key_id, _ = self.server.create_key(SQL, cidrs=[("192.0.2.0/24", "x' OR '1'='1")],
                                           postback_url="https://example.com/?q=1';--")
        row = self.server.key_row(key_id)
        self.assertEqual(row["name"], SQL)
        self.assertEqual(row["postback_url"], "https://example.com/?q=1';--")
        self.assertEqual(self.server.key_cidrs(key_id), [("192.0.2.0/24", "x' OR '1'='1")])
        self.assertGreater(self.server.count("api_key"), 1)  # the table is still there, with its rows
        page = self.server.get(f"/w/1/keys/{key_id}")
        self.assertIn(f"<h1>{SQL_ESCAPED} ", page.text)
        self.assertIn("x&#39; OR &#39;1&#39;=&#39;1", page.text)
        self.assertEqual(self.server.get(f"/w/1/keys/{key_id}/edit").doc.value("name"), SQL)
        # the filter box takes them as text, too
        for q, expected in (("'); DROP TABLE api_key; --", True), ("'; drop table", False), ("robert');", True), ("' OR 1=1 --", False),
                            ("%", False), ("_", True), ("\\", False)):
            with self.subTest(q=q):
                found = self.server.list_key_ids("q=" + urllib.parse.quote(q))
                self.assertEqual(key_id in found, expected, found)
                self.assertNotIn(self.key_id, found)  # LIKE wildcards and quotes are plain characters
        self.assertIn(key_id, self.server.list_key_ids())
        self.assertGreater(self.server.count("api_key"), 1)


class SecurityHeadersTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key_id, _ = cls.server.create_key("Headers")

    def test_pages_carry_the_security_headers(self):
        s = self.server
        created = s.post("/w/1/keys/new", s.key_fields("Headers two"))
        responses = {
            "list": s.get("/w/1/keys"),
            "filtered list": s.get("/w/1/keys?q=x&status=enabled"),
            "new form": s.get("/w/1/keys/new"),
            "key page": s.get(f"/w/1/keys/{self.key_id}"),
            "edit form": s.get(f"/w/1/keys/{self.key_id}/edit"),
            "regenerate confirmation": s.get(f"/w/1/keys/{self.key_id}/regenerate"),
            "revoke confirmation": s.get(f"/w/1/keys/{self.key_id}/revoke"),
            "redirect after create": created,
            "secret page": s.follow(created),
            "secret gone": s.get(created.header("Location")),
            "refused form": s.post("/w/1/keys/new", [("name", "")]),
            "404": s.get("/nope"),
            "unknown key": s.get("/w/1/keys/key_AAAAAAAAAAAAAAAA"),
            "405": s.request("DELETE", "/w/1/keys"),
            "413": s.post("/w/1/keys/new", raw_body=b"name=" + b"a" * 70000,
                          headers={"Content-Type": "application/x-www-form-urlencoded"}),
            "415": s.post("/w/1/keys/new", raw_body=b"x", headers={"Content-Type": "text/plain"}),
            "414": s.get("/" + "a" * 3000),
            "root redirect": s.get("/"),
        }
        for where, response in responses.items():
            with self.subTest(where=where, status=response.status):
                self.assertSecurityHeaders(response)
                csp = response.header("Content-Security-Policy")
                self.assertNotIn("'unsafe-inline'", csp)
                directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
                self.assertEqual(directives.get("default-src"), "'none'")
                self.assertNotIn("*", csp)
                self.assertIn("form-action", directives)
                self.assertIn(response.header("Referrer-Policy"),
                              ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"))

    def test_pages_have_no_inline_script_or_style(self):
        for path in ("/w/1/keys", "/w/1/keys/new", f"/w/1/keys/{self.key_id}", f"/w/1/keys/{self.key_id}/edit"):
            with self.subTest(path=path):
                page = self.server.get(path)
                # The one script is the page's own file (CSP: script-src 'self'); none inline.
                self.assertEqual(re.findall(r"<script[^>]*>", page.text),
                                 ['<script src="/static/keyward.js" defer>'])
                self.assertIsNone(re.search(r"<script>|<style|\son[a-z]+=|style=", page.text))

    def test_pages_are_not_cached_by_shared_caches(self):
        for path in ("/w/1/keys", f"/w/1/keys/{self.key_id}"):
            cache = self.server.get(path).header("Cache-Control")
            self.assertIn(cache, ("no-cache", "no-store", "private, no-cache"))

    def test_stylesheet_is_served(self):
        css = self.server.get("/static/keyward.css")
        self.assertStatus(css, 200)
        self.assertTrue(css.header("Content-Type").startswith("text/css"))
