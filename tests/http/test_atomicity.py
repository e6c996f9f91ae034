"""test_atomicity.py: every console action is all or nothing, through a real lighttpd.

For each action, each write it makes is made to fail in turn (a trigger that raises, installed from
another connection as a full disk or a broken table would make a write fail): the answer must say
that nothing was changed, and every row of every table the console writes must be exactly as before.
Without the fault the same action is saved, with its audit line. Then console processes are killed
(SIGKILL) again and again while keys are being created: whatever was saved has its audit line, and
nothing is left half-written.
"""
import os
import random
import re
import signal
import threading
import time

from harness import ON_POSTGRESQL, ServerTestCase, alive, wait_for_exit


class ConsoleActionsAreAtomicTest(ServerTestCase):

    def setUp(self):
        self.server.execute("DROP TRIGGER IF EXISTS injected")

    def inject(self, operation, table):
        self.server.execute(f"CREATE TRIGGER injected BEFORE {operation} ON {table} "
                            "BEGIN SELECT RAISE(ABORT, 'injected fault'); END")

    def audit_lines(self, action):
        return self.server.count("audit_event", "action = ?", (action,))

    def assertAllOrNothing(self, send, writes, audit_action, success=303):
        """`send()` makes one request; each (operation, table) of `writes` fails in turn."""
        for operation, table in writes:
            with self.subTest(fault=f"{operation} {table}"):
                before = self.server.snapshot()
                self.inject(operation, table)
                try:
                    response = send()
                finally:
                    self.server.execute("DROP TRIGGER injected")
                self.assertIn(response.status, (500, 503), response.text[:1500])
                self.assertIn("Nothing was changed", response.text)
                self.assertEqual(self.server.snapshot(), before, f"{operation} {table} failed, yet rows changed")
        lines = self.audit_lines(audit_action)
        response = send()
        self.assertStatus(response, success)
        self.assertEqual(self.audit_lines(audit_action), lines + 1, f"no {audit_action} line")
        return response

    # ---- keys ----

    def test_create_key(self):
        s = self.server
        names = iter(range(100))

        def create():
            return s.post("/w/1/keys/new", s.key_fields(f"atomic {next(names)}", cidrs=[("10.0.0.0/8", "office")]))

        done = self.assertAllOrNothing(create, [("INSERT", "api_key"), ("INSERT", "api_key_cidr"),
                                                ("UPDATE", "gate_state"), ("INSERT", "secret_reveal"),
                                                ("INSERT", "audit_event")], "key.create")
        # The secret page still shows the one secret that was made.
        self.assertTrue(s.follow(done).doc.by_id("secret"))

    def test_edit_key(self):
        s = self.server
        key_id, _ = s.create_key("to edit", cidrs=[("10.0.0.0/8", "office")])
        renames = iter(range(100))

        def edit():
            return s.post(f"/w/1/keys/{key_id}/edit",
                          s.key_fields(f"edited {next(renames)}", role="read-only", cidrs=[("192.0.2.0/24", "home")]))

        self.assertAllOrNothing(edit, [("UPDATE", "api_key"), ("DELETE", "api_key_cidr"), ("INSERT", "api_key_cidr"),
                                       ("UPDATE", "gate_state"), ("INSERT", "audit_event")], "key.update")
        self.assertEqual(s.key_cidrs(key_id), [("192.0.2.0/24", "home")])

    def test_disable_and_enable(self):
        s = self.server
        key_id, _ = s.create_key("switched")
        writes = [("UPDATE", "api_key"), ("UPDATE", "gate_state"), ("INSERT", "audit_event")]
        self.assertAllOrNothing(lambda: s.post(f"/w/1/keys/{key_id}/disable"), writes, "key.disable")
        self.assertEqual(s.key_row(key_id)["enabled"], 0)
        self.assertAllOrNothing(lambda: s.post(f"/w/1/keys/{key_id}/enable"), writes, "key.enable")
        self.assertEqual(s.key_row(key_id)["enabled"], 1)

    def test_regenerate_keeps_the_old_secret_when_it_fails(self):
        s = self.server
        key_id, _ = s.create_key("rolled")
        old_hash = s.key_row(key_id)["secret_hash"]
        response = None
        for operation, table in [("UPDATE", "api_key"), ("UPDATE", "gate_state"), ("INSERT", "secret_reveal"),
                                 ("INSERT", "audit_event")]:
            with self.subTest(fault=f"{operation} {table}"):
                self.inject(operation, table)
                try:
                    response = s.post(f"/w/1/keys/{key_id}/regenerate")
                finally:
                    s.execute("DROP TRIGGER injected")
                self.assertIn("Nothing was changed", response.text)
                # The API client is not locked out: the secret it holds is still the key's.
                self.assertEqual(s.key_row(key_id)["secret_hash"], old_hash)
                self.assertEqual(self.audit_lines("key.regenerate"), 0)
        done = self.assertAllOrNothing(lambda: s.post(f"/w/1/keys/{key_id}/regenerate"), [], "key.regenerate")
        self.assertNotEqual(s.key_row(key_id)["secret_hash"], old_hash)
        self.assertTrue(s.follow(done).doc.by_id("secret"))

    def test_revoke(self):
        s = self.server
        key_id, _ = s.create_key("revoked")
        self.assertAllOrNothing(lambda: s.post(f"/w/1/keys/{key_id}/revoke"),
                                [("UPDATE", "api_key"), ("UPDATE", "gate_state"), ("INSERT", "audit_event")],
                                "key.revoke")
        self.assertIsNotNone(s.key_row(key_id)["revoked_at"])

    # ---- roles ----

    def test_roles(self):
        s = self.server
        fields = [("name", "billing"), ("description", "Pays"), ("permission", "api.key.view"),
                  ("app_permissions", "invoices.read")]
        self.assertAllOrNothing(lambda: s.post("/w/1/roles/new", fields), [("INSERT", "role"), ("INSERT", "audit_event")],
                                "role.create")
        role_id = s.query("SELECT id FROM role WHERE workspace_id = 1 AND name = 'billing'")[0][0]
        edited = [("name", "billing-2"), ("description", ""), ("permission", "api.key.view")]
        self.assertAllOrNothing(lambda: s.post(f"/w/1/roles/{role_id}/edit", edited),
                                [("UPDATE", "role"), ("UPDATE", "gate_state"), ("INSERT", "audit_event")], "role.update")
        self.assertAllOrNothing(lambda: s.post(f"/w/1/roles/{role_id}/delete"),
                                [("DELETE", "role"), ("UPDATE", "gate_state"), ("INSERT", "audit_event")], "role.delete")
        self.assertEqual(s.count("role", "id = ?", (role_id,)), 0)

    # ---- members, invitations, workspaces ----

    def invite(self, email, role="developer"):
        return self.server.post("/w/1/members/invite", [("email", email), ("role", role)])

    def test_invite_and_cancel(self):
        s = self.server
        self.assertStatus(self.invite("carol@example.com"), 200)  # a pending one, which inviting again replaces
        self.assertAllOrNothing(lambda: self.invite("carol@example.com"),
                                [("DELETE", "invitation"), ("INSERT", "invitation"), ("INSERT", "audit_event")],
                                "member.invite", success=200)
        invitation = s.query("SELECT id FROM invitation WHERE email_folded = 'carol@example.com'")[0][0]
        self.assertAllOrNothing(lambda: s.post(f"/w/1/invitations/{invitation}/cancel"),
                                [("DELETE", "invitation"), ("INSERT", "audit_event")], "invitation.cancel")

    def test_join_with_a_new_account(self):
        s = self.server
        page = self.invite("dave@example.com")
        self.assertStatus(page, 200)
        link = re.search(r"(/join/[A-Za-z0-9_-]{43})", page.text).group(1)
        password = "dave's long enough password"

        def join():
            return s.post(link, [("password", password), ("password_again", password)], session=False, csrf=False,
                          cookies=False)

        self.assertAllOrNothing(join, [("INSERT", "user"), ("UPDATE", "invitation"), ("INSERT", "membership"),
                                       ("INSERT", "audit_event")], "member.join")
        self.assertEqual(s.query("SELECT m.console_role FROM membership m JOIN user u ON u.id = m.user_id "
                                 "WHERE u.email_folded = 'dave@example.com'"), [("developer",)])

    def test_member_role_and_removal(self):
        s = self.server
        done = s.cli("user", "add", "--email", "erin@example.com", input="erin's long enough password\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        user = s.query("SELECT id FROM user WHERE email_folded = 'erin@example.com'")[0][0]
        self.assertAllOrNothing(lambda: s.post(f"/w/1/members/{user}/role", [("role", "admin")]),
                                [("UPDATE", "membership"), ("INSERT", "audit_event")], "member.role")
        self.assertAllOrNothing(lambda: s.post(f"/w/1/members/{user}/remove"),
                                [("DELETE", "membership"), ("INSERT", "audit_event")], "member.remove")
        self.assertEqual(s.count("membership", "user_id = ?", (user,)), 0)

    def test_workspace(self):
        s = self.server
        names = iter(range(100))
        self.assertAllOrNothing(lambda: s.post("/workspaces", [("name", f"Second {next(names)}")]),
                                [("INSERT", "workspace"), ("INSERT", "role"), ("INSERT", "membership"),
                                 ("INSERT", "audit_event")], "workspace.create")


class KilledWhileCreatingKeysTest(ServerTestCase):
    """kill -9 of the console's processes in the middle of key creation, again and again: every key
    that exists has its key.create line and its networks, every line names a key that exists."""

    KILLS = 25

    def test_every_key_has_its_audit_line(self):
        s = self.server
        fields = s.key_fields("under fire", cidrs=[("10.0.0.0/8", "a"), ("192.0.2.0/24", "b")])
        stop = threading.Event()
        answers = {"created": 0, "failed": 0}

        def create_keys():
            while not stop.is_set():
                try:
                    response = s.post("/w/1/keys/new", fields)
                    answers["created" if response.status == 303 else "failed"] += 1
                except OSError:
                    answers["failed"] += 1

        workers = [threading.Thread(target=create_keys) for _ in range(3)]
        for worker in workers:
            worker.start()
        rng = random.Random(12)
        killed = 0
        try:
            deadline = time.time() + 120
            while killed < self.KILLS and time.time() < deadline:
                time.sleep(rng.uniform(0.02, 0.25))
                for pid in s.backend_pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed += 1
                    except ProcessLookupError:
                        pass
        finally:
            stop.set()
            for worker in workers:
                worker.join(60)
        self.assertGreaterEqual(killed, self.KILLS // 2, "lighttpd did not respawn the console's processes")
        # lighttpd starts new ones; the console works again.
        deadline = time.time() + 30
        while time.time() < deadline and s.get("/w/1/keys").status != 200:
            time.sleep(0.2)
        self.assertStatus(s.get("/w/1/keys"), 200)
        keys = s.count("api_key")
        self.assertGreater(keys, 0, answers)
        self.assertEqual(s.count("api_key k", "NOT EXISTS (SELECT 1 FROM audit_event a WHERE a.action = 'key.create' "
                                              "AND a.target_id = k.key_id)"), 0, "a key without its audit line")
        self.assertEqual(s.count("audit_event a", "a.action = 'key.create' AND NOT EXISTS "
                                                  "(SELECT 1 FROM api_key k WHERE k.key_id = a.target_id)"), 0,
                         "an audit line for a key that was never saved")
        self.assertEqual(s.count("api_key k", "(SELECT count(*) FROM api_key_cidr c WHERE c.api_key_id = k.id) <> 2"), 0,
                         "a key with some of its networks")
        if not ON_POSTGRESQL:  # SQLite's check of its own file; PostgreSQL has no such statement
            self.assertEqual(s.query("PRAGMA integrity_check"), [("ok",)])
        print(f"\n  {killed} kills; {answers['created']} keys created, {answers['failed']} requests failed; "
              f"{keys} keys saved, each with its line")
