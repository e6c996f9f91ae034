"""test_gatekeeper.py: keyward as the gatekeeper in front of a sample API, through real servers.

The same checks run through lighttpd ("mode" => "authorizer", keyward spawned by lighttpd), through
Apache (mod_authnz_fcgi to a standalone `keyward serve`) and through nginx (auth_request to the gate
of a standalone `keyward serve`, the error_page recipe that hands keyward's refusals on), each
started from the configurations in www/ on a free loopback port (harness.LighttpdGatekeeper,
harness.ApacheGatekeeper, harness.NginxGatekeeper). The API behind is tests/http/backend.cgi (under
fcgiwrap behind nginx), which logs every request it serves: a refusal must leave that log as it
was. Keys are made with the command line; a role change and a revocation are made under the
running server. The rules file maps /protected/admin/ to api.key.create (harness.GATEKEEPER_RULES).

AuthorizerOverFastcgiTest sends FCGI_AUTHORIZER requests straight to `keyward serve`, for what no
web server would pass on: a missing or garbage REMOTE_ADDR, odd REQUEST_URIs, a body length.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import (ON_POSTGRESQL, database_query, connect, BIN, FCGI_AUTHORIZER, GATEKEEPER_RULES, TEMPLATES, ApacheGatekeeper,
                     LighttpdGatekeeper, NginxGatekeeper, ServerTestCase, StandaloneKeyward, fcgi_request,
                     init_database, parse_cgi_output, sanitizer_report)

ADMIN_PERMISSIONS = "api.key.view api.key.create api.key.update api.key.delete api.key.verify"

# Every refusal: its HTTP status and its message, exactly (README, "Refusal codes").
REFUSALS = {
    "missing_key": (401, 'No API key was sent: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"'),
    "invalid_key": (401, "The API key is not valid"),
    "disabled": (401, "Key is disabled"),
    "revoked": (401, "Key was revoked"),
    "ip_not_allowed": (403, "Your IP address is not on this key's allowlist"),
    "insufficient_permissions": (403, "This key's role does not allow this request"),
}

# The read-only role may not reach the admin part of the API, however the path is written: each of
# these is /protected/admin/... once decoded and normalized as lighttpd and Apache do.
DISGUISED_ADMIN_PATHS = [
    "/protected/admin",
    "/protected/admin/",
    "/protected/%61dmin/x",
    "/protected/%61%64%6D%69%6E/x",
    "/protected//admin/x",
    "/protected/./admin/x",
    "/protected/%2e/admin/x",
    "/protected/y/../admin/x",
    "/protected/y/%2e%2e/admin/x",
    "/protected/%2e%2e/protected/admin/x",
]

# Usage rows are written in batches, at least once a second (USAGE_FLUSH_MS); give a busy machine time.
USAGE_DEADLINE_SECONDS = 5


def key_id_of(token):
    """kw_key_<16>_<secret+checksum> -> key_<16>."""
    return "key_" + token.split("_")[2]


def wrong_checksum(token):
    """The token with one character of its checksum changed: a valid shape that fails the checksum."""
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def foreign_token():
    """A well-formed token with a correct checksum that no keyward under test knows (another database)."""
    folder = tempfile.mkdtemp(prefix="keyward-foreign-")
    try:
        init_database(os.path.join(folder, "k.db"))
        done = subprocess.run([BIN, "--db", os.path.join(folder, "k.db"), "key", "create", "--name", "Elsewhere"],
                              env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def wait_until(probe, seconds=USAGE_DEADLINE_SECONDS):
    """Call probe() until it returns something true or `seconds` pass; returns its last value."""
    deadline = time.time() + seconds
    while True:
        value = probe()
        if value or time.time() > deadline:
            return value
        time.sleep(0.1)


class GatekeeperChecks:
    """The checks, for a ServerTestCase whose server_class is a harness.GatekeeperServer."""

    # ---- helpers ----

    def key(self, name, *args):
        """Make a key with `keyward key create`; returns (token, key_id)."""
        token = self.server.create_key_cli(name, *args)
        return token, key_id_of(token)

    def call(self, path, token=None, via="bearer", method="GET", body=None, extra=()):
        lines = []
        if token is not None:
            lines.append(("Authorization", "Bearer " + token) if via == "bearer" else ("X-API-Key", token))
        lines += list(extra)
        if body is not None:
            lines.append(("Content-Type", "application/json"))
        return self.server.raw_request(method, path, lines, body)

    def backend_count(self):
        return len(self.server.backend_requests())

    def granted(self, path, token=None, **kw):
        """Call; expect the API's 200, and return what the API saw."""
        before = self.backend_count()
        response = self.call(path, token, **kw)
        # As in refused(): on PostgreSQL a change that lets the key pass (a new role, enabled again)
        # reaches every process within the README's bound (1 s), not always by the very next request.
        deadline = time.monotonic() + 1
        while ON_POSTGRESQL and response.status in (401, 403) and time.monotonic() < deadline:
            time.sleep(0.01)
            before = self.backend_count()
            response = self.call(path, token, **kw)
        self.assertEqual(response.status, 200, f"{path}: {response.status} {response.text[:500]}")
        seen = self.server.backend_requests()
        self.assertEqual(len(seen), before + 1)
        self.assertEqual(json.loads(response.text), seen[-1])  # the API's own answer reached the client
        self.assertEqual(seen[-1]["REQUEST_URI"], path)
        return seen[-1]

    def assertRefused(self, response, code, backend_before):
        status, message = REFUSALS[code]
        self.assertEqual(response.status, status, response.text[:500])
        self.assertEqual((response.header("Content-Type") or "").split(";")[0], "application/json", response.headers)
        self.assertEqual(json.loads(response.text), {"code": code, "message": message})
        if status == 401:
            self.assertEqual(response.header("WWW-Authenticate"), 'Bearer realm="api"')
        self.assertEqual(self.backend_count(), backend_before, "the API saw a refused request")

    def refused(self, code, path, token=None, **kw):
        before = self.backend_count()
        response = self.call(path, token, **kw)
        # On PostgreSQL a change made by another process (the console's) reaches the gatekeeper's
        # processes by notification, within the bound the README gives (1 s), not on the very next
        # request as on SQLite: until then, it may still be granted.
        deadline = time.monotonic() + 1
        while ON_POSTGRESQL and response.status == 200 and time.monotonic() < deadline:
            time.sleep(0.01)
            before = self.backend_count()
            response = self.call(path, token, **kw)
        self.assertRefused(response, code, before)
        return response

    def set_role(self, key_id, role):
        """Change a key's role in the database, as a later console will (sqlite3, under the running server)."""
        connection = connect(self.server.database)
        try:
            with connection:
                changed = connection.execute(
                    "UPDATE api_key SET role_id = (SELECT r.id FROM role r WHERE r.name = ? AND r.workspace_id = "
                    "api_key.workspace_id) WHERE key_id = ?", (role, key_id)).rowcount
            self.assertEqual(changed, 1)
        finally:
            connection.close()

    def assertKeywardStillServes(self, pids_before):
        self.assertEqual(sorted(self.server.backend_pids()), sorted(pids_before), "a keyward process went away")
        token, key_id = self.key("Still there")
        self.assertEqual(self.granted("/protected/after", token)["KEYWARD_KEY_ID"], key_id)

    # ---- a key that may pass ----

    def test_valid_key_passes_and_the_api_learns_who_calls(self):
        token, key_id = self.key("Billing service", "--role", "admin")
        for via in ("bearer", "x-api-key"):
            with self.subTest(via=via):
                seen = self.granted("/protected/orders/42?expand=lines", token, via=via)
                self.assertEqual(seen["KEYWARD_KEY_ID"], key_id)
                self.assertEqual(seen["KEYWARD_KEY_NAME"], "Billing service")
                self.assertEqual(seen["KEYWARD_ROLE"], "admin")
                self.assertEqual(seen["KEYWARD_PERMISSIONS"], ADMIN_PERMISSIONS)
                self.assertEqual(seen["KEYWARD_WORKSPACE_ID"], "1")
                self.assertEqual(seen["KEYWARD_KEY_SECRET"], "current")
                self.assertEqual(seen["REQUEST_METHOD"], "GET")
                self.assertEqual(seen["PATH_INFO"], "/orders/42")
                self.assertEqual(seen["REMOTE_ADDR"], "127.0.0.1")
                self.assertEqual(seen["has_authorization"], via == "bearer")
                if self.server.kind == "apache":  # UserExpr makes the key ID the request's user
                    self.assertEqual(seen["REMOTE_USER"], key_id)

    def test_read_only_key_with_a_non_ascii_name(self):
        token, key_id = self.key("Zahlungs-API · Ärger ✓", "--role", "read-only")
        seen = self.granted("/protected/balance", token)
        self.assertEqual(seen["KEYWARD_KEY_ID"], key_id)
        self.assertEqual(seen["KEYWARD_KEY_NAME"], "Zahlungs-API · Ärger ✓")
        self.assertEqual(seen["KEYWARD_ROLE"], "read-only")
        self.assertEqual(seen["KEYWARD_PERMISSIONS"], "api.key.view")

    def test_a_grant_adds_nothing_of_keyward_to_the_answer(self):
        """Apache passes a 200 authorizer answer's other headers on to the client: keyward sends none."""
        token, _ = self.key("Quiet grant")
        response = self.call("/protected/quiet", token)
        self.assertEqual(response.status, 200, response.text)
        names = {name.lower() for name, _ in response.headers}
        for name in ("content-security-policy", "x-frame-options", "cache-control", "www-authenticate"):
            self.assertNotIn(name, names)
        self.assertFalse([name for name in names if name.startswith("variable-")], response.headers)
        self.assertEqual(response.header("Content-Type"), "application/json")  # the API's own

    def test_post_body_reaches_the_api_untouched(self):
        token, key_id = self.key("Writer", "--role", "admin")
        body = json.dumps({"amount": 12, "note": "für dich"}).encode()
        seen = self.granted("/protected/payments", token, method="POST", body=body)
        self.assertEqual(seen["REQUEST_METHOD"], "POST")
        self.assertEqual(seen["body"], body.decode())
        self.assertEqual(seen["KEYWARD_KEY_ID"], key_id)

    # ---- keys that may not ----

    def test_missing_malformed_unknown_disabled_and_revoked_keys_get_401(self):
        self.refused("missing_key", "/protected/x")
        for malformed in ("not-a-key", "kw_key_short", "kw_key_" + "A" * 16, "key_" + "A" * 16):
            for via in ("bearer", "x-api-key"):
                with self.subTest(malformed=malformed, via=via):
                    self.refused("invalid_key", "/protected/x", malformed, via=via)
        unknown = foreign_token()
        self.refused("invalid_key", "/protected/x", unknown)
        self.refused("invalid_key", "/protected/x", unknown, via="x-api-key")

        disabled, _ = self.key("Switched off", "--disabled")
        self.refused("disabled", "/protected/x", disabled)

        revoked, revoked_id = self.key("Soon revoked", "--role", "admin")
        self.granted("/protected/x", revoked)
        self.assertEqual(self.server.post(f"/w/1/keys/{revoked_id}/revoke").status, 303)  # through the console
        self.refused("revoked", "/protected/x", revoked)
        self.refused("revoked", "/protected/x", revoked, via="x-api-key")

    def test_an_unknown_key_reads_like_a_malformed_one(self):
        """The answer never tells whether a key exists: same status, code and message."""
        unknown = self.call("/protected/x", foreign_token())
        malformed = self.call("/protected/x", "kw_key_nonsense")
        self.assertEqual((unknown.status, unknown.body), (malformed.status, malformed.body))

    def test_allowlist(self):
        elsewhere, _ = self.key("Office only", "--cidr", "192.0.2.0/24=Office", "--cidr", "2001:db8::/32")
        self.refused("ip_not_allowed", "/protected/x", elsewhere)
        self.refused("ip_not_allowed", "/protected/x", elsewhere, via="x-api-key")
        here, key_id = self.key("This machine", "--cidr", "10.0.0.0/8", "--cidr", "127.0.0.0/8=Loopback")
        self.assertEqual(self.granted("/protected/x", here)["KEYWARD_KEY_ID"], key_id)
        exact, key_id = self.key("One address", "--cidr", "127.0.0.1")
        self.assertEqual(self.granted("/protected/x", exact)["KEYWARD_KEY_ID"], key_id)

    def test_rules_file_requires_a_permission_for_a_path(self):
        admin, admin_id = self.key("Admin tool", "--role", "admin")
        reader, reader_id = self.key("Dashboard", "--role", "read-only")
        self.assertEqual(self.granted("/protected/admin/keys", admin)["KEYWARD_KEY_ID"], admin_id)
        self.refused("insufficient_permissions", "/protected/admin/keys", reader)
        self.refused("insufficient_permissions", "/protected/admin/keys", reader, via="x-api-key")
        self.assertEqual(self.granted("/protected/public/status", reader)["KEYWARD_KEY_ID"], reader_id)
        self.assertEqual(self.granted("/protected/administrators", reader)["KEYWARD_KEY_ID"], reader_id)

    def test_rules_hold_however_the_path_is_written(self):
        admin, _ = self.key("Admin, disguised paths", "--role", "admin")
        reader, _ = self.key("Reader, disguised paths", "--role", "read-only")
        for path in DISGUISED_ADMIN_PATHS:
            with self.subTest(path=path):
                self.refused("insufficient_permissions", path, reader)
                self.assertEqual(self.call(path, admin).status, 200)
        # An encoded slash: lighttpd decodes it (keyward refuses), Apache refuses such paths itself (404).
        before = self.backend_count()
        response = self.call("/protected/admin%2Fkeys", reader)
        self.assertIn(response.status, (403, 404), response.text[:300])
        self.assertEqual(self.backend_count(), before)

    def test_role_change_takes_effect_on_the_next_request(self):
        token, key_id = self.key("Promoted later", "--role", "read-only")
        self.refused("insufficient_permissions", "/protected/admin/x", token)
        self.set_role(key_id, "admin")
        seen = self.granted("/protected/admin/x", token)
        self.assertEqual((seen["KEYWARD_ROLE"], seen["KEYWARD_PERMISSIONS"]), ("admin", ADMIN_PERMISSIONS))
        self.set_role(key_id, "read-only")
        self.refused("insufficient_permissions", "/protected/admin/x", token)
        self.assertEqual(self.granted("/protected/other", token)["KEYWARD_ROLE"], "read-only")

    # ---- the workspace the gatekeeper serves (no "workspace" line in the rules: workspace 1) ----

    def other_workspace(self):
        """Workspace 2 of this server, made once through the console by the owner."""
        if not self.server.query("SELECT count(*) FROM workspace WHERE id = 2")[0][0]:
            self.assertEqual(self.server.create_workspace("Someone else's"), 2)
        return 2

    def test_a_key_of_another_workspace_is_refused_as_an_unknown_key_is(self):
        """Anyone signed in can make a workspace and a key there: that key must not pass, and the
        answer must not tell that it exists (byte for byte the answer to a key nobody knows)."""
        workspace = self.other_workspace()
        token, key_id = self.key("Minted elsewhere", "--role", "admin", "--workspace", str(workspace))
        disabled, _ = self.key("Minted elsewhere, off", "--role", "admin", "--disabled", "--workspace", str(workspace))
        unknown = foreign_token()

        def answer(key, via="bearer", path="/protected/admin/x"):
            before = self.backend_count()
            response = self.call(path, key, via=via)
            self.assertEqual(self.backend_count(), before, "the API saw a refused request")
            headers = [(name.lower(), value) for name, value in response.headers if name.lower() != "date"]
            return response.status, headers, response.body

        for via in ("bearer", "x-api-key"):
            for path in ("/protected/admin/x", "/protected/x"):
                with self.subTest(via=via, path=path):
                    expected = answer(unknown, via, path)
                    self.assertEqual(expected[0], 401)
                    self.assertEqual(json.loads(expected[2]), {"code": "invalid_key", "message": REFUSALS["invalid_key"][1]})
                    self.assertEqual(answer(token, via, path), expected)
                    self.assertEqual(answer(disabled, via, path), expected)  # not "disabled": nothing is told
        # Nothing recorded tells it exists either: no usage of the key, no last use.
        time.sleep(1.5)  # past a flush of the usage writer
        row_id = self.server.key_row(key_id)["id"]
        self.assertEqual(self.server.count("usage_event", "api_key_id = ?", (row_id,)), 0)
        self.assertIsNone(self.server.key_row(key_id)["last_used_at"])
        # Workspace 1's keys pass, and the API learns the workspace.
        here, here_id = self.key("At home", "--role", "admin")
        seen = self.granted("/protected/admin/x", here)
        self.assertEqual((seen["KEYWARD_KEY_ID"], seen["KEYWARD_WORKSPACE_ID"]), (here_id, "1"))

    def test_the_default_workspace_is_said_once_per_process(self):
        token, _ = self.key("Logged scope")
        for _ in range(4):
            self.granted("/protected/scope", token)
        said = self.server.error_log().count("keyward: the gatekeeper serves workspace 1 (the rules file names none)")
        # lighttpd runs two gatekeeper processes (max-procs), Apache one `keyward serve`; each says it at most once.
        self.assertGreaterEqual(said, 1)
        self.assertLessEqual(said, 2 if self.server.kind == "lighttpd" else 1)

    # ---- usage ----

    def test_usage_rows_record_endpoint_address_and_outcome(self):
        token, key_id = self.key("Counted")
        elsewhere, elsewhere_id = self.key("Counted, wrong network", "--cidr", "192.0.2.0/24")
        started = int(time.time())
        self.granted("/protected/usage/a?page=2", token)
        self.granted("/protected/usage/a", token, via="x-api-key")
        self.refused("ip_not_allowed", "/protected/usage/b", elsewhere)
        self.refused("missing_key", "/protected/usage/c")
        self.refused("invalid_key", "/protected/usage/d", wrong_checksum(token))

        def rows():
            # Identical decisions of one second share a row (calls = 2 then): count decisions.
            found = self.server.query(
                "SELECT k.key_id, e.endpoint, e.client_address, e.outcome, sum(e.calls), min(e.at), max(e.at) "
                "FROM usage_event e LEFT JOIN api_key k ON k.id = e.api_key_id "
                "WHERE e.endpoint LIKE '/protected/usage/%' GROUP BY 1, 2, 3, 4 ORDER BY e.endpoint")
            return found if sum(row[4] for row in found) >= 3 else None
        found = wait_until(rows)
        self.assertIsNotNone(found, "usage rows did not appear within the flush interval")
        self.assertEqual([row[:5] for row in found], [
            (key_id, "/protected/usage/a", "127.0.0.1", "granted", 2),
            (elsewhere_id, "/protected/usage/b", "127.0.0.1", "ip_not_allowed", 1),
        ])
        # Without a known key: no row, no path; a count of the hour and address (other tests add theirs).
        self.assertEqual(self.server.count("usage_event", "endpoint IN ('/protected/usage/c', '/protected/usage/d')"), 0)
        self.assertGreaterEqual(self.server.query(
            "SELECT coalesce(sum(calls), 0) FROM usage_refused_hourly WHERE workspace_id = 1 AND client_address = "
            "'127.0.0.1' AND outcome = 'missing_key' AND hour >= ?", (started - started % 3600,))[0][0], 1)
        for row in found:
            self.assertTrue(started - 1 <= row[5] <= row[6] <= time.time() + 1, row)
        last_used = self.server.key_row(key_id)["last_used_at"]
        self.assertIsNotNone(last_used)
        self.assertGreaterEqual(last_used, started - 1)
        self.assertIsNone(self.server.key_row(elsewhere_id)["last_used_at"])  # refused: not a use

    def test_requests_without_a_valid_key_are_counted_not_kept(self):
        """Each is counted per hour, client address and outcome, in the first served workspace: no path
        is stored, and the dashboard shows them. The client varies its address within 127.0.0.0/8."""
        workspace = self.other_workspace()
        foreign, _ = self.key("Foreign to the gatekeeper", "--workspace", str(workspace))
        marker = f"/protected/stranger-{time.time_ns()}"
        kinds = {"missing": None, "malformed": "kw_key_nonsense", "unknown": foreign_token(), "foreign": foreign}
        # address: how many of each kind it sends
        plan = {"127.0.0.11": {"missing": 3}, "127.0.0.12": {"missing": 1, "malformed": 2, "unknown": 1},
                "127.0.0.13": {"foreign": 2}, "127.0.0.14": {"unknown": 1, "missing": 1}}
        started = int(time.time())
        backend_before = self.backend_count()
        sent = 0
        for address, counts in plan.items():
            for kind, count in counts.items():
                for n in range(count):
                    token = kinds[kind]
                    lines = [("Authorization", "Bearer " + token)] if token else []
                    path = f"{marker}/{'p' * 400}/{address}/{kind}/{n}?q=secret"
                    response = self.server.raw_request("GET", path, lines, source=address)
                    self.assertEqual(response.status, 401, response.text[:300])
                    sent += 1
        self.assertEqual(self.backend_count(), backend_before)
        expected = {}
        for address, counts in plan.items():
            for kind, count in counts.items():
                outcome = (address, "missing_key" if kind == "missing" else "invalid_key")
                expected[outcome] = expected.get(outcome, 0) + count

        def counted():
            rows = self.server.query(
                "SELECT client_address, outcome, sum(calls), min(hour) FROM usage_refused_hourly WHERE workspace_id = 1 "
                "AND client_address IN ('127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14') GROUP BY 1, 2")
            return rows if sum(row[2] for row in rows) >= sent else None
        rows = wait_until(counted)
        self.assertIsNotNone(rows, "the counts did not appear within the flush interval")
        self.assertEqual({(a, o): c for a, o, c, _ in rows}, expected)
        for row in rows:  # the hour of the calls (one of two, should an hour have turned meanwhile)
            self.assertIn(row[3], (started - started % 3600, started - started % 3600 + 3600))
        self.assertEqual(self.server.count("usage_refused_hourly", "workspace_id = ?", (workspace,)), 0)
        # No path anywhere: not in a row, not in the database's files.
        self.assertEqual(self.server.count("usage_event", "endpoint LIKE ?", (marker + "%",)), 0)
        for name, data in self.server.data_files().items():
            if name.startswith("keyward.db"):
                self.assertNotIn(marker.encode(), data, name)
        # The workspace's dashboard shows them; the other workspace's has none.
        page = self.server.get("/w/1/")
        self.assertEqual(page.status, 200)
        section = page.doc.by_id("strangers")
        self.assertIsNotNone(section, page.text[-3000:])
        self.assertIn("Requests without a valid key", section.text)
        self.assertIn("127.0.0.12", section.text)
        self.assertIn("4 calls: No key sent 1, Invalid key 3", " ".join(section.text.split()))
        self.assertNotIn(marker, page.text)
        other = self.server.get(f"/w/{workspace}/").doc.by_id("strangers")
        self.assertIn("None in this period.", other.text)

    def test_an_off_the_record_key_leaves_only_a_count_and_its_last_use(self):
        token, key_id = self.key("Private", "--off-record", "--role", "read-only")
        row_id = self.server.key_row(key_id)["id"]
        for _ in range(3):
            self.granted("/protected/private/x", token)

        def counted():
            calls = self.server.query("SELECT coalesce(sum(calls), 0) FROM usage_anonymous_hourly WHERE api_key_id = ?",
                                      (row_id,))[0][0]
            return calls if calls >= 3 else None
        self.assertEqual(wait_until(counted), 3)
        self.assertIsNotNone(self.server.key_row(key_id)["last_used_at"])
        self.assertEqual(self.server.count("usage_event", "api_key_id = ?", (row_id,)), 0)
        self.assertEqual(self.server.count("usage_event", "endpoint LIKE '/protected/private/%'"), 0)

    # ---- bad input (issue part 6) ----

    def test_overlong_keys(self):
        pids = self.server.backend_pids()
        token, _ = self.key("Long keys")
        for key in ("kw_key_" + "A" * 506, "A" * 600, token + "A" * 500, "kw_" * 1300):
            for via in ("bearer", "x-api-key"):
                with self.subTest(length=len(key), via=via):
                    self.assertGreater(len(key), 512)
                    self.refused("invalid_key", "/protected/long", key, via=via)
        self.assertKeywardStillServes(pids)

    def test_non_ascii_bytes_in_the_header(self):
        pids = self.server.backend_pids()
        token, _ = self.key("Bytes")
        raw = token.encode()
        for value in (b"Bearer " + raw[:20] + "ä".encode() + raw[22:], b"Bearer " + raw + b"\xff",
                      b"Bearer \xff\xfe\xfd", "Bearer ключ".encode(), b"Bearer " + raw.replace(b"_", b"\xc2\xa0")):
            with self.subTest(value=value[:40]):
                before = self.backend_count()
                self.assertRefused(self.server.raw_request("GET", "/protected/bytes", [("Authorization", value)]),
                                   "invalid_key", before)
        before = self.backend_count()
        self.assertRefused(self.server.raw_request("GET", "/protected/bytes", [("X-API-Key", raw + b"\xe2\x9c\x93")]),
                           "invalid_key", before)
        # Control bytes are refused by lighttpd and Apache themselves (400), before keyward or the API
        # see anything; nginx passes them on, and keyward refuses the key.
        before = self.backend_count()
        response = self.server.raw_request("GET", "/protected/bytes", [("Authorization", b"Bearer " + raw + b"\x01")])
        if self.server.kind == "nginx":
            self.assertRefused(response, "invalid_key", before)
        else:
            self.assertEqual(response.status, 400)
        self.assertEqual(self.backend_count(), before)
        self.assertKeywardStillServes(pids)

    def test_several_keys(self):
        pids = self.server.backend_pids()
        first, _ = self.key("First of two")
        second, _ = self.key("Second of two")
        cases = {
            "two Authorization headers, the same key": [("Authorization", "Bearer " + first)] * 2,
            "two Authorization headers, two keys": [("Authorization", "Bearer " + first),
                                                    ("Authorization", "Bearer " + second)],
            "Authorization and another X-API-Key": [("Authorization", "Bearer " + first), ("X-API-Key", second)],
            "two X-API-Key headers": [("X-API-Key", first), ("X-API-Key", first)],
            "a list in one header": [("Authorization", f"Bearer {first}, {second}")],
            "two words after Bearer": [("Authorization", f"Bearer {first} {second}")],
        }
        for name, lines in cases.items():
            with self.subTest(name):
                before = self.backend_count()
                response = self.server.raw_request("GET", "/protected/several", lines)
                if self.server.kind == "nginx" and name.startswith("two Authorization headers"):
                    # nginx refuses a repeated Authorization header itself.
                    self.assertEqual(response.status, 400)
                    self.assertEqual(self.backend_count(), before)
                else:
                    self.assertRefused(response, "invalid_key", before)
        # The same key in both headers is one key.
        before = self.backend_count()
        response = self.server.raw_request("GET", "/protected/several",
                                           [("Authorization", "Bearer " + first), ("X-API-Key", first)])
        self.assertEqual(response.status, 200, response.text)
        self.assertEqual(self.backend_count(), before + 1)
        self.assertKeywardStillServes(pids)

    def test_empty_bearer_and_other_schemes(self):
        token, _ = self.key("Scheme")
        for value in ("Bearer ", "Bearer", "Bearer      ", "Basic dXNlcjpwYXNz", "Token " + token, token):
            with self.subTest(value=value[:20]):
                before = self.backend_count()
                self.assertRefused(self.server.raw_request("GET", "/protected/scheme", [("Authorization", value)]),
                                   "missing_key", before)
        before = self.backend_count()
        self.assertRefused(self.server.raw_request("GET", "/protected/scheme", [("X-API-Key", "")]), "missing_key", before)
        # The scheme name is case-insensitive (RFC 9110).
        response = self.server.raw_request("GET", "/protected/scheme", [("Authorization", "bearer " + token)])
        self.assertEqual(response.status, 200, response.text)

    def test_valid_shape_with_a_wrong_checksum(self):
        pids = self.server.backend_pids()
        token, _ = self.key("Checksum")
        self.granted("/protected/checksum", token)
        flipped_secret = token[:30] + ("a" if token[30] != "a" else "b") + token[31:]
        for key in (wrong_checksum(token), flipped_secret, token[:-1], token.upper()):
            with self.subTest(key=key[-10:]):
                self.refused("invalid_key", "/protected/checksum", key)
        self.assertKeywardStillServes(pids)

    def test_other_spellings_of_the_prefix_stay_guarded(self):
        before = self.backend_count()
        for path in ("/protected/x", "//protected/x", "/protected/./x", "/%70rotected/x", "/x/../protected/x",
                     "/protected/%2e%2e/protected/x"):
            with self.subTest(path=path):
                response = self.call(path)
                self.assertNotEqual(response.status, 200, response.text[:300])
                if response.status == 401:
                    self.assertEqual(json.loads(response.text)["code"], "missing_key")
        self.assertEqual(self.backend_count(), before)

    # ---- an HTTP API behind a reverse proxy ----

    def test_an_http_api_behind_a_reverse_proxy(self):
        api = self.server.http_api
        before = len(api.requests)
        self.refused("missing_key", "/protected/http/orders")
        self.refused("invalid_key", "/protected/http/orders", "kw_key_nonsense")
        self.assertEqual(len(api.requests), before, "the HTTP API saw a refused request")
        token, key_id = self.key("Proxied caller", "--role", "read-only")
        response = self.call("/protected/http/orders?id=7", token, extra=[("X-Keyward-Role", "admin")])
        self.assertEqual(response.status, 200, response.text)
        self.assertEqual(len(api.requests), before + 1)
        headers = {name.lower(): value for name, value in api.requests[-1]["headers"].items()}
        if self.server.kind in ("apache", "nginx"):
            # RequestHeader set, proxy_set_header: the caller's identity, and a forged header overwritten.
            self.assertEqual(api.requests[-1]["path"], "/orders?id=7")
            self.assertEqual(headers["x-keyward-key-id"], key_id)
            self.assertEqual(headers["x-keyward-key-name"], "Proxied caller")
            self.assertEqual(headers["x-keyward-role"], "read-only")
            self.assertEqual(headers["x-keyward-permissions"], "api.key.view")
            self.assertEqual(headers["x-keyward-workspace-id"], "1")
            self.assertNotIn("authorization", headers)
        else:
            # lighttpd's mod_proxy passes request headers only: the API is guarded but learns nothing
            # from keyward, and whatever X-Keyward-* a client sends arrives as sent (never trust it).
            self.assertEqual(api.requests[-1]["path"], "/protected/http/orders?id=7")
            self.assertNotIn("x-keyward-key-id", headers)
            self.assertEqual(headers["x-keyward-role"], "admin")

    # ---- the console next to the gatekeeper ----

    def test_console_and_verify_endpoint_beside_the_gatekeeper(self):
        page = self.server.get("/w/1/keys")
        self.assertStatus(page, 200)
        self.assertIn("<h1>API keys</h1>", page.text)
        css = self.server.get("/static/keyward.css")
        self.assertStatus(css, 200)
        self.assertTrue(css.header("Content-Type").startswith("text/css"))
        checker, _ = self.key("Checker", "--role", "admin")
        reader, reader_id = self.key("Checked", "--role", "read-only")
        for via in ("bearer", "x-api-key"):
            with self.subTest(via=via):
                response = self.call(self.server.console_path("/api/v1/keys/verify"), checker, via=via, method="POST",
                                     body=json.dumps({"key": reader, "ip": "127.0.0.1"}).encode())
                self.assertEqual(response.status, 200, response.text)
                answer = json.loads(response.text)
                self.assertEqual((answer["valid"], answer["key_id"]), (True, reader_id))

    def test_the_verify_endpoint_answers_for_its_callers_workspace_only(self):
        workspace = self.other_workspace()
        checker, _ = self.key("Checker at home", "--role", "admin")
        home, home_id = self.key("Checked at home", "--role", "read-only")
        their_checker, _ = self.key("Their checker", "--role", "admin", "--workspace", str(workspace))
        theirs, theirs_id = self.key("Theirs", "--role", "read-only", "--workspace", str(workspace))
        unknown = foreign_token()

        def verify(caller, key):
            response = self.call(self.server.console_path("/api/v1/keys/verify"), caller, method="POST",
                                 body=json.dumps({"key": key}).encode())
            self.assertEqual(response.status, 200, response.text)
            return json.loads(response.text)
        nothing = verify(checker, unknown)
        self.assertEqual((nothing["valid"], nothing["code"], nothing["key_id"]), (False, "invalid_key", None))
        self.assertEqual(verify(checker, theirs), nothing)
        self.assertEqual(verify(their_checker, home), nothing)
        self.assertEqual(verify(checker, home)["key_id"], home_id)
        # A verifier of another workspace is answered, for its own keys: the console serves every workspace.
        self.assertEqual(verify(their_checker, theirs)["key_id"], theirs_id)


