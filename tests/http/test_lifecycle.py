"""test_lifecycle.py: a key's life in time (issue 15, items 1 and 2): a secret rolled with an
overlap, and an expiry, through real servers.

RollConsoleTest and ExpiryConsoleTest drive the console (lighttpd, JavaScript off): the regenerate
page's overlap choice, the key page's "stops working in" and its calls in the last hour, End overlap
now, the audit lines; the expiry field on create and edit (refused in the past, typed values kept),
the list's "expires in", the Expiring soon and Expired filters, the dashboard's warning.
LifecycleCommandLineTest: `keyward key roll` and `key create --expires`.

The Lighttpd/Apache/Nginx LifecycleGateTest classes put the gatekeeper in front of the sample API
(harness.GatekeeperServer): during an overlap both secrets pass and the API is told which one came
(KEYWARD_KEY_SECRET, X-Keyward-Key-Secret); after it the old one is refused as an unknown key; an
expired key is refused with 401 `expired` and its date, before the API sees anything.

A moment past (an overlap's end, an expiry) is made by writing the time into the row with SQL, as
an operator could; that the gatekeeper needs no such write when the moment comes by itself is
tests/unit/test_verify.c's (a clock it can set).
"""
import calendar
import json
import re
import secrets
import time
import unittest

from harness import (ON_POSTGRESQL, ApacheGatekeeper, LighttpdGatekeeper, NginxGatekeeper, ServerTestCase,
                     TOKEN_PATTERN, secret_from)

HOUR = 3600
DAY = 86400


def unique(label):
    return f"{label} {secrets.token_hex(4)}"


def key_id_of(token):
    return "key_" + token.split("_")[2]


def utc_minute(unix_time):
    """"2027-01-31 18:00 UTC", as keyward writes a time."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(unix_time))


def field_time(unix_time):
    """A datetime-local field's value: "2027-01-31T18:00"."""
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(unix_time))


class ConsoleHelpers:

    def roll(self, key_id, overlap):
        """Regenerate through the form with `overlap` ("0", "1h", ...); returns the new secret."""
        rolled = self.server.post(f"/w/1/keys/{key_id}/regenerate", [("overlap", overlap)])
        self.assertStatus(rolled, 303)
        page = self.server.follow(rolled)
        self.assertStatus(page, 200)
        secret = secret_from(page.text)
        self.assertRegex(secret, TOKEN_PATTERN)
        return rolled, page, secret

    def audit_summaries(self, key_id, action):
        return [row[0] for row in self.server.query(
            "SELECT summary FROM audit_event WHERE target_id = ? AND action = ? ORDER BY id", (key_id, action))]


