"""test_bad_input.py: bad input never loses work and never saves anything.

Every invalid field, on the create form and on the edit form, comes back with 422, a message next to
that field (linked with aria-describedby), every other typed value exactly as typed, and no change in
the database. Undecodable bytes (malformed percent-encoding, invalid UTF-8, NUL) are field errors too.
Then the request-level refusals: oversize bodies, foreign content types, unknown keys and paths,
wrong methods, very long paths.
"""
import urllib.parse

from harness import ServerTestCase

# The form as a careful user filled it in: every field set, and both checkboxes away from their
# defaults (off the record on, enabled off), so that "kept" is visible for each of them.
GOOD = {
    "name": "Payments gateway (production)",
    "postback_url": "https://example.com/hooks/keyward?a=1&b=2",
    "cidrs": [("192.0.2.0/24", "Office"), ("2001:db8::/32", "VPN")],
    "off_record": True,
    "enabled": False,
}

# Which input carries the message for each field, and its element id.
NAME, URL, ROLE = "name", "postback_url", "role"


def cidr_id(row):
    return f"cidr-{row}"


def label_id(row):
    return f"cidr-label-{row}"


# name of the case: (changes to GOOD, the input id that must carry the error, words in the message)
FIELD_CASES = {
    "empty_name": ({"name": ""}, NAME, "Enter a name"),
    "whitespace_only_name": ({"name": "   \t  "}, NAME, "Enter a name"),
    "name_of_101_characters": ({"name": "x" * 101}, NAME, "at most 100 characters"),
    "name_of_101_non_ascii_characters": ({"name": "ä" * 101}, NAME, "at most 100 characters"),
    "name_with_a_bell": ({"name": "bad\x07name"}, NAME, "control characters"),
    "name_with_a_tab_inside": ({"name": "tab\there"}, NAME, "control characters"),
    "name_with_a_line_break_inside": ({"name": "line\nbreak"}, NAME, "control characters"),
    "name_with_a_c1_control": ({"name": "c1\u0085control"}, NAME, "control characters"),
    "ftp_postback_url": ({"postback_url": "ftp://example.com/hooks"}, URL, "http:// or https://"),
    "relative_postback_url": ({"postback_url": "/hooks/keyward"}, URL, "http:// or https://"),
    "postback_url_without_scheme": ({"postback_url": "example.com/hooks"}, URL, "http:// or https://"),
    "javascript_postback_url": ({"postback_url": "javascript:alert(1)"}, URL, "http:// or https://"),
    "postback_url_of_2049_bytes": ({"postback_url": "https://example.com/" + "a" * (2049 - 20)}, URL,
                                   "at most 2048"),
    "postback_url_with_space": ({"postback_url": "https://example.com/a b"}, URL, "spaces"),
    "postback_url_with_credentials": ({"postback_url": "https://user:pw@example.com/"}, URL, "password"),
    "postback_url_with_bad_port": ({"postback_url": "https://example.com:99999/"}, URL, "port"),
    "postback_url_without_host": ({"postback_url": "https:///path"}, URL, "host"),
    "cidr_garbage": ({"cidrs": [("not-a-network", "Office"), ("2001:db8::/32", "VPN")]}, cidr_id(0),
                     "Not an IPv4 or IPv6 network"),
    "cidr_with_bad_prefix": ({"cidrs": [("192.0.2.0/33", "Office"), ("2001:db8::/32", "VPN")]}, cidr_id(0),
                             "Not an IPv4 or IPv6 network"),
    "cidr_with_host_bits_set": ({"cidrs": [("192.0.2.0/24", "Office"), ("10.1.2.3/8", "VPN")]}, cidr_id(1),
                                "did you mean 10.0.0.0/8?"),
    "ipv6_cidr_with_host_bits_set": ({"cidrs": [("2001:db8::1/32", "Office"), ("10.0.0.0/8", "VPN")]},
                                     cidr_id(0), "did you mean 2001:db8::/32?"),
    "duplicate_cidr": ({"cidrs": [("192.0.2.0/24", "Office"), ("192.0.2.0/24", "Again")]}, cidr_id(1),
                       "already in the list"),
    "duplicate_cidr_written_differently": ({"cidrs": [("2001:db8::/32", "Office"), ("2001:DB8:0::/32", "Again")]},
                                           cidr_id(1), "already in the list"),
    "label_without_network": ({"cidrs": [("192.0.2.0/24", "Office"), ("", "Lonely label")]}, cidr_id(1),
                              "Enter the network"),
    "label_of_101_characters": ({"cidrs": [("192.0.2.0/24", "l" * 101), ("2001:db8::/32", "VPN")]},
                                label_id(0), "at most 100 characters"),
    "label_with_control_characters": ({"cidrs": [("192.0.2.0/24", "Off\x01ice"), ("2001:db8::/32", "VPN")]},
                                      label_id(0), "control characters"),
    "unknown_role_id": ({"role": "999"}, ROLE, "Choose one of the roles"),
    "role_id_that_is_not_a_number": ({"role": "admin"}, ROLE, "Choose one of the roles"),
    "missing_role": ({"role": None}, ROLE, "Choose one of the roles"),
}


class BadInputTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.roles = cls.server.roles()
        cls.edit_key, _ = cls.server.create_key("Key to edit", role="read-only",
                                                cidrs=[("203.0.113.0/24", "Stored")],
                                                postback_url="https://stored.example.com/")

    # ---- building and checking a form ----

    def values(self, changes):
        values = dict(GOOD, role=self.roles["admin"])
        values.update(changes)
        return values

    @staticmethod
    def fields(values):
        fields = [("name", values["name"])]
        if values["role"] is not None:
            fields.append(("role", values["role"]))
        for cidr, label in values["cidrs"]:
            fields += [("cidr", cidr), ("cidr_label", label)]
        fields.append(("postback_url", values["postback_url"]))
        if values["off_record"]:
            fields.append(("off_record", "1"))
        if values["enabled"]:
            fields.append(("enabled", "1"))
        fields.append(("action", "save"))
        return fields

    def snapshot(self):
        return (self.server.row_counts(), self.server.key_row(self.edit_key), self.server.key_cidrs(self.edit_key))

    def assertRefused(self, response, error_id, words, kept, before, undecodable=()):
        """422, one message next to `error_id` holding `words`, everything in `kept` as typed, nothing saved.

        `undecodable` names the fields whose bytes could not be decoded: those come back empty."""
        self.assertStatus(response, 422)
        doc = response.doc
        message = doc.field_error_for(error_id)
        self.assertIsNotNone(message, f"no message linked to #{error_id}: {doc.field_errors()}")
        self.assertIn(words, message)
        self.assertEqual(doc.by_id(error_id).get("aria-invalid"), "true")
        self.assertEqual(len(doc.field_errors()), 1, doc.field_errors())
        summary = doc.by_id("error-summary")
        self.assertIsNotNone(summary)
        self.assertIn("One field needs your attention", summary.text)
        self.assertIn("Nothing was saved", summary.text)

        # every typed value is still there, exactly
        self.assertEqual(doc.value("name"), "" if "name" in undecodable else kept["name"])
        self.assertEqual(doc.value("postback_url"), "" if "postback_url" in undecodable else kept["postback_url"])
        self.assertEqual(doc.values("cidr"),
                         ["" if ("cidr", i) in undecodable else c for i, (c, _) in enumerate(kept["cidrs"])])
        self.assertEqual(doc.values("cidr_label"),
                         ["" if ("cidr_label", i) in undecodable else l for i, (_, l) in enumerate(kept["cidrs"])])
        self.assertEqual(doc.checked("off_record"), kept["off_record"])
        self.assertEqual(doc.checked("enabled"), kept["enabled"])
        if kept["role"] in self.roles.values():
            self.assertEqual(doc.selected("role"), [kept["role"]])
        else:
            self.assertEqual(doc.selected("role"), [])
        self.assertSecurityHeaders(response)
        self.assertEqual(self.snapshot(), before, "something was saved")

    def check_case(self, changes, error_id, words, edit):
        values = self.values(changes)
        before = self.snapshot()
        path = f"/w/1/keys/{self.edit_key}/edit" if edit else "/w/1/keys/new"
        response = self.server.post(path, self.fields(values))
        self.assertRefused(response, error_id, words, values, before)
        self.assertEqual(response.doc.find_all("form", class_="panel key-form")[0].get("action"), path)

    # ---- undecodable bytes ----

    def raw_case(self, field, raw, words, edit=False):
        """Post GOOD with field `field` (or ("cidr"|"cidr_label", row)) replaced by the raw bytes `raw`."""
        values = self.values({})
        pairs = []
        for name, value in self.fields(values):
            pairs.append(urllib.parse.urlencode({name: value}))
        if isinstance(field, tuple):
            wanted, row = field
            seen = -1
            for index, pair in enumerate(pairs):
                if pair.startswith(wanted + "="):
                    seen += 1
                    if seen == row:
                        pairs[index] = f"{wanted}={raw}"
            error_id = cidr_id(row) if wanted == "cidr" else label_id(row)
        else:
            pairs = [f"{field}={raw}" if p.startswith(field + "=") else p for p in pairs]
            error_id = {"name": NAME, "postback_url": URL}[field]
        body = "&".join(pairs).encode()
        before = self.snapshot()
        path = f"/w/1/keys/{self.edit_key}/edit" if edit else "/w/1/keys/new"
        response = self.server.post(path, raw_body=body,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertRefused(response, error_id, words, values, before, undecodable=(field,))

    def test_malformed_percent_encoding_in_name(self):
        self.raw_case("name", "%zz", "malformed percent-encoding")
        self.raw_case("name", "abc%", "malformed percent-encoding")
        self.raw_case("name", "abc%4", "malformed percent-encoding")
        self.raw_case("name", "%", "malformed percent-encoding", edit=True)

    def test_invalid_utf8_in_name(self):
        self.raw_case("name", "%C3%28", "not valid UTF-8")
        self.raw_case("name", "%FF", "not valid UTF-8")
        self.raw_case("name", "%C0%AF", "not valid UTF-8")        # overlong "/"
        self.raw_case("name", "%ED%A0%80", "not valid UTF-8")     # a surrogate
        self.raw_case("name", "%FF", "not valid UTF-8", edit=True)

    def test_nul_byte_in_name(self):
        self.raw_case("name", "a%00b", "NUL")
        self.raw_case("name", "%00", "NUL", edit=True)

    def test_undecodable_postback_url(self):
        self.raw_case("postback_url", "https%3A%2F%2Fexample.com%2F%zz", "malformed percent-encoding")
        self.raw_case("postback_url", "https%3A%2F%2Fexample.com%2F%FF", "not valid UTF-8")
        self.raw_case("postback_url", "https%3A%2F%2Fexample.com%2F%00", "NUL", edit=True)

    def test_undecodable_network_and_label(self):
        self.raw_case(("cidr", 0), "%C3%28", "not valid UTF-8")
        self.raw_case(("cidr", 1), "10.0.0.0%2F8%00", "NUL")
        self.raw_case(("cidr_label", 0), "%FF", "not valid UTF-8")
        self.raw_case(("cidr_label", 1), "%zz", "malformed percent-encoding", edit=True)

    def test_add_another_network_with_undecodable_bytes_does_not_crash_or_save(self):
        before = self.snapshot()
        response = self.server.post("/w/1/keys/new", raw_body=b"name=%zz&cidr=%FF&cidr_label=%00&action=add_cidr",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertStatus(response, 200)
        self.assertEqual(response.doc.values("cidr"), ["", ""])
        self.assertEqual(self.snapshot(), before)

    def test_every_field_wrong_at_once(self):
        values = self.values({"name": "", "postback_url": "ftp://x", "role": "0",
                              "cidrs": [("10.1.2.3/8", "a"), ("nonsense", "b"), ("", "c")]})
        before = self.snapshot()
        response = self.server.post("/w/1/keys/new", self.fields(values))
        self.assertStatus(response, 422)
        errors = response.doc.field_errors()
        self.assertEqual(set(errors), {"name-error", "postback-error", "role-error", "cidr-0-error",
                                       "cidr-1-error", "cidr-2-error"})
        self.assertIn("6 fields need your attention", response.doc.by_id("error-summary").text)
        self.assertEqual(response.doc.values("cidr"), ["10.1.2.3/8", "nonsense", ""])
        self.assertEqual(response.doc.values("cidr_label"), ["a", "b", "c"])
        self.assertEqual(response.doc.value("postback_url"), "ftp://x")
        self.assertEqual(self.snapshot(), before)

    def test_too_many_fields_is_refused(self):
        before = self.snapshot()
        body = "&".join(["name=x"] + ["cidr=10.0.0.0%2F8"] * 1000).encode()
        response = self.server.post("/w/1/keys/new", raw_body=body,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertErrorPage(response, 413, "Nothing was saved")
        self.assertEqual(self.snapshot(), before)

    def test_too_many_network_rows_is_a_field_error(self):
        before = self.snapshot()
        fields = [("name", "Many rows"), ("role", self.roles["admin"])]
        for i in range(101):
            fields += [("cidr", f"10.0.{i}.0/24"), ("cidr_label", "")]
        response = self.server.post("/w/1/keys/new", fields)
        self.assertStatus(response, 422)
        self.assertIn("100 networks", response.doc.by_id("cidrs-error").text)
        # the list-wide message is announced with the network fields, like every other message
        self.assertIn("100 networks", response.doc.field_error_for("cidr-0") or "")
        self.assertEqual(response.doc.value("name"), "Many rows")
        self.assertEqual(len(response.doc.values("cidr")), 101)
        self.assertEqual(self.snapshot(), before)


def _make_field_test(changes, error_id, words, edit):
    def test(self):
        self.check_case(changes, error_id, words, edit)
    return test


for _case, (_changes, _error_id, _words) in FIELD_CASES.items():
    setattr(BadInputTest, f"test_create_refuses_{_case}", _make_field_test(_changes, _error_id, _words, False))
    setattr(BadInputTest, f"test_edit_refuses_{_case}", _make_field_test(_changes, _error_id, _words, True))


class RequestRefusalTest(ServerTestCase):
    """Refusals before any handler runs, and the error page they all share."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key_id, _ = cls.server.create_key("Existing key")

    def form_body(self, size):
        """A urlencoded body of exactly `size` bytes, this session's CSRF token included."""
        prefix = b"csrf=" + self.server.csrf.encode() + b"&name="
        return prefix + b"a" * (size - len(prefix))

    def test_body_over_64_kib_is_413(self):
        before = self.server.row_counts()
        for path in ("/w/1/keys/new", f"/w/1/keys/{self.key_id}/edit"):
            with self.subTest(path=path):
                body = self.form_body(64 * 1024 + 1)
                response = self.server.post(path, raw_body=body,
                                            headers={"Content-Type": "application/x-www-form-urlencoded"})
                self.assertErrorPage(response, 413, "Form too large", "Nothing was saved")
        self.assertEqual(self.server.row_counts(), before)

    def test_much_larger_body_is_also_refused(self):
        response = self.server.post("/w/1/keys/new", raw_body=self.form_body(512 * 1024),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertIn(response.status, (413,))

    def test_body_of_exactly_64_kib_is_read(self):
        before = self.server.row_counts()
        response = self.server.post("/w/1/keys/new", raw_body=self.form_body(64 * 1024),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertStatus(response, 422)  # read and checked: the name is far too long
        self.assertIn("at most 100 characters", response.doc.field_error_for("name"))
        self.assertEqual(self.server.row_counts(), before)

    def test_multipart_form_is_415(self):
        before = self.server.row_counts()
        body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMultipart key\r\n"
                b"--XyZ--\r\n")
        response = self.server.post("/w/1/keys/new", raw_body=body,
                                    headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
        self.assertErrorPage(response, 415, "application/x-www-form-urlencoded", "Nothing was saved")
        self.assertEqual(self.server.row_counts(), before)

    def test_other_content_types_are_415(self):
        for content_type in ("text/plain", "application/json", "application/x-www-form-urlencodedx"):
            with self.subTest(content_type=content_type):
                response = self.server.post("/w/1/keys/new", raw_body=b"name=x",
                                            headers={"Content-Type": content_type})
                self.assertErrorPage(response, 415)
        response = self.server.post("/w/1/keys/new", raw_body=b"name=x", headers={"Content-Type": ""})
        self.assertErrorPage(response, 415)

    def test_urlencoded_with_charset_parameter_is_accepted(self):
        response = self.server.post("/w/1/keys/new", raw_body=b"name=&action=save",
                                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
        self.assertStatus(response, 422)

    def test_unknown_key_is_404_page(self):
        for method, path in (("GET", "/w/1/keys/key_AAAAAAAAAAAAAAAA"), ("GET", "/w/1/keys/key_AAAAAAAAAAAAAAAA/revoke"),
                             ("POST", "/w/1/keys/key_AAAAAAAAAAAAAAAA/enable"),
                             ("POST", "/w/1/keys/key_AAAAAAAAAAAAAAAA/disable"),
                             ("POST", "/w/1/keys/key_AAAAAAAAAAAAAAAA/revoke"),
                             ("POST", "/w/1/keys/key_AAAAAAAAAAAAAAAA/regenerate"),
                             ("GET", "/w/1/keys/nonsense")):
            with self.subTest(method=method, path=path):
                before = self.server.row_counts()
                response = self.server.request(method, path, body=[] if method == "POST" else None)
                self.assertErrorPage(response, 404, "Key not found", "There is no key with this ID")
                self.assertEqual(self.server.row_counts(), before)

    def test_unknown_path_is_404_page(self):
        for path in ("/nope", "/w/1/keys/", "/w/1/keys/a/b/c", "/w/1/keys//edit", "/w/1/keys/%C3%A4", "/w/1/keys/a%2Fb",
                     "/w/1/keys/new/", "/KEYS", "/w/1/keys/" + self.key_id + "/unknown"):
            with self.subTest(path=path):
                self.assertErrorPage(self.server.get(path), 404)

    def test_wrong_method_is_405_with_allow(self):
        cases = [
            ("DELETE", "/w/1/keys", "GET, HEAD"),
            ("POST", "/w/1/keys", "GET, HEAD"),
            ("PUT", "/w/1/keys/new", "GET, HEAD, POST"),
            ("GET", f"/w/1/keys/{self.key_id}/enable", "POST"),
            ("GET", f"/w/1/keys/{self.key_id}/disable", "POST"),
            ("DELETE", f"/w/1/keys/{self.key_id}", "GET, HEAD"),
            ("PATCH", f"/w/1/keys/{self.key_id}/edit", "GET, HEAD, POST"),
        ]
        for method, path, allow in cases:
            with self.subTest(method=method, path=path):
                before = self.server.key_row(self.key_id)
                response = self.server.request(method, path, body=[] if method in ("POST", "PUT", "PATCH") else None)
                self.assertErrorPage(response, 405, "Method not allowed")
                self.assertEqual(response.header("Allow"), allow)
                self.assertEqual(self.server.key_row(self.key_id), before)

    def test_head_works_on_get_pages(self):
        for path in ("/w/1/keys", "/w/1/keys/new", f"/w/1/keys/{self.key_id}", f"/w/1/keys/{self.key_id}/edit",
                     "/w/1/keys?q=existing&status=enabled"):
            with self.subTest(path=path):
                get = self.server.get(path)
                head = self.server.request("HEAD", path)
                self.assertStatus(head, 200)
                self.assertEqual(head.body, b"")
                self.assertTrue(head.header("Content-Type").startswith("text/html"))
                self.assertEqual(head.header("Cache-Control"), get.header("Cache-Control"))
                self.assertSecurityHeaders(head)
        head = self.server.request("HEAD", "/w/1/keys/key_AAAAAAAAAAAAAAAA")
        self.assertStatus(head, 404)
        self.assertEqual(head.body, b"")

    def test_very_long_path(self):
        for path in ("/w/1/keys/" + "a" * 3000, "/" + "b" * 2100, "/w/1/keys/" + "k" * 2040):
            with self.subTest(length=len(path)):
                response = self.server.get(path)
                self.assertIn(response.status, (404, 414))
                self.assertErrorPage(response, response.status)
                self.assertNotIn("a" * 100, response.text)  # the path is not echoed back
        self.assertErrorPage(self.server.get("/w/1/keys/" + "a" * 3000), 414, "Page not found")
        self.assertErrorPage(self.server.get("/w/1/keys/" + "k" * 2000), 404, "Key not found")