class LighttpdGatekeeperTest(GatekeeperChecks, ServerTestCase):
    server_class = LighttpdGatekeeper


class ApacheGatekeeperTest(GatekeeperChecks, ServerTestCase):
    server_class = ApacheGatekeeper


class NginxGatekeeperTest(GatekeeperChecks, ServerTestCase):
    server_class = NginxGatekeeper


class AuthorizerOverFastcgiTest(unittest.TestCase):
    """FCGI_AUTHORIZER requests straight to `keyward serve`, with what no web server would send."""

    @classmethod
    def setUpClass(cls):
        cls.rules_folder = tempfile.mkdtemp(prefix="keyward-rules-")
        cls.rules = os.path.join(cls.rules_folder, "rules")
        with open(cls.rules, "w") as f:
            f.write(GATEKEEPER_RULES)
        cls.keyward = StandaloneKeyward(threads=2, env={"KEYWARD_CONFIG": cls.rules})

        def make(name, *args):
            done = cls.keyward.cli("key", "create", "--name", name, *args)
            assert done.returncode == 0, done.stderr
            return done.stdout.strip()
        cls.open_key = make("Any address", "--role", "admin")
        cls.loopback_key = make("Loopback only", "--role", "admin", "--cidr", "127.0.0.0/8")
        cls.v6_key = make("Documentation v6", "--role", "admin", "--cidr", "2001:db8::/32")
        cls.reader_key = make("Reader", "--role", "read-only")

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        shutil.rmtree(cls.rules_folder, ignore_errors=True)
        if sanitizer_report(log):
            raise AssertionError(f"sanitizer report from keyward serve:\n{log[-6000:]}")

    def ask(self, token=None, drop=(), **params):
        """One authorizer request; returns (status, headers, body bytes)."""
        full = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "REQUEST_URI": "/protected/x",
                "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
        if token is not None:
            full["HTTP_AUTHORIZATION"] = "Bearer " + token
        full.update(params)
        for name in drop:
            full.pop(name, None)
        stdout, _, _ = fcgi_request(self.keyward.port, full, role=FCGI_AUTHORIZER)
        return parse_cgi_output(stdout)

    def assertAnswer(self, answer, code):
        status, _, body = answer
        if code == "granted":
            self.assertEqual(status, 200, body)
            return
        self.assertEqual((status, json.loads(body)), (REFUSALS[code][0], {"code": code, "message": REFUSALS[code][1]}))

    def test_a_grant_is_the_status_and_the_variables_only(self):
        status, headers, body = self.ask(self.open_key)
        self.assertEqual(status, 200)
        self.assertEqual([name for name, _ in headers], ["Status", "Variable-KEYWARD_KEY_ID", "Variable-KEYWARD_KEY_NAME",
                                                         "Variable-KEYWARD_ROLE", "Variable-KEYWARD_PERMISSIONS",
                                                         "Variable-KEYWARD_WORKSPACE_ID", "Variable-KEYWARD_KEY_SECRET"])
        self.assertEqual(dict(headers)["Variable-KEYWARD_KEY_NAME"], "Any address")
        self.assertEqual(dict(headers)["Variable-KEYWARD_WORKSPACE_ID"], "1")
        self.assertEqual(body, b"")

    def test_missing_remote_addr(self):
        """The server always sends REMOTE_ADDR; without it no key passes, not even one without an allowlist."""
        for token in (self.open_key, self.loopback_key):
            self.assertAnswer(self.ask(token, drop=("REMOTE_ADDR",)), "ip_not_allowed")
        self.assertAnswer(self.ask(drop=("REMOTE_ADDR",)), "missing_key")

    def test_garbage_remote_addr(self):
        garbage = ["", "localhost", "not an address", "127.0.0.1:8080", "127.0.0.1/32", "999.0.0.1", "1.2.3",
                   "::ffff:999.0.0.1", "1::2::3", "127.0.0.1, 10.0.0.1", "a" * 10000, b"\xff\xfe\xfd",
                   "127.0.0.1\x7f"]
        for address in garbage:
            for token in (self.open_key, self.loopback_key):
                with self.subTest(address=address[:30], key=token[-4:]):
                    self.assertAnswer(self.ask(token, REMOTE_ADDR=address), "ip_not_allowed")
        # The usage row keeps a bounded piece of it.
        rows = wait_until(lambda: self.query("SELECT client_address FROM usage_event WHERE client_address LIKE 'aaaa%'"))
        self.assertTrue(rows, "no usage row for the long address")
        for (address,) in rows:
            self.assertLessEqual(len(address), 64)

    def test_ipv4_mapped_ipv6_is_ipv4(self):
        self.assertAnswer(self.ask(self.loopback_key, REMOTE_ADDR="::ffff:127.0.0.1"), "granted")
        self.assertAnswer(self.ask(self.loopback_key, REMOTE_ADDR="::FFFF:127.1.2.3"), "granted")
        self.assertAnswer(self.ask(self.loopback_key, REMOTE_ADDR="::1"), "ip_not_allowed")
        self.assertAnswer(self.ask(self.loopback_key, REMOTE_ADDR="::ffff:10.0.0.1"), "ip_not_allowed")
        self.assertAnswer(self.ask(self.v6_key, REMOTE_ADDR="2001:db8::7"), "granted")
        self.assertAnswer(self.ask(self.v6_key, REMOTE_ADDR="2001:db9::7"), "ip_not_allowed")
        self.assertAnswer(self.ask(self.v6_key, REMOTE_ADDR="127.0.0.1"), "ip_not_allowed")

    def test_rules_match_the_decoded_normalized_path(self):
        refused = DISGUISED_ADMIN_PATHS + [
            "/protected/admin?x=1", "/protected/admin%2Fx", "/protected/admin%2fx", "/protected/a/b/../../admin/",
            "/../protected/admin/x", "/protected/admin/.", "/protected/x/..%2Fadmin/y", b"/protected/admin/\xff",
        ]
        for uri in refused:
            with self.subTest(uri=uri):
                self.assertAnswer(self.ask(self.reader_key, REQUEST_URI=uri), "insufficient_permissions")
                self.assertAnswer(self.ask(self.open_key, REQUEST_URI=uri), "granted")
        # Decoded once, as the servers do: %2561 is "%61", not "a".
        for uri in ("/protected/administrators", "/protected/%2561dmin/x", "/protected/x/admin/y", "/protected/",
                    "/protected/admin/../x", "/", ""):
            with self.subTest(uri=uri):
                self.assertAnswer(self.ask(self.reader_key, REQUEST_URI=uri), "granted")

    def test_odd_requests_do_not_hang_or_crash(self):
        # A server that passes a body length along: the authorizer still answers at once.
        started = time.time()
        self.assertAnswer(self.ask(self.open_key, REQUEST_METHOD="POST", CONTENT_LENGTH="10",
                                   CONTENT_TYPE="application/json"), "granted")
        self.assertLess(time.time() - started, 5)
        self.assertAnswer(self.ask(self.open_key, drop=("REQUEST_URI", "REQUEST_METHOD", "QUERY_STRING")), "granted")
        self.assertAnswer(self.ask(None, HTTP_AUTHORIZATION="Bearer " + "k" * 200000), "invalid_key")
        self.assertAnswer(self.ask(None, HTTP_X_API_KEY=b"\xff\x00" * 1000), "invalid_key")
        self.assertAnswer(self.ask(None, HTTP_AUTHORIZATION=f"Bearer {self.open_key}, Bearer {self.open_key}"),
                          "invalid_key")
        self.assertAnswer(self.ask(self.open_key, REQUEST_URI="/protected/" + "x" * 100000), "granted")
        self.assertIsNone(self.keyward.process.poll(), "keyward serve stopped")

    def test_a_header_sent_as_two_parameters_is_several_keys(self):
        """nginx before 1.23 passes each copy of a repeated header as a FastCGI parameter of its own;
        libfcgi would show keyward the first only, so a second key could hide behind a first."""
        base = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/protected/x"), ("QUERY_STRING", ""),
                ("REMOTE_ADDR", "127.0.0.1")]
        cases = {
            "X-API-Key twice, one key": [("HTTP_X_API_KEY", self.open_key)] * 2,
            "X-API-Key twice, two keys": [("HTTP_X_API_KEY", self.open_key), ("HTTP_X_API_KEY", self.reader_key)],
            "X-API-Key, then empty": [("HTTP_X_API_KEY", self.open_key), ("HTTP_X_API_KEY", "")],
            "Authorization twice": [("HTTP_AUTHORIZATION", "Bearer " + self.open_key)] * 2,
        }
        for name, lines in cases.items():
            with self.subTest(name):
                stdout, _, _ = fcgi_request(self.keyward.port, base + lines, role=FCGI_AUTHORIZER)
                self.assertAnswer(parse_cgi_output(stdout), "invalid_key")
        stdout, _, _ = fcgi_request(self.keyward.port, base + [("HTTP_X_API_KEY", self.open_key),
                                                               ("HTTP_COOKIE", "a=1"), ("HTTP_COOKIE", "b=2")],
                                    role=FCGI_AUTHORIZER)
        self.assertAnswer(parse_cgi_output(stdout), "granted")

    def query(self, sql, params=()):
        return database_query(self.keyward.database, sql, params)