class RollConsoleTest(ConsoleHelpers, ServerTestCase):

    def test_the_regenerate_page_offers_the_overlaps(self):
        key_id, _ = self.server.create_key(unique("Offered"))
        page = self.server.get(f"/w/1/keys/{key_id}/regenerate")
        self.assertStatus(page, 200)
        radios = [element for element in page.doc.find_all("input") if element.get("name") == "overlap"]
        self.assertEqual([radio.get("value") for radio in radios], ["0", "1h", "24h", "7d"])
        self.assertEqual([radio.has("checked") for radio in radios], [True, False, False, False])
        for label in ("None: the old secret stops working at once", "1 hour", "24 hours", "7 days"):
            self.assertIn(label, page.text)

    def test_an_unknown_overlap_changes_nothing_and_says_why(self):
        key_id, _ = self.server.create_key(unique("Odd overlap"))
        before = self.server.snapshot()
        refused = self.server.post(f"/w/1/keys/{key_id}/regenerate", [("overlap", "2h")])
        self.assertStatus(refused, 422)
        self.assertIn("Choose how long the current secret keeps working: none, 1 hour, 24 hours or 7 days.",
                      refused.text)
        first = refused.doc.by_id("overlap-0")
        self.assertTrue(first.has("autofocus"))
        self.assertEqual(self.server.snapshot(), before)

    def test_no_overlap_stops_the_old_secret_as_before(self):
        key_id, _ = self.server.create_key(unique("Plain regenerate"))
        rolled, page, _ = self.roll(key_id, "0")
        self.assertIn("done=regenerated", rolled.header("Location"))
        self.assertIn("The old secret has stopped working.", page.text)
        row = self.server.key_row(key_id)
        self.assertIsNone(row["previous_secret_hash"])
        self.assertIsNone(row["previous_secret_until"])
        self.assertEqual(self.audit_summaries(key_id, "key.regenerate"),
                         ["secret regenerated: the old one no longer works"])
        shown = self.server.get(f"/w/1/keys/{key_id}")
        self.assertNotIn("End overlap now", shown.text)

    def test_roll_with_an_overlap_then_end_it_by_hand(self):
        server = self.server
        key_id, _ = server.create_key(unique("Rolled"))
        old_hint = server.key_row(key_id)["secret_hint"]
        before = int(time.time())
        rolled, page, secret = self.roll(key_id, "24h")
        after = int(time.time())
        self.assertIn("done=rolled", rolled.header("Location"))
        self.assertIn("The old secret keeps working until the overlap you chose ends.", page.text)
        row = server.key_row(key_id)
        self.assertEqual(row["previous_secret_hint"], old_hint)
        self.assertEqual(row["secret_hint"], secret[-4:])
        self.assertTrue(before + DAY <= row["previous_secret_until"] <= after + DAY, row)
        self.assertIsNotNone(row["previous_secret_hash"])
        self.assertNotEqual(row["previous_secret_hash"], row["secret_hash"])
        [summary] = self.audit_summaries(key_id, "key.regenerate")
        self.assertEqual(summary, f"secret rolled with an overlap of 1 day: the old one (…{old_hint}) works until "
                                  f"{utc_minute(row['previous_secret_until'])}")
        self.assertNotIn(secret, json.dumps(server.query("SELECT * FROM audit_event", ())))

        closed = server.post(f"/w/1/keys/{key_id}/secret", [("done", "rolled"), ("copied", "1")])
        self.assertEqual(closed.header("Location"), f"/w/1/keys/{key_id}?done=rolled")
        shown = server.follow(closed)
        self.assertIn("Secret rolled. The previous secret keeps working until the overlap ends", shown.text)
        overlap = shown.doc.find_all("section", class_="panel overlap")
        self.assertEqual(len(overlap), 1, shown.text)
        # 1 day when the page is made in the second of the roll, else 23 h: whichever, never more.
        self.assertRegex(shown.text, rf"The previous secret <code>…{re.escape(old_hint)}</code> stops working in "
                                     rf"(1 day|23 h) \({re.escape(utc_minute(row['previous_secret_until']))}\)")
        self.assertIn("No calls used the previous secret in the last hour", shown.text)

        # Rolling again during the overlap says that the older previous secret stops at once.
        again = server.get(f"/w/1/keys/{key_id}/regenerate")
        self.assertIn(f"The previous secret <code>…{old_hint}</code> of an earlier roll stops working at once",
                      again.text)

        ended = server.post(f"/w/1/keys/{key_id}/end-overlap", [])
        self.assertStatus(ended, 303)
        self.assertEqual(ended.header("Location"), f"/w/1/keys/{key_id}?done=overlap-ended")
        page = server.follow(ended)
        self.assertIn("Overlap ended. The previous secret no longer works.", page.text)
        self.assertNotIn("End overlap now", page.text)
        row = server.key_row(key_id)
        self.assertIsNone(row["previous_secret_hash"])
        self.assertIsNone(row["previous_secret_hint"])
        self.assertIsNone(row["previous_secret_until"])
        self.assertEqual(self.audit_summaries(key_id, "key.overlap_end"),
                         [f"overlap ended by hand: the previous secret …{old_hint} no longer works"])
        self.assertIn("<td data-label=\"What\">Overlap ended</td>", page.text)
        # Ending it again is no change and no second line, and the page says so.
        again = server.post(f"/w/1/keys/{key_id}/end-overlap", [])
        self.assertStatus(again, 303)
        self.assertEqual(again.header("Location"), f"/w/1/keys/{key_id}?done=no-overlap")
        self.assertIn("There was no overlap to end: the previous secret had stopped already. Nothing was changed.",
                      server.follow(again).text)
        self.assertEqual(len(self.audit_summaries(key_id, "key.overlap_end")), 1)

    def test_a_rolled_secret_finds_its_key_while_the_overlap_lasts(self):
        # The list's find by secret (POST /keys/find) takes the previous secret as the gatekeeper does.
        server = self.server
        key_id, old = server.create_key(unique("Found rolled"))
        _, _, fresh = self.roll(key_id, "1h")

        def find(secret):
            return server.post("/w/1/keys/find", [("q", secret), ("status", ""), ("role", "")])

        for secret in (fresh, old):
            found = find(secret)
            self.assertStatus(found, 303)
            self.assertEqual(found.header("Location"), f"/w/1/keys/{key_id}?done=found")
        # Past the overlap's end (its hash still in the row): no key has it any more.
        server.execute("UPDATE api_key SET previous_secret_until = ? WHERE key_id = ?", (int(time.time()) - 1, key_id))
        self.assertStatus(find(old), 404)
        self.assertEqual(find(fresh).header("Location"), f"/w/1/keys/{key_id}?done=found")

    def test_end_overlap_needs_the_csrf_token(self):
        key_id, _ = self.server.create_key(unique("Forged end"))
        self.roll(key_id, "1h")
        before = self.server.snapshot()
        forged = self.server.post(f"/w/1/keys/{key_id}/end-overlap", [("csrf", "forged")])
        self.assertStatus(forged, 403)
        self.assertEqual(self.server.snapshot(), before)

    def test_an_off_the_record_key_does_not_count_its_calls(self):
        key_id, _ = self.server.create_key(unique("Quiet roll"), off_record=True)
        self.roll(key_id, "7d")
        page = self.server.get(f"/w/1/keys/{key_id}")
        self.assertRegex(page.text, "stops working in (7|6) days")
        self.assertIn("Calls with it are not counted: this key is off the record.", page.text)


