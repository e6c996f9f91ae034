"""test_cli_keys.py: `keyward key show | edit | disable | enable | revoke` (issue 15, item 11), the
command line's parity with the console's key pages, through the binary on a served database.

Each command's success and its audit line (actor "command line"), the refusals (an unknown key, a
key of another workspace, a revoked key edited or enabled, a value the console's edit form refuses,
with the console's own message, and nothing changed), wrong command lines (exit 2, before the
database is opened), and that `key show` prints no secret, only its last four characters.
"""
import html
import os
import re
import secrets
import subprocess
import unittest

from harness import BIN, TEMPLATES, ServerTestCase

UNKNOWN = "key_AAAAAAAAAAAAAAAA"


def unique(label):
    return f"{label} {secrets.token_hex(4)}"


def key_id_of(token):
    return "key_" + token.split("_")[2]


class KeyCommandsTest(ServerTestCase):

    def make_key(self, *args):
        token = self.server.create_key_cli(unique("CLI key"), *args)
        return key_id_of(token), token

    def audit(self, key_id, action):
        return self.server.query("SELECT actor_label, summary FROM audit_event WHERE target_id = ? AND action = ? "
                                 "ORDER BY id", (key_id, action))

    def assertRefused(self, done, message):
        self.assertEqual(done.returncode, 1, (done.stdout, done.stderr))
        self.assertIn(message, done.stderr)
        self.assertEqual(done.stdout, "")

    def test_show_prints_the_key_and_no_secret(self):
        key_id, token = self.make_key("--cidr", "203.0.113.0/24=Office", "--cidr", "2001:db8::/32",
                                      "--postback-url", "https://example.com/hooks", "--note", "first\nsecond",
                                      "--expires", "2099-12-31 18:30", "--off-record")
        shown = self.server.cli("key", "show", "--key-id", key_id)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        out = shown.stdout
        for line in (f"key ID:        {key_id}", "state:         enabled", "role:          read-only",
                     "networks:      203.0.113.0/24  Office", "               2001:db8::/32",
                     "POSTback URL:  https://example.com/hooks", "record:        off the record",
                     "expires:       2099-12-31 18:30 UTC", "note:          first\n               second",
                     "last used:     never", f"secret:        …{token[-4:]}"):
            self.assertIn(line, out)
        self.assertRegex(out, r"created: +\d{4}-\d\d-\d\d \d\d:\d\d UTC by command line")
        secret = token.split("_", 3)[3]
        self.assertNotIn(secret[:-4], out + shown.stderr)
        self.assertNotIn(token, out + shown.stderr)
        # A roll with an overlap: the previous secret is named by its last four and its end.
        rolled = self.server.cli("key", "roll", "--key-id", key_id, "--overlap", "1h")
        self.assertEqual(rolled.returncode, 0, rolled.stderr)
        again = self.server.cli("key", "show", "--key-id", key_id).stdout
        self.assertIn(f"previous:      …{token[-4:]} works until ", again)
        self.assertNotIn(rolled.stdout.strip(), again)

    def test_edit_changes_only_what_is_given(self):
        key_id, _ = self.make_key("--cidr", "203.0.113.0/24=Office", "--note", "kept", "--expires", "2099-01-01")
        before = self.server.key_row(key_id)
        edited = self.server.cli("key", "edit", "--key-id", key_id, "--name", "Renamed by CLI", "--role", "admin")
        self.assertEqual(edited.returncode, 0, edited.stderr)
        self.assertIn("name: “", edited.stdout)
        self.assertIn("→ “Renamed by CLI”", edited.stdout)
        self.assertIn("role: read-only → admin", edited.stdout)
        row = self.server.key_row(key_id)
        self.assertEqual(row["name"], "Renamed by CLI")
        for kept in ("note", "expires_at", "off_record", "enabled", "postback_url"):
            self.assertEqual(row[kept], before[kept], kept)
        self.assertEqual(self.server.key_cidrs(key_id), [("203.0.113.0/24", "Office")])
        lines = self.audit(key_id, "key.update")
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0][0], "command line")
        self.assertIn("role: read-only → admin", lines[0][1])
        # The same again: nothing to change, no second line, and it says so.
        again = self.server.cli("key", "edit", "--key-id", key_id, "--name", "Renamed by CLI", "--role", "admin")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("nothing was changed", again.stderr)
        self.assertEqual(len(self.audit(key_id, "key.update")), 1)

        # Any --cidr replaces the whole list; --no-cidrs empties it; "" clears the URL and the note.
        replaced = self.server.cli("key", "edit", "--key-id", key_id, "--cidr", "198.51.100.7", "--cidr",
                                   "10.0.0.0/8=Lab", "--postback-url", "https://example.org/h", "--on-record")
        self.assertEqual(replaced.returncode, 0, replaced.stderr)
        self.assertEqual(self.server.key_cidrs(key_id), [("198.51.100.7/32", ""), ("10.0.0.0/8", "Lab")])
        self.assertEqual(self.server.key_row(key_id)["postback_url"], "https://example.org/h")
        cleared = self.server.cli("key", "edit", "--key-id", key_id, "--no-cidrs", "--postback-url", "",
                                  "--note", "", "--no-expiry", "--off-record")
        self.assertEqual(cleared.returncode, 0, cleared.stderr)
        row = self.server.key_row(key_id)
        self.assertEqual(self.server.key_cidrs(key_id), [])
        self.assertEqual((row["postback_url"], row["note"], row["expires_at"] or 0, bool(row["off_record"])),
                         ("", "", 0, True))

    def test_edit_keeps_a_past_expiry_as_the_console_does(self):
        key_id, _ = self.make_key("--expires", "2099-01-01")
        self.server.execute("UPDATE api_key SET expires_at = 1000000000 WHERE key_id = ?", (key_id,))
        kept = self.server.cli("key", "edit", "--key-id", key_id, "--name", "Still expired")
        self.assertEqual(kept.returncode, 0, kept.stderr)
        self.assertEqual(self.server.key_row(key_id)["expires_at"], 1000000000)
        moved = self.server.cli("key", "edit", "--key-id", key_id, "--expires", "2001-01-01")
        self.assertRefused(moved, "The expiry must be in the future (UTC)")

    def test_edit_refuses_what_the_console_refuses_with_its_message(self):
        server = self.server
        key_id, _ = self.make_key()
        # The console's edit form, given the same bad network: its message is the command line's.
        page = server.post(f"/w/1/keys/{key_id}/edit",
                           server.key_fields("Console", role="read-only", cidrs=[("10.0.0.1/8", "")]) +
                           [("action", "save")])
        self.assertEqual(page.status, 422)
        console = " ".join(html.unescape(text) for text in page.doc.field_errors().values())
        self.assertIn("10.0.0.1/8 has bits set past its prefix; did you mean 10.0.0.0/8?", console)
        before = server.snapshot()
        for args, message in (
                (["--cidr", "10.0.0.1/8"], "10.0.0.1/8 has bits set past its prefix; did you mean 10.0.0.0/8?"),
                (["--cidr", "not-a-network"], "Not an IPv4 or IPv6 network."),
                (["--name", "  "], "Enter a name for this key."),
                (["--name", "x" * 101], "The name is too long: at most 100 characters."),
                (["--postback-url", "ftp://example.com/"], "The POSTback URL must be an absolute http:// or https://"),
                (["--expires", "tomorrow"], "Write the expiry as a date and time in UTC"),
                (["--note", "bell\a"], "The note cannot hold control characters"),
                (["--role", "no such role"], 'there is no role named "no such role"')):
            with self.subTest(args=args):
                done = server.cli("key", "edit", "--key-id", key_id, *args)
                self.assertRefused(done, message)
                self.assertIn("nothing was changed", done.stderr)
        self.assertEqual(server.snapshot(), before)

    def test_disable_enable_revoke(self):
        server = self.server
        key_id, _ = self.make_key()
        off = server.cli("key", "disable", "--key-id", key_id)
        self.assertEqual(off.returncode, 0, off.stderr)
        self.assertIn(f"disabled {key_id}", off.stderr)
        self.assertFalse(server.key_row(key_id)["enabled"])
        again = server.cli("key", "disable", "--key-id", key_id)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("was disabled already; nothing was changed", again.stderr)
        on = server.cli("key", "enable", "--key-id", key_id)
        self.assertEqual(on.returncode, 0, on.stderr)
        self.assertTrue(server.key_row(key_id)["enabled"])
        self.assertEqual(self.audit(key_id, "key.disable"), [("command line", "state: enabled → disabled")])
        self.assertEqual(self.audit(key_id, "key.enable"), [("command line", "state: disabled → enabled")])

        revoked = server.cli("key", "revoke", "--key-id", key_id)
        self.assertEqual(revoked.returncode, 0, revoked.stderr)
        self.assertIn(f"revoked {key_id}: it no longer works, for good", revoked.stderr)
        self.assertNotEqual(server.key_row(key_id)["revoked_at"], 0)
        self.assertEqual([actor for actor, _ in self.audit(key_id, "key.revoke")], ["command line"])
        self.assertIn("state:         revoked", server.cli("key", "show", "--key-id", key_id).stdout)

        before = server.snapshot()
        refusal = "that key was revoked and can no longer be changed; nothing was changed"
        for args in (["enable"], ["disable"], ["revoke"], ["edit", "--name", "Again"]):
            with self.subTest(args=args):
                self.assertRefused(server.cli("key", args[0], "--key-id", key_id, *args[1:]), refusal)
        self.assertEqual(server.snapshot(), before)
        # The console refuses the same key in the same words.
        page = server.get(f"/w/1/keys/{key_id}/edit")
        self.assertEqual(page.status, 409)
        self.assertIn("This key was revoked and can no longer be changed.", page.text)

    def test_unknown_key_and_other_workspace(self):
        server = self.server
        other = server.create_workspace(unique("CLI other"))
        key_id, _ = self.make_key("--workspace", str(other))
        before = server.snapshot()
        for words in (["show"], ["edit", "--name", "X"], ["disable"], ["enable"], ["revoke"]):
            for key, workspace in ((UNKNOWN, "1"), (key_id, "1"), (UNKNOWN, str(other))):
                with self.subTest(words=words, key=key, workspace=workspace):
                    done = server.cli("key", words[0], "--key-id", key, "--workspace", workspace, *words[1:])
                    self.assertRefused(done, f"workspace {workspace} has no key {key}")
        self.assertEqual(server.snapshot(), before)
        shown = server.cli("key", "show", "--key-id", key_id, "--workspace", str(other))
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn(f"key ID:        {key_id}", shown.stdout)

    def test_wrong_command_lines_exit_2_before_the_database(self):
        for args, message in (
                (["show"], "--key-id is needed"),
                (["edit", "--name", "X"], "--key-id is needed"),
                (["edit", "--key-id", UNKNOWN], "say what to change"),
                (["edit", "--key-id", UNKNOWN, "--off-record", "--on-record"], "exclude each other"),
                (["edit", "--key-id", UNKNOWN, "--expires", "2099-01-01", "--no-expiry"], "exclude each other"),
                (["edit", "--key-id", UNKNOWN, "--cidr", "10.0.0.0/8", "--no-cidrs"], "exclude each other"),
                (["edit", "--key-id", UNKNOWN, "--name", "A", "--name", "B"], "--name is given twice"),
                (["disable", "--key-id", UNKNOWN, "--force"], "unknown option --force"),
                (["revoke"], "--key-id is needed"),
                (["enable", "--key-id", UNKNOWN, "--workspace", "zero"], "--workspace takes a whole number")):
            with self.subTest(args=args):
                # A database that does not exist: exit 2 says the options were checked first.
                done = subprocess.run([BIN, "--db", "/nonexistent-folder/none.db", "key", *args],
                                      env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES), capture_output=True,
                                      text=True, timeout=60, stdin=subprocess.DEVNULL)
                self.assertEqual(done.returncode, 2, (done.stdout, done.stderr))
                self.assertIn(message, done.stderr)
                self.assertRegex(done.stderr, re.escape(f"keyward: key {args[0]}: "))
                self.assertNotIn("no database", done.stderr)


if __name__ == "__main__":
    unittest.main()
