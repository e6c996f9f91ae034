"""test_api_keys.py: the management API (/api/v1/keys, /api/v1/roles) through the real lighttpd.

A program (CI, a provisioning job) holds an API key of the workspace whose role has the api.key.*
permissions it needs, and does with JSON what the console does with forms: list with filters and
cursors, create (the token in that answer only), show, change, roll with an overlap, end the
overlap, revoke, read usage. The checks: the same rules and messages as the console, each field in
error named; nothing saved on any refusal; the calling key named in the audit log; Idempotency-Key
answering a repeat once, and never keeping a token in the clear.
"""
import json
import threading
import time
import unittest

from harness import ON_POSTGRESQL, ServerTestCase

KEYS = "/api/v1/keys"
VERIFY = "/api/v1/keys/verify"


def key_id_of(token):
    return "key_" + token.split("_")[2]


class ManagementApiTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.admin = s.create_key_cli("Provisioner", "--role", "admin")
        cls.reader = s.create_key_cli("Dashboard reader", "--role", "read-only")
        cls.other_workspace = s.create_workspace("Someone else's")
        cls.stranger = s.create_key_cli("Stranger", "--role", "admin", "--workspace", str(cls.other_workspace))

    # ---- helpers ----

    def call(self, method, path, body=None, caller="admin", raw=None, headers=None, content_type="application/json"):
        all_headers = dict(headers or {})
        if caller is not None:
            token = getattr(self, caller) if hasattr(self, caller) else caller
            all_headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None and content_type is not None:
            all_headers["Content-Type"] = content_type
        return self.server.request(method, path, raw_body=data, headers=all_headers, cookies=False)

    def json_of(self, response):
        self.assertTrue((response.header("Content-Type") or "").startswith("application/json"),
                        (response.status, response.headers, response.text[:300]))
        return json.loads(response.body)

    def ok(self, response, status=200):
        self.assertStatus(response, status)
        self.assertEqual(response.header("Cache-Control"), "no-store")
        return self.json_of(response)

    def error(self, response, status, code):
        self.assertStatus(response, status)
        document = self.json_of(response)
        self.assertEqual(set(document), {"error"}, document)
        self.assertEqual(document["error"]["code"], code, document)
        self.assertTrue(document["error"]["message"], document)
        return document["error"]

    def create(self, **fields):
        fields.setdefault("name", "Made by the API")
        answer = self.ok(self.call("POST", KEYS, fields), 201)
        self.assertEqual(set(answer), {"key", "token"}, answer)
        return answer["key"], answer["token"]

    def verify(self, token):
        """What the verify endpoint says of `token` (as the admin caller), for a client on this machine."""
        return self.ok(self.call("POST", VERIFY, {"key": token, "ip": "127.0.0.1"}))

    def audit(self, key_id):
        return self.server.query("SELECT action, actor_label, summary FROM audit_event WHERE target_id = ? ORDER BY id",
                                 (key_id,))

    def assertNowhere(self, needle):
        """`needle` is in no file of the data folder (the database, its WAL, the logs) nor in PostgreSQL's dump."""
        files = self.server.data_files()
        if ON_POSTGRESQL:
            files["pg_dump of the database"] = self.server.dump()
        for name, data in files.items():
            self.assertNotIn(needle.encode(), data, f"found in {name}")

    def key_count(self):
        return self.server.count("api_key")

    # ---- who may call ----

    def test_callers_are_checked_like_the_gatekeeper_checks_keys(self):
        error = self.error(self.call("GET", KEYS, caller=None), 401, "missing_key")
        self.assertIn("Authorization", error["message"])
        self.error(self.call("GET", KEYS, caller="kw_nonsense"), 401, "invalid_key")
        before = self.key_count()
        self.error(self.call("POST", KEYS, {"name": "Not allowed"}, caller="reader"), 403, "insufficient_permissions")
        self.error(self.call("POST", f"{KEYS}/{key_id_of(self.admin)}/revoke", caller="reader"), 403,
                   "insufficient_permissions")
        self.assertEqual(self.key_count(), before)
        # A reader may read.
        self.ok(self.call("GET", KEYS, caller="reader"))
        self.ok(self.call("GET", "/api/v1/roles", caller="reader"))

    def test_a_caller_sees_and_touches_its_own_workspace_only(self):
        mine = key_id_of(self.reader)
        self.error(self.call("GET", f"{KEYS}/{mine}", caller="stranger"), 404, "key_not_found")
        self.error(self.call("PATCH", f"{KEYS}/{mine}", {"name": "Taken over"}, caller="stranger"), 404,
                   "key_not_found")
        self.error(self.call("POST", f"{KEYS}/{mine}/revoke", caller="stranger"), 404, "key_not_found")
        listed = self.ok(self.call("GET", KEYS + "?limit=100", caller="stranger"))["data"]
        self.assertEqual([k["key_id"] for k in listed], [key_id_of(self.stranger)])
        made = self.ok(self.call("POST", KEYS, {"name": "Stranger's own"}, caller="stranger"), 201)["key"]
        rows = self.server.query("SELECT workspace_id FROM api_key WHERE key_id = ?", (made["key_id"],))
        self.assertEqual(rows, [(self.other_workspace,)])

    def test_wrong_method_and_unknown_paths(self):
        response = self.call("DELETE", f"{KEYS}/{key_id_of(self.reader)}")
        self.error(response, 405, "method_not_allowed")
        self.assertEqual(response.header("Allow"), "GET, HEAD, PATCH")
        response = self.call("PUT", KEYS)
        self.error(response, 405, "method_not_allowed")
        self.assertEqual(response.header("Allow"), "GET, HEAD, POST")
        self.error(self.call("GET", "/api/v1/nothing"), 404, "not_found")

    # ---- create ----

    def test_create_returns_the_token_once_and_the_key(self):
        before = self.key_count()
        response = self.call("POST", KEYS, {
            "name": "Billing (CI)", "role": "admin", "networks": [{"cidr": "127.0.0.0/8", "label": "here"},
                                                                  {"cidr": "2001:db8::/32"}],
            "postback_url": "https://example.com/hooks/keys", "note": "Made by the pipeline", "off_the_record": False,
            "expires_at": "2099-01-31T18:00:00Z"})
        answer = self.ok(response, 201)
        key, token = answer["key"], answer["token"]
        self.assertEqual(response.header("Location"), f"/api/v1/keys/{key['key_id']}")
        self.assertEqual(key_id_of(token), key["key_id"])
        self.assertEqual(key["name"], "Billing (CI)")
        self.assertEqual(key["role"], "admin")
        self.assertEqual(key["status"], "enabled")
        self.assertEqual(key["networks"], [{"cidr": "127.0.0.0/8", "label": "here"},
                                           {"cidr": "2001:db8::/32", "label": ""}])
        self.assertEqual(key["postback_url"], "https://example.com/hooks/keys")
        self.assertEqual(key["note"], "Made by the pipeline")
        self.assertEqual(key["expires_at"], "2099-01-31T18:00:00Z")
        self.assertEqual(key["created_by"], f"key {key_id_of(self.admin)}")
        self.assertEqual(key["secret_hint"], token[-4:])
        self.assertIsNone(key["revoked_at"])
        self.assertEqual(self.key_count(), before + 1)
        # The token works, and is nowhere else: the key's own page in the API shows its last 4 only.
        self.assertTrue(self.verify(token)["valid"])
        shown = self.call("GET", f"{KEYS}/{key['key_id']}")
        self.assertNotIn(token.encode(), shown.body)
        self.assertEqual(self.ok(shown)["key"], key)
        self.assertEqual(self.audit(key["key_id"])[0][:2], ("key.create", f"key {key_id_of(self.admin)}"))
        self.assertNowhere(token)

    def test_create_defaults(self):
        key, token = self.create(name="Defaults")
        self.assertEqual((key["role"], key["enabled"], key["off_the_record"], key["networks"], key["postback_url"],
                          key["note"], key["expires_at"]), ("read-only", True, False, [], None, "", None))

    def test_bad_fields_are_named_and_nothing_is_saved(self):
        before = self.key_count()
        response = self.call("POST", KEYS, {"name": "", "role": "no such role",
                                            "networks": [{"cidr": "10.0.0.0/8"}, {"cidr": "300.1.2.3/8", "label": "x"}],
                                            "postback_url": "ftp://example.com/", "expires_at": "yesterday"})
        error = self.error(response, 422, "invalid_fields")
        fields = {f["field"]: f["message"] for f in error["fields"]}
        self.assertEqual(set(fields), {"name", "role", "networks[1].cidr", "postback_url", "expires_at"}, fields)
        self.assertEqual(error["field"], "name")
        self.assertTrue(error["message"].startswith("name: "), error)
        self.assertIn("no such role", fields["role"])
        self.assertEqual(self.key_count(), before)
        # The console's own message for the same mistake.
        form = self.server.post("/w/1/keys/new", self.server.key_fields("", role="admin"))
        self.assertIn(fields["name"], form.text)

    def test_limits_on_fields(self):
        before = self.key_count()
        error = self.error(self.call("POST", KEYS, {"name": "x" * 101}), 422, "invalid_fields")
        self.assertEqual(error["field"], "name")
        error = self.error(self.call("POST", KEYS, {"name": "Many", "networks": [{"cidr": f"10.0.{i}.0/24"}
                                                                               for i in range(101)]}),
                           422, "invalid_fields")
        self.assertEqual(error["field"], "networks")
        error = self.error(self.call("POST", KEYS, {"name": "Long note", "note": "n" * 1001}), 422, "invalid_fields")
        self.assertEqual(error["field"], "note")
        self.error(self.call("POST", KEYS, raw=b'{"name": "' + b"x" * 70000 + b'"}'), 413, "body_too_large")
        self.assertEqual(self.key_count(), before)

    def test_malformed_requests_get_400_and_say_why(self):
        before = self.key_count()
        cases = [
            (b"{not json", 400, "invalid_json", "not valid JSON"),
            (b"[1, 2]", 400, "invalid_request", "JSON object"),
            (json.dumps({"name": "A", "colour": "red"}).encode(), 400, "invalid_request", "colour"),
            (json.dumps({"name": 5}).encode(), 400, "invalid_request", "\"name\" must be a string"),
            (json.dumps({"name": "A", "enabled": "yes"}).encode(), 400, "invalid_request", "true or false"),
            (json.dumps({"name": "A", "networks": "10.0.0.0/8"}).encode(), 400, "invalid_request", "array"),
            (json.dumps({"name": "A", "networks": [{"label": "no cidr"}]}).encode(), 400, "invalid_request", "cidr"),
            (json.dumps({"name": "A", "networks": [{"cidr": "10.0.0.0/8", "mask": 1}]}).encode(), 400,
             "invalid_request", "mask"),
            (b'{"name": "A", "name": "B"}', 400, "invalid_json", "duplicate"),
            (b'{"name": "A\\u0000B"}', 400, "invalid_json", ""),
        ]
        for raw, status, code, words in cases:
            with self.subTest(raw=raw[:40]):
                error = self.error(self.call("POST", KEYS, raw=raw), status, code)
                self.assertIn(words, error["message"])
        self.error(self.call("POST", KEYS, raw=b"name=A", content_type="application/x-www-form-urlencoded"), 415,
                   "unsupported_media_type")
        self.error(self.call("POST", KEYS), 400, "invalid_request")
        self.assertEqual(self.key_count(), before)

    # ---- list ----

    def test_the_list_pages_with_cursors_and_filters(self):
        made = [self.create(name=f"Paged {i:02d} Ärger" if i % 2 else f"Paged {i:02d}")[0]["key_id"]
                for i in range(7)]
        seen = []
        cursor = None
        pages = 0
        while True:
            path = f"{KEYS}?q=paged&limit=3" + (f"&cursor={cursor}" if cursor else "")
            page = self.ok(self.call("GET", path))
            self.assertEqual(set(page), {"data", "next_cursor"})
            self.assertLessEqual(len(page["data"]), 3)
            seen += [k["key_id"] for k in page["data"]]
            pages += 1
            if pages == 1:
                # A key made between pages does not push an old one into the next page twice.
                self.create(name="Paged late")
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, list(reversed(made)))  # newest first, each once
        self.assertEqual(pages, 3)
        found = self.ok(self.call("GET", f"{KEYS}?q=%C3%A4rger&limit=100"))["data"]  # "ärger" finds "Ärger"
        self.assertEqual(len(found), 3)
        found = self.ok(self.call("GET", f"{KEYS}?q={made[0][-6:]}"))["data"]  # part of a key ID
        self.assertEqual([k["key_id"] for k in found], [made[0]])
        readers = self.ok(self.call("GET", f"{KEYS}?role=read-only&limit=100"))["data"]
        self.assertTrue(readers)
        self.assertEqual({k["role"] for k in readers}, {"read-only"})

    def test_state_filters(self):
        key, _ = self.create(name="State filter victim")
        self.ok(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"enabled": False}))
        disabled = [k["key_id"] for k in self.ok(self.call("GET", f"{KEYS}?state=disabled&limit=100"))["data"]]
        self.assertIn(key["key_id"], disabled)
        self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/revoke"))
        revoked = [k["key_id"] for k in self.ok(self.call("GET", f"{KEYS}?state=revoked&limit=100"))["data"]]
        self.assertIn(key["key_id"], revoked)
        active = [k["key_id"] for k in self.ok(self.call("GET", f"{KEYS}?limit=100"))["data"]]
        self.assertNotIn(key["key_id"], active)

    def test_bad_list_queries(self):
        cases = {
            "?state=sleeping": "state",
            "?limit=0": "limit",
            "?limit=101": "limit",
            "?limit=ten": "limit",
            "?cursor=xyz": "cursor",
            "?role=nobody": "nobody",
            "?colour=red": "colour",
            "?q=a&q=b": "twice",
            "?q=" + "x" * 101: "too long",
        }
        for query, words in cases.items():
            with self.subTest(query=query[:30]):
                error = self.error(self.call("GET", KEYS + query), 400, "invalid_request")
                self.assertIn(words, error["message"])
        # A secret in an address is refused, not searched.
        response = self.call("GET", f"{KEYS}?q={self.reader}")
        error = self.error(response, 400, "invalid_request")
        self.assertIn("secret", error["message"])
        self.assertNotIn(self.reader.encode(), response.body)

    # ---- change ----

    def test_patch_changes_only_what_it_names(self):
        key, token = self.create(name="Patch me", networks=[{"cidr": "127.0.0.0/8", "label": "loopback"}],
                                 note="Keep this note")
        changed = self.ok(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"name": "Patched", "role": "admin"}))["key"]
        self.assertEqual((changed["name"], changed["role"]), ("Patched", "admin"))
        self.assertEqual((changed["networks"], changed["note"]), (key["networks"], "Keep this note"))
        self.assertEqual(self.verify(token)["role"], "admin")
        lines = self.audit(key["key_id"])
        self.assertEqual(lines[-1][:2], ("key.update", f"key {key_id_of(self.admin)}"))
        self.assertIn("Patched", lines[-1][2])
        # The same values again: nothing changes, and no audit line says it did.
        self.ok(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"name": "Patched", "role": "admin"}))
        self.assertEqual(len(self.audit(key["key_id"])), len(lines))
        # Networks replaced, then removed; the expiry cleared with null.
        changed = self.ok(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"networks": [], "postback_url": None,
                                                                          "expires_at": None}))["key"]
        self.assertEqual(changed["networks"], [])
        # Disabled through the API: the gatekeeper's verify says so at once.
        self.ok(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"enabled": False}))
        self.assertEqual(self.verify(token)["code"], "disabled")

    def test_the_allowlist_switch(self):
        """allowlist_enabled turns the networks' enforcement off and on, keeping them; with other
        members the change and the switch are saved together or not at all."""
        key, token = self.create(name="Switch me", networks=[{"cidr": "192.0.2.0/24", "label": "far away"}])
        self.assertTrue(key["allowlist_enabled"])
        self.assertEqual(self.verify(token)["code"], "ip_not_allowed")
        off = self.ok(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"allowlist_enabled": False}))["key"]
        self.assertEqual((off["allowlist_enabled"], off["networks"]), (False, key["networks"]))
        self.assertTrue(self.verify(token)["valid"])
        self.assertEqual(self.audit(key["key_id"])[-1][:2], ("key.allowlist_off", f"key {key_id_of(self.admin)}"))
        lines = len(self.audit(key["key_id"]))
        self.ok(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"allowlist_enabled": False}))  # so already
        self.assertEqual(len(self.audit(key["key_id"])), lines)
        # A bad field with the switch: neither is saved.
        self.error(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"allowlist_enabled": True, "name": ""}), 422,
                   "invalid_fields")
        self.assertTrue(self.verify(token)["valid"])
        both = self.ok(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"allowlist_enabled": True, "name": "Fenced"}))
        self.assertEqual((both["key"]["allowlist_enabled"], both["key"]["name"]), (True, "Fenced"))
        self.assertEqual(self.verify(token)["code"], "ip_not_allowed")
        self.assertEqual([line[0] for line in self.audit(key["key_id"])][-2:], ["key.update", "key.allowlist_on"])
        # A new key's allowlist is on: the create takes no switch.
        error = self.error(self.call("POST", KEYS, {"name": "No switch", "allowlist_enabled": False}), 400,
                           "invalid_request")
        self.assertIn("PATCH", error["message"])

    def test_patch_refusals_change_nothing(self):
        key, _ = self.create(name="Refuse my patch")
        before = self.server.key_row(key["key_id"])
        self.error(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"name": ""}), 422, "invalid_fields")
        self.error(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"name": "Fine", "networks": [{"cidr": "nope"}]}),
                   422, "invalid_fields")
        self.error(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"owner": "me"}), 400, "invalid_request")
        self.error(self.call("PATCH", f"{KEYS}/key_AAAAAAAAAAAAAAAA", {"name": "Ghost"}), 404, "key_not_found")
        self.assertEqual(self.server.key_row(key["key_id"]), before)
        self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/revoke"))
        self.error(self.call("PATCH", f"{KEYS}/{key['key_id']}", {"name": "Too late"}), 409, "key_revoked")

    # ---- roll, end overlap, revoke ----

    def test_roll_with_an_overlap_then_end_it(self):
        key, old = self.create(name="Roll me")
        answer = self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/roll", {"overlap_seconds": 3600}))
        new = answer["token"]
        self.assertNotEqual(new, old)
        self.assertEqual(key_id_of(new), key["key_id"])
        self.assertEqual(answer["key"]["secret_hint"], new[-4:])
        until = answer["key"]["previous_secret_until"]
        self.assertIsNotNone(until)
        self.assertTrue(self.verify(old)["valid"])
        self.assertTrue(self.verify(new)["valid"])
        ended = self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/end-overlap"))
        self.assertTrue(ended["ended"])
        self.assertIsNone(ended["key"]["previous_secret_until"])
        self.assertEqual(self.verify(old)["code"], "invalid_key")
        self.assertFalse(self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/end-overlap"))["ended"])
        actions = [line[0] for line in self.audit(key["key_id"])]
        self.assertEqual(actions, ["key.create", "key.regenerate", "key.overlap_end"])
        # Without a body: no overlap, the old secret stops at once.
        newest = self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/roll"))["token"]
        self.assertEqual(self.verify(new)["code"], "invalid_key")
        self.assertTrue(self.verify(newest)["valid"])

    def test_bad_overlaps(self):
        key, token = self.create(name="Bad overlaps")
        for overlap in (-1, 604801, 1.5, "3600", None):
            with self.subTest(overlap=overlap):
                response = self.call("POST", f"{KEYS}/{key['key_id']}/roll", {"overlap_seconds": overlap})
                self.assertIn(response.status, (400, 422), response.text)
        self.error(self.call("POST", f"{KEYS}/{key['key_id']}/roll", {"overlap": 5}), 400, "invalid_request")
        self.assertTrue(self.verify(token)["valid"])
        self.assertEqual([line[0] for line in self.audit(key["key_id"])], ["key.create"])

    def test_revoke(self):
        key, token = self.create(name="Revoke me")
        answer = self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/revoke"))
        self.assertEqual(answer["key"]["status"], "revoked")
        self.assertIsNotNone(answer["key"]["revoked_at"])
        self.assertEqual(self.verify(token)["code"], "revoked")
        self.error(self.call("POST", f"{KEYS}/{key['key_id']}/revoke"), 409, "key_revoked")
        self.error(self.call("POST", f"{KEYS}/{key['key_id']}/roll"), 409, "key_revoked")
        self.assertEqual([line[0] for line in self.audit(key["key_id"])], ["key.create", "key.revoke"])

    # ---- usage and roles ----

    def test_usage(self):
        key, token = self.create(name="Busy key")
        for _ in range(3):
            self.ok(self.call("GET", KEYS + "?limit=1", caller=token))
        self.error(self.call("POST", KEYS, {"name": "x"}, caller=token), 403, "insufficient_permissions")
        deadline = time.monotonic() + 10
        while True:
            usage = self.ok(self.call("GET", f"{KEYS}/{key['key_id']}/usage?period=7d"))
            if usage["calls"] >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual((usage["key_id"], usage["period"], usage["off_the_record"]), (key["key_id"], "7d", False))
        self.assertEqual((usage["calls"], usage["granted"], usage["refused"]), (4, 3, 1))
        self.assertEqual(len(usage["buckets"]), 7 * 24)  # hours, as the Usage tab's chart
        self.assertEqual(sum(b["granted"] for b in usage["buckets"]), 3)
        self.assertEqual(usage["refusals"], [{"code": "insufficient_permissions", "calls": 1}])
        self.assertEqual({e["endpoint"] for e in usage["endpoints"]}, {KEYS})
        self.assertEqual([a["address"] for a in usage["addresses"]], ["127.0.0.1"])
        self.error(self.call("GET", f"{KEYS}/{key['key_id']}/usage?period=1y"), 400, "invalid_request")
        self.error(self.call("GET", f"{KEYS}/key_AAAAAAAAAAAAAAAA/usage"), 404, "key_not_found")

    def test_roles(self):
        roles = self.ok(self.call("GET", "/api/v1/roles"))["data"]
        by_name = {role["name"]: role for role in roles}
        self.assertEqual(by_name["read-only"]["permissions"], ["api.key.view"])
        self.assertIn("api.key.create", by_name["admin"]["permissions"])

    def test_the_openapi_document_is_served_to_anyone(self):
        response = self.call("GET", "/api/v1/openapi.json", caller=None)
        self.assertStatus(response, 200)
        document = self.json_of(response)
        self.assertTrue(document["openapi"].startswith("3.1"), document.get("openapi"))

    # ---- Idempotency-Key ----

    def test_a_repeated_create_makes_one_key_and_answers_the_same(self):
        before = self.key_count()
        headers = {"Idempotency-Key": "create-7f1c2b9e"}
        first = self.call("POST", KEYS, {"name": "Once only"}, headers=headers)
        answer = self.ok(first, 201)
        again = self.call("POST", KEYS, {"name": "Once only"}, headers=headers)
        self.assertStatus(again, 201)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertIsNone(first.header("Idempotent-Replayed"))
        self.assertEqual(json.loads(again.body), answer)
        self.assertEqual(again.header("Location"), first.header("Location"))
        self.assertEqual(self.key_count(), before + 1)
        # Neither the token nor the header's value is kept in the clear.
        self.assertNowhere(answer["token"])
        self.assertNowhere("create-7f1c2b9e")
        self.assertGreaterEqual(self.server.count("api_idempotency"), 1)
        # The same key for another request is refused; another caller's same key is its own.
        other = self.call("POST", KEYS, {"name": "Something else"}, headers=headers)
        self.error(other, 409, "idempotency_key_reused")
        self.assertEqual(self.key_count(), before + 1)
        mine = self.call("POST", KEYS, {"name": "Once only"}, headers=headers, caller="stranger")
        self.ok(mine, 201)
        self.assertIsNone(mine.header("Idempotent-Replayed"))

    def test_concurrent_repeats_make_one_key(self):
        """Six clients send the same create with the same key at once (a retrying client, a load
        balancer's double send): one key is made, and every answer is its answer."""
        before = self.key_count()
        answers = []

        def send():
            response = self.call("POST", KEYS, {"name": "Raced"}, headers={"Idempotency-Key": "race-1"})
            answers.append((response.status, json.loads(response.body)))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(len(answers), 6)
        self.assertEqual({status for status, _ in answers}, {201}, answers)
        self.assertEqual(len({body["token"] for _, body in answers}), 1, answers)
        self.assertEqual(self.key_count(), before + 1)

    def test_a_refusal_is_replayed_too_and_a_roll_is_done_once(self):
        headers = {"Idempotency-Key": "bad-create-1"}
        first = self.error(self.call("POST", KEYS, {"name": ""}, headers=headers), 422, "invalid_fields")
        again = self.call("POST", KEYS, {"name": ""}, headers=headers)
        self.assertEqual(self.error(again, 422, "invalid_fields"), first)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        key, old = self.create(name="Roll once")
        headers = {"Idempotency-Key": "roll-1"}
        rolled = self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/roll", {"overlap_seconds": 60}, headers=headers))
        replayed = self.ok(self.call("POST", f"{KEYS}/{key['key_id']}/roll", {"overlap_seconds": 60}, headers=headers))
        self.assertEqual(replayed["token"], rolled["token"])
        self.assertTrue(self.verify(rolled["token"])["valid"])
        self.assertTrue(self.verify(old)["valid"])  # rolled once: the first secret is still in its overlap
        self.assertEqual([line[0] for line in self.audit(key["key_id"])], ["key.create", "key.regenerate"])

    def test_bad_idempotency_keys(self):
        before = self.key_count()
        # (An empty header is dropped by the web server on the way: it reads as no key at all.)
        for value in ("x" * 256, "tab\there", "caf\u00e9"):
            with self.subTest(value=value[:10]):
                response = self.call("POST", KEYS, {"name": "Bad header"},
                                     headers={"Idempotency-Key": value.encode("utf-8").decode("latin-1")})
                self.error(response, 400, "invalid_idempotency_key")
        self.assertEqual(self.key_count(), before)


if __name__ == "__main__":
    unittest.main()