class ExpiryConsoleTest(ConsoleHelpers, ServerTestCase):

    def test_create_with_an_expiry_and_see_it_everywhere(self):
        server = self.server
        name = unique("Trial")
        expires = (int(time.time()) // 60 + 3 * 24 * 60 + 90) * 60  # 3 days, 1.5 h ahead, on the minute
        created = server.post("/w/1/keys/new", server.key_fields(name) + [("expires_at", field_time(expires))])
        self.assertStatus(created, 303)
        key_id = re.search(r"/keys/(key_[A-Za-z0-9]+)/secret", created.header("Location")).group(1)
        self.assertEqual(server.key_row(key_id)["expires_at"], expires)
        [summary] = [row[0] for row in server.query(
            "SELECT summary FROM audit_event WHERE target_id = ? AND action = 'key.create'", (key_id,))]
        self.assertTrue(summary.endswith(f"; expires {utc_minute(expires)}"), summary)

        page = server.get(f"/w/1/keys/{key_id}")
        self.assertIn(f"{utc_minute(expires)} <span class=\"muted\">(expires in 3 days)</span>", page.text)
        listed = server.get("/w/1/keys?q=" + name.split()[1])
        self.assertIn("expires in 3 days", listed.text)
        self.assertIn(key_id, server.list_key_ids("status=expiring"))
        self.assertNotIn(key_id, server.list_key_ids("status=expired"))
        dashboard = server.get("/w/1/")
        self.assertStatus(dashboard, 200)
        self.assertIsNotNone(dashboard.doc.by_id("expiry-warning"), dashboard.text[:3000])
        self.assertRegex(dashboard.text, r"\d+ keys? expires? within 7 days")

        # The edit form starts from the stored expiry, and keeps it when saved unchanged.
        edit = server.get(f"/w/1/keys/{key_id}/edit")
        self.assertEqual(edit.doc.value("expires_at"), field_time(expires))
        saved = server.post(f"/w/1/keys/{key_id}/edit",
                            server.key_fields(name) + [("expires_at", field_time(expires)), ("action", "save")])
        self.assertStatus(saved, 303)
        self.assertEqual(server.key_row(key_id)["expires_at"], expires)
        # Emptied: never expires, and the change is in the audit line.
        saved = server.post(f"/w/1/keys/{key_id}/edit", server.key_fields(name) + [("expires_at", ""), ("action", "save")])
        self.assertStatus(saved, 303)
        self.assertIsNone(server.key_row(key_id)["expires_at"])
        [change] = [row[0] for row in server.query(
            "SELECT summary FROM audit_event WHERE target_id = ? AND action = 'key.update' ORDER BY id DESC", (key_id,))][:1]
        self.assertEqual(change, f"expires: {utc_minute(expires)} → never")
        self.assertIn("<span class=\"muted\">Never</span>", server.get(f"/w/1/keys/{key_id}").text)

    def test_new_key_like_this_one_leaves_the_expiry_empty(self):
        # The model's expiry is its own (and may be past): the new key starts with none.
        server = self.server
        name = unique("Modelled")
        expires = (int(time.time()) // 60 + 2 * 24 * 60) * 60
        created = server.post("/w/1/keys/new", server.key_fields(name) + [("expires_at", field_time(expires))])
        self.assertStatus(created, 303)
        key_id = re.search(r"/keys/(key_[A-Za-z0-9]+)/secret", created.header("Location")).group(1)
        server.execute("UPDATE api_key SET expires_at = ? WHERE key_id = ?", (int(time.time()) - HOUR, key_id))
        like = server.get(f"/w/1/keys/new?like={key_id}")
        self.assertStatus(like, 200)
        self.assertEqual(like.doc.value("expires_at"), "")
        self.assertIsNone(like.doc.by_id("expires-error"))

    def test_an_expiry_in_the_past_is_refused_and_everything_typed_is_kept(self):
        server = self.server
        name = unique("Too late")
        before = server.snapshot()
        past = field_time(int(time.time()) - DAY)
        refused = server.post("/w/1/keys/new", server.key_fields(name, cidrs=[("192.0.2.0/24", "Office")],
                                                                  postback_url="https://example.com/h")
                              + [("expires_at", past)])
        self.assertStatus(refused, 422)
        self.assertEqual(server.snapshot(), before)
        self.assertIn("The expiry must be in the future (UTC). To stop the key now, disable or revoke it.", refused.text)
        self.assertEqual(refused.doc.value("expires_at"), past)
        self.assertEqual(refused.doc.value("name"), name)
        self.assertEqual(refused.doc.value("postback_url"), "https://example.com/h")
        self.assertEqual(refused.doc.values("cidr")[:1], ["192.0.2.0/24"])
        self.assertTrue(refused.doc.by_id("expires_at").has("autofocus"))
        self.assertEqual(refused.doc.by_id("expires_at").get("aria-invalid"), "true")

        garbled = server.post("/w/1/keys/new", server.key_fields(name) + [("expires_at", "next friday")])
        self.assertStatus(garbled, 422)
        self.assertIn("Write the expiry as a date and time in UTC, such as 2027-01-31 18:00", garbled.text)
        self.assertEqual(garbled.doc.value("expires_at"), "next friday")
        self.assertEqual(server.snapshot(), before)

    def test_an_expired_key_is_listed_and_warned_about(self):
        server = self.server
        name = unique("Ran out")
        key_id, _ = server.create_key(name)
        server.execute("UPDATE api_key SET expires_at = ? WHERE key_id = ?", (int(time.time()) - 2 * HOUR - 30, key_id))
        self.assertIn(key_id, server.list_key_ids("status=expired"))
        self.assertNotIn(key_id, server.list_key_ids("status=expiring"))
        self.assertIn(key_id, server.list_key_ids())  # still active until revoked
        listed = server.get("/w/1/keys?status=expired")
        self.assertIn("badge-expired", listed.text)
        self.assertIn("expired 2 h ago", listed.text)
        self.assertRegex(server.get("/w/1/").text, r"\d+ keys? (has|have) expired")
        # The edit form may be saved with the past expiry it has; another past one is refused.
        edit = server.get(f"/w/1/keys/{key_id}/edit")
        kept = server.post(f"/w/1/keys/{key_id}/edit", server.key_fields(name + " (renamed)") +
                           [("expires_at", edit.doc.value("expires_at")), ("action", "save")])
        self.assertStatus(kept, 303)
        moved = server.post(f"/w/1/keys/{key_id}/edit", server.key_fields(name) +
                            [("expires_at", field_time(int(time.time()) - 5 * DAY)), ("action", "save")])
        self.assertStatus(moved, 422)
        server.post(f"/w/1/keys/{key_id}/revoke", [])
        self.assertNotIn(key_id, server.list_key_ids("status=expired"))


class LifecycleCommandLineTest(ServerTestCase):

    def test_key_create_expires_and_key_roll(self):
        server = self.server
        made = server.cli("key", "create", "--name", unique("CLI trial"), "--expires", "2099-12-31 18:30")
        self.assertEqual(made.returncode, 0, made.stderr)
        key_id = key_id_of(made.stdout.strip())
        self.assertEqual(server.key_row(key_id)["expires_at"], calendar.timegm((2099, 12, 31, 18, 30, 0)))

        bad = server.cli("key", "create", "--name", unique("CLI bad"), "--expires", "2001-01-01")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("The expiry must be in the future (UTC)", bad.stderr)
        self.assertEqual(bad.stdout, "")

        odd = server.cli("key", "roll", "--key-id", key_id, "--overlap", "2h")
        self.assertNotEqual(odd.returncode, 0)
        self.assertIn("--overlap is one of 0, 1h, 24h and 7d", odd.stderr)

        old_hint = server.key_row(key_id)["secret_hint"]
        rolled = server.cli("key", "roll", "--key-id", key_id, "--overlap", "1h")
        self.assertEqual(rolled.returncode, 0, rolled.stderr)
        token = rolled.stdout.strip()
        self.assertRegex(token, TOKEN_PATTERN)
        self.assertEqual(key_id_of(token), key_id)
        self.assertNotIn(token, rolled.stderr)
        self.assertIn(f"keyward: rolled {key_id}; the old secret works until ", rolled.stderr)
        row = server.key_row(key_id)
        self.assertEqual((row["secret_hint"], row["previous_secret_hint"]), (token[-4:], old_hint))
        self.assertEqual(server.query("SELECT actor_label FROM audit_event WHERE target_id = ? AND action = "
                                      "'key.regenerate'", (key_id,)), [("command line",)])

        unknown = server.cli("key", "roll", "--key-id", "key_AAAAAAAAAAAAAAAA")
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("workspace 1 has no key key_AAAAAAAAAAAAAAAA; nothing was changed", unknown.stderr)


class LifecycleGateChecks:
    """For a ServerTestCase whose server_class is a harness.GatekeeperServer."""

    def call(self, path, token):
        return self.server.raw_request("GET", path, [("Authorization", "Bearer " + token)], None)

    def granted(self, path, token):
        before = len(self.server.backend_requests())
        response = self.call(path, token)
        self.assertEqual(response.status, 200, response.text[:500])
        seen = self.server.backend_requests()
        self.assertEqual(len(seen), before + 1)
        return seen[-1]

    def refused(self, path, token, status, body):
        """Expect the refusal, allowing PostgreSQL's notification its second to reach the gatekeeper."""
        deadline = time.monotonic() + 1
        while True:
            before = len(self.server.backend_requests())
            response = self.call(path, token)
            if not (ON_POSTGRESQL and response.status == 200 and time.monotonic() < deadline):
                break
            time.sleep(0.01)
        self.assertEqual(response.status, status, response.text[:500])
        self.assertEqual(json.loads(response.text), body)
        self.assertEqual(response.header("WWW-Authenticate"), 'Bearer realm="api"')
        self.assertEqual(len(self.server.backend_requests()), before, "the API saw a refused request")

    def test_both_secrets_pass_during_the_overlap_and_the_api_learns_which(self):
        server = self.server
        old = server.create_key_cli(unique("Rolling"))
        key_id = key_id_of(old)
        rolled = server.cli("key", "roll", "--key-id", key_id, "--overlap", "24h")
        self.assertEqual(rolled.returncode, 0, rolled.stderr)
        new = rolled.stdout.strip()
        self.assertEqual(self.granted("/protected/a", new)["KEYWARD_KEY_SECRET"], "current")
        for _ in range(3):
            seen = self.granted("/protected/b", old)
            self.assertEqual((seen["KEYWARD_KEY_ID"], seen["KEYWARD_KEY_SECRET"]), (key_id, "previous"))
        if server.kind in ("apache", "nginx"):
            api = server.http_api
            self.assertEqual(self.call("/protected/http/c", old).status, 200)
            headers = {name.lower(): value for name, value in api.requests[-1]["headers"].items()}
            self.assertEqual(headers["x-keyward-key-secret"], "previous")
        # The key page counts the calls made with the previous secret (usage is written within a second or so).
        deadline = time.monotonic() + 5
        while True:
            page = server.get(f"/w/1/keys/{key_id}")
            if re.search(r"<strong>[3-9] calls</strong> used the previous secret", page.text) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertRegex(page.text, r"<strong>[3-9] calls</strong> used the previous secret in the last hour")

        # The overlap over (its end written into the row, as if the time had come): the old secret is unknown.
        server.execute("UPDATE api_key SET previous_secret_until = ? WHERE key_id = ?", (int(time.time()) - 1, key_id))
        self.refused("/protected/d", old, 401, {"code": "invalid_key", "message": "The API key is not valid"})
        self.assertEqual(self.granted("/protected/e", new)["KEYWARD_KEY_SECRET"], "current")

    def test_an_expired_key_is_refused_with_its_date(self):
        server = self.server
        token = server.create_key_cli(unique("Expiring"), "--expires", "2099-01-01")
        key_id = key_id_of(token)
        self.assertEqual(self.granted("/protected/f", token)["KEYWARD_KEY_ID"], key_id)
        when = int(time.time()) - 3 * HOUR
        server.execute("UPDATE api_key SET expires_at = ? WHERE key_id = ?", (when, key_id))
        self.refused("/protected/g", token, 401, {"code": "expired", "message": f"Key expired on {utc_minute(when)}"})
        # The verify endpoint says the same, for the expired key and for an expired caller.
        checker = server.create_key_cli(unique("Checker"), "--role", "admin")
        response = server.raw_request("POST", server.console_path("/api/v1/keys/verify"),
                                      [("Authorization", "Bearer " + checker), ("Content-Type", "application/json")],
                                      json.dumps({"key": token}).encode())
        self.assertEqual(response.status, 200, response.text)
        answer = json.loads(response.text)
        self.assertEqual((answer["valid"], answer["code"], answer["message"], answer["key_id"]),
                         (False, "expired", f"Key expired on {utc_minute(when)}", key_id))
        response = server.raw_request("POST", server.console_path("/api/v1/keys/verify"),
                                      [("Authorization", "Bearer " + token), ("Content-Type", "application/json")],
                                      json.dumps({"key": checker}).encode())
        self.assertEqual(response.status, 401, response.text)
        self.assertEqual(json.loads(response.text),
                         {"error": {"code": "expired", "message": f"Key expired on {utc_minute(when)}"}})


class LighttpdLifecycleGateTest(LifecycleGateChecks, ServerTestCase):
    server_class = LighttpdGatekeeper


class ApacheLifecycleGateTest(LifecycleGateChecks, ServerTestCase):
    server_class = ApacheGatekeeper


class NginxLifecycleGateTest(LifecycleGateChecks, ServerTestCase):
    server_class = NginxGatekeeper


if __name__ == "__main__":
    unittest.main()
