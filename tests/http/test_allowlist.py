"""test_allowlist.py: the key page's Allowlist tab (issue 15, item 6) through real servers.

AllowlistConsoleTest drives the console (lighttpd, JavaScript off): the tab lists the networks with
their labels; the switch turns the restriction off and on again without losing them (and says so
on the key page and in the list); one network added or removed without the edit form; bad input
(a bad network, none, a label too long or with control characters, a duplicate, a 101st network,
bytes that are not UTF-8) is refused with the message next to its field and everything typed kept,
nothing changed; a repeated switch or a removed network that is gone says "Nothing was changed"
and writes nothing; the audit lines; a revoked key refuses every change; the edit form keeps the
switch as it is. AllowlistRolesTest: a viewer sees the tab without its forms and is refused every
write (403); a developer may make them. AllowlistCommandLineTest: `keyward key edit --allowlist`.

The Lighttpd/Apache/Nginx AllowlistGateTest classes put the gatekeeper in front of the sample API
(harness.GatekeeperServer) and call it from two loopback addresses: the one outside the list is
refused; with the switch off it passes from the next request on (on PostgreSQL within the README's
1 s bound), and is refused again once the switch is back on; a network added on the tab lets its
address through, removed it stops it again.
"""
import json
import re
import secrets
import time
import unittest

from harness import ON_POSTGRESQL, ApacheGatekeeper, LighttpdGatekeeper, NginxGatekeeper, ServerTestCase

PASSWORD = "a long member password"


def unique(label):
    return f"{label} {secrets.token_hex(4)}"


def key_id_of(token):
    return "key_" + token.split("_")[2]


class Person:
    """Someone with a browser of their own: a session cookie and its CSRF token."""

    def __init__(self, server, email):
        self.server = server
        self.email = email
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None):
        if method == "POST":
            body = list(body or []) + ([("csrf", self.csrf)] if self.csrf else [])
        response = self.server.request(method, path, body=body, headers={"Cookie": self.cookie} if self.cookie else {},
                                       cookies=False, session=False, csrf=False)
        for value in response.headers_named("Set-Cookie"):
            if value.startswith("kw_session="):
                self.cookie = value.split(";", 1)[0]
        match = re.search(r'name="csrf" value="([^"]+)"', response.text)
        if match:
            self.csrf = match.group(1)
        return response

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body=None):
        return self.request("POST", path, body)

    def sign_in(self):
        response = self.server.request("POST", "/signin", [("email", self.email), ("password", PASSWORD)],
                                       cookies=False, session=False, csrf=False)
        assert response.status == 303, response.text[:500]
        self.cookie = next(value.split(";", 1)[0] for value in response.headers_named("Set-Cookie")
                           if value.startswith("kw_session="))
        self.get("/w/1/keys")  # a page with forms: the CSRF token


def list_row(page, key_id):
    """The <tr> of the key list that links to `key_id`."""
    rows = [row for row in page.text.split("<tr")[1:] if f"/keys/{key_id}\"" in row]
    assert len(rows) == 1, (key_id, len(rows))
    return rows[0].split("</tr>")[0]


class AllowlistHelpers:

    def make_key(self, name, cidrs=(("203.0.113.0/24", "Office"), ("2001:db8::/32", ""))):
        key_id, _ = self.server.create_key(unique(name), cidrs=cidrs)
        return key_id

    def tab(self, key_id, query=""):
        page = self.server.get(f"/w/1/keys/{key_id}/allowlist{query}")
        self.assertStatus(page, 200)
        return page

    def networks_shown(self, page):
        """(network, label) of each row of the tab's table, as shown."""
        rows = re.findall(r'<td data-label="Network"><code>([^<]*)</code></td><td data-label="Label">(.*?)</td>',
                          page.text)
        return [(cidr, re.sub(r"<[^>]+>", "", label)) for cidr, label in rows]

    def stored(self, key_id):
        return [tuple(row) for row in self.server.key_cidrs(key_id)]

    def switched_on(self, key_id):
        return self.server.key_row(key_id)["allowlist_enabled"] == 1

    def audit(self, key_id, action):
        return [row[0] for row in self.server.query(
            "SELECT summary FROM audit_event WHERE target_id = ? AND action = ? ORDER BY id", (key_id, action))]

    def post(self, key_id, what, fields=()):
        return self.server.post(f"/w/1/keys/{key_id}/allowlist/{what}", list(fields))


class AllowlistConsoleTest(AllowlistHelpers, ServerTestCase):

    def test_the_tab_lists_the_networks_with_their_labels(self):
        key_id = self.make_key("Tabbed", cidrs=(("203.0.113.0/24", "Office <main> & co"), ("2001:db8::/32", "")))
        overview = self.server.get(f"/w/1/keys/{key_id}")
        self.assertIn(f'<a href="/w/1/keys/{key_id}/allowlist">Allowlist</a>', overview.text)
        self.assertIn(f'<a href="/w/1/keys/{key_id}/allowlist">Allowlist</a>',
                      self.server.get(f"/w/1/keys/{key_id}/usage").text)
        page = self.tab(key_id)
        self.assertIn(f'<a href="/w/1/keys/{key_id}/allowlist" aria-current="page">Allowlist</a>', page.text)
        self.assertEqual(self.networks_shown(page), [("203.0.113.0/24", "Office &lt;main&gt; &amp; co"),
                                                      ("2001:db8::/32", "None")])
        self.assertIn("only addresses in the 2 networks below may use this key", page.text)
        self.assertEqual(page.doc.by_id("allowlist-switch").text.strip(), "Switch the allowlist off")
        self.assertEqual(page.doc.values("cidr"), ["203.0.113.0/24", "2001:db8::/32", ""])  # two Remove, one Add
        self.assertIsNone(page.doc.by_id("allowlist-off"))

        open_key = self.make_key("Open", cidrs=())
        page = self.tab(open_key)
        self.assertIn("On, but the list is empty:", page.text)
        self.assertIn("No networks.", page.text)
        self.assertStatus(self.server.get("/w/1/keys/key_AAAAAAAAAAAAAAAA/allowlist"), 404)

    def test_the_switch_turns_the_restriction_off_and_on_keeping_the_networks(self):
        server = self.server
        key_id = self.make_key("Switched")
        networks = self.stored(key_id)
        self.assertTrue(self.switched_on(key_id))

        off = self.post(key_id, "off")
        self.assertStatus(off, 303)
        self.assertEqual(off.header("Location"), f"/w/1/keys/{key_id}/allowlist?done=allowlist-off")
        self.assertFalse(self.switched_on(key_id))
        self.assertEqual(self.stored(key_id), networks)
        page = server.follow(off)
        self.assertIn("Allowlist switched off. Any address may use this key; its networks are kept", page.text)
        self.assertIn("Off: any address may use this key.", page.doc.by_id("allowlist-off").text)
        self.assertEqual(page.doc.by_id("allowlist-switch").text.strip(), "Switch the allowlist on")
        self.assertEqual([cidr for cidr, _ in self.networks_shown(page)], ["203.0.113.0/24", "2001:db8::/32"])
        # The key page and the list say it plainly.
        overview = server.get(f"/w/1/keys/{key_id}")
        self.assertIn("Allowlist switched off: any address may use this key.", overview.doc.by_id("allowlist-off").text)
        self.assertIn("203.0.113.0/24", overview.text)
        other = self.make_key("Still on")
        listed = server.get("/w/1/keys")
        self.assertIn("Allowlist off: any address may use it", list_row(listed, key_id))
        self.assertNotIn("Allowlist off", list_row(listed, other))

        # Off again: nothing changes and the page says so.
        before = server.snapshot()
        again = self.post(key_id, "off")
        self.assertStatus(again, 303)
        self.assertIn("done=was-off", again.header("Location"))
        self.assertIn("The allowlist was switched off already. Nothing was changed.", server.follow(again).text)
        self.assertEqual(server.snapshot(), before)

        on = self.post(key_id, "on")
        self.assertStatus(on, 303)
        self.assertIn("done=allowlist-on", on.header("Location"))
        self.assertTrue(self.switched_on(key_id))
        self.assertEqual(self.stored(key_id), networks)
        self.assertIsNone(server.get(f"/w/1/keys/{key_id}").doc.by_id("allowlist-off"))
        before = server.snapshot()
        self.assertIn("done=was-on", self.post(key_id, "on").header("Location"))
        self.assertEqual(server.snapshot(), before)

        self.assertEqual(self.audit(key_id, "key.allowlist_off"),
                         ["allowlist switched off: any address may use the key; its 2 networks are kept"])
        self.assertEqual(self.audit(key_id, "key.allowlist_on"),
                         ["allowlist switched on: only addresses in its 2 networks may use the key"])
        actors = server.query("SELECT DISTINCT actor_label FROM audit_event WHERE target_id = ? AND action LIKE "
                              "'key.allowlist_%'", (key_id,))
        self.assertEqual(actors, [(server.OWNER_EMAIL,)])
        activity = server.get(f"/w/1/keys/{key_id}").text
        self.assertIn("Allowlist switched off", activity)
        self.assertIn("Allowlist switched on", activity)

    def test_a_network_added_and_removed_without_the_edit_form(self):
        server = self.server
        key_id = self.make_key("Grown")
        added = self.post(key_id, "add", [("cidr", " 198.51.100.7 "), ("label", " Build box ")])
        self.assertStatus(added, 303)
        self.assertEqual(added.header("Location"), f"/w/1/keys/{key_id}/allowlist?done=network-added")
        self.assertIn("Network added.", server.follow(added).text)
        self.assertEqual(self.stored(key_id), [("203.0.113.0/24", "Office"), ("2001:db8::/32", ""),
                                               ("198.51.100.7/32", "Build box")])
        self.assertEqual(self.audit(key_id, "key.network_add"), ["network added: 198.51.100.7/32 (Build box)"])

        removed = self.post(key_id, "remove", [("cidr", "203.0.113.0/24")])
        self.assertStatus(removed, 303)
        self.assertIn("Network removed.", server.follow(removed).text)
        self.assertEqual(self.stored(key_id), [("2001:db8::/32", ""), ("198.51.100.7/32", "Build box")])
        self.assertEqual(self.audit(key_id, "key.network_remove"), ["network removed: 203.0.113.0/24 (Office)"])
        # The edit form shows the same list.
        self.assertEqual(server.get(f"/w/1/keys/{key_id}/edit").doc.values("cidr"),
                         ["2001:db8::/32", "198.51.100.7/32", ""])

        # Gone already (another tab removed it): nothing changes, and the page says so.
        before = server.snapshot()
        gone = self.post(key_id, "remove", [("cidr", "203.0.113.0/24")])
        self.assertStatus(gone, 303)
        self.assertIn("That network is not in the list (any more). Nothing was changed.", server.follow(gone).text)
        nameless = self.post(key_id, "remove", [])
        self.assertIn("done=network-gone", nameless.header("Location"))
        self.assertEqual(server.snapshot(), before)

        # The last ones: the line says what that means.
        self.assertStatus(self.post(key_id, "remove", [("cidr", "2001:db8::/32")]), 303)
        self.assertStatus(self.post(key_id, "remove", [("cidr", "198.51.100.7/32")]), 303)
        self.assertEqual(self.audit(key_id, "key.network_remove")[-1],
                         "network removed: 198.51.100.7/32 (Build box); no networks are left: any address may use "
                         "the key")
        self.assertIn("On, but the list is empty:", self.tab(key_id).text)

    def test_bad_input_is_refused_with_everything_typed_kept(self):
        server = self.server
        key_id = self.make_key("Careful")
        cases = [
            # (cidr typed, label typed, field in error, message)
            ("10.1.2.3/8", "Office 2", "add-cidr", "10.1.2.3/8 has bits set past its prefix; did you mean 10.0.0.0/8?"),
            ("not a network", "x", "add-cidr", "Not an IPv4 or IPv6 network. Write an address such as 203.0.113.7, "
                                               "or a network such as 203.0.113.0/24 or 2001:db8::/32."),
            ("", "", "add-cidr", "Enter a network, such as 203.0.113.0/24, or an address, such as 203.0.113.7."),
            ("   ", "Lonely label", "add-cidr", "Enter the network this label is for, such as 203.0.113.0/24."),
            ("192.0.2.0/24", "é" * 101, "add-label", "The label is too long: at most 100 characters."),
            ("192.0.2.0/24", "two\nlines", "add-label", "The label cannot hold control characters."),
            ("203.0.113.0/24", "Again", "add-cidr", "203.0.113.0/24 is already in the list."),
            ("2001:DB8:0::/32", "", "add-cidr", "2001:db8::/32 is already in the list."),
        ]
        for cidr, label, field, message in cases:
            with self.subTest(cidr=cidr, label=label):
                before = server.snapshot()
                refused = self.post(key_id, "add", [("cidr", cidr), ("label", label)])
                self.assertStatus(refused, 422)
                doc = refused.doc
                self.assertEqual(doc.field_error_for(field), message)
                self.assertEqual(doc.by_id(field).get("aria-invalid"), "true")
                self.assertTrue(doc.by_id(field).has("autofocus"))
                self.assertIn(f'<a href="#{field}">', refused.text)  # the summary links to the field
                self.assertIn("The network was not added", refused.text)
                self.assertEqual(doc.by_id("add-cidr").get("value"), cidr)
                self.assertEqual(doc.by_id("add-label").get("value"), label)
                self.assertEqual(self.networks_shown(refused)[0], ("203.0.113.0/24", "Office"))  # the list as it is
                self.assertEqual(server.snapshot(), before)

        # Bytes that are not UTF-8: the decoder's message next to the field, nothing saved.
        before = server.snapshot()
        refused = server.request("POST", f"/w/1/keys/{key_id}/allowlist/add", raw_body=b"cidr=192.0.2.0%2F24&label=%FF%FE",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertStatus(refused, 422)
        self.assertIsNotNone(refused.doc.field_error_for("add-label"))
        self.assertEqual(refused.doc.by_id("add-cidr").get("value"), "192.0.2.0/24")
        self.assertEqual(server.snapshot(), before)

    def test_a_key_holds_at_most_100_networks(self):
        server = self.server
        key_id = self.make_key("Crowded", cidrs=[(f"10.{i}.0.0/16", f"n{i}") for i in range(100)])
        page = self.tab(key_id)
        self.assertIsNone(page.doc.by_id("add-cidr"))  # no form for a full list
        self.assertIn("This key has 100 networks, as many as a key may have", page.text)
        before = server.snapshot()
        refused = self.post(key_id, "add", [("cidr", "192.0.2.0/24"), ("label", "one too many")])
        self.assertStatus(refused, 422)
        self.assertEqual(refused.doc.field_error_for("add-cidr"),
                         "At most 100 networks per key. Remove one before adding another.")
        self.assertEqual(refused.doc.by_id("add-label").get("value"), "one too many")
        self.assertEqual(server.snapshot(), before)
        self.assertStatus(self.post(key_id, "remove", [("cidr", "10.7.0.0/16")]), 303)
        self.assertStatus(self.post(key_id, "add", [("cidr", "192.0.2.0/24"), ("label", "fits")]), 303)
        self.assertEqual(len(self.stored(key_id)), 100)
        self.assertEqual(self.stored(key_id)[-1], ("192.0.2.0/24", "fits"))

    def test_forms_without_the_sessions_token_change_nothing(self):
        server = self.server
        key_id = self.make_key("Tokened")
        for what, fields in (("off", []), ("on", []), ("add", [("cidr", "192.0.2.0/24")]),
                             ("remove", [("cidr", "203.0.113.0/24")])):
            with self.subTest(what=what):
                before = server.snapshot()
                for token in ([], [("csrf", "A" * 43)]):
                    refused = server.post(f"/w/1/keys/{key_id}/allowlist/{what}", fields + token, csrf=False)
                    self.assertStatus(refused, 403)
                    self.assertIn("has expired or came from another site", refused.text)
                    self.assertEqual(server.snapshot(), before)
                signed_out = server.post(f"/w/1/keys/{key_id}/allowlist/{what}", fields, session=False)
                self.assertStatus(signed_out, 401)
                self.assertEqual(server.snapshot(), before)

    def test_a_revoked_key_refuses_every_change(self):
        server = self.server
        key_id = self.make_key("Revoked")
        self.assertStatus(self.post(key_id, "off"), 303)
        self.assertStatus(server.post(f"/w/1/keys/{key_id}/revoke"), 303)
        page = self.tab(key_id)
        self.assertIn("This key was revoked: its allowlist can no longer be changed.", page.text)
        self.assertIsNone(page.doc.by_id("allowlist-switch"))
        self.assertIsNone(page.doc.by_id("add-cidr"))
        self.assertEqual(page.doc.values("cidr"), [])  # no Remove buttons
        self.assertIsNone(server.get(f"/w/1/keys/{key_id}").doc.by_id("allowlist-off"))  # it cannot be used at all
        before = server.snapshot()
        for what, fields in (("on", []), ("off", []), ("add", [("cidr", "192.0.2.0/24")]),
                             ("remove", [("cidr", "203.0.113.0/24")])):
            with self.subTest(what=what):
                refused = self.post(key_id, what, fields)
                self.assertErrorPage(refused, 409, "This key was revoked and can no longer be changed.")
        self.assertEqual(server.snapshot(), before)

    def test_the_edit_form_keeps_the_switch_as_it_is(self):
        server = self.server
        key_id = self.make_key("Edited")
        self.assertStatus(self.post(key_id, "off"), 303)
        form = server.get(f"/w/1/keys/{key_id}/edit")
        self.assertIn("The allowlist is switched off on the", form.doc.by_id("allowlist-off").text)
        self.assertEqual(form.doc.values("cidr"), ["203.0.113.0/24", "2001:db8::/32", ""])
        fields = server.key_fields("Edited, renamed", cidrs=[("203.0.113.0/24", "Office"), ("192.0.2.0/24", "New")])
        self.assertStatus(server.post(f"/w/1/keys/{key_id}/edit", fields), 303)
        self.assertFalse(self.switched_on(key_id))
        self.assertEqual(self.networks_shown(self.tab(key_id)), [("203.0.113.0/24", "Office"), ("192.0.2.0/24", "New")])
        self.assertStatus(self.post(key_id, "on"), 303)
        self.assertIsNone(server.get(f"/w/1/keys/{key_id}/edit").doc.by_id("allowlist-off"))
        self.assertStatus(server.post(f"/w/1/keys/{key_id}/edit", fields), 303)
        self.assertTrue(self.switched_on(key_id))

    def test_a_new_key_like_one_switched_off_says_its_own_is_on(self):
        key_id = self.make_key("Model")
        self.assertNotIn("Its allowlist is switched off", self.server.get(f"/w/1/keys/new?like={key_id}").text)
        self.assertStatus(self.post(key_id, "off"), 303)
        form = self.server.get(f"/w/1/keys/new?like={key_id}")
        self.assertIn("Its allowlist is switched off; the new key's applies these networks from the start",
                      form.doc.by_id("like-notice").text)
        self.assertEqual(form.doc.values("cidr"), ["203.0.113.0/24", "2001:db8::/32", ""])

    def test_the_audit_log_names_the_actions(self):
        key_id = self.make_key("Audited")
        self.assertStatus(self.post(key_id, "add", [("cidr", "192.0.2.9"), ("label", "")]), 303)
        page = self.server.get("/w/1/audit?action=key.network_add")
        self.assertStatus(page, 200)
        self.assertIn("Network added", page.text)
        self.assertIn("network added: 192.0.2.9/32", page.text)
        for action in ("key.allowlist_on", "key.allowlist_off", "key.network_add", "key.network_remove"):
            self.assertIn(f'value="{action}"', page.text)


class AllowlistRolesTest(AllowlistHelpers, ServerTestCase):

    def person(self, role):
        """A member of workspace 1 with `role`, signed in with a cookie jar of their own."""
        email = f"{role}-{secrets.token_hex(4)}@example.com"
        done = self.server.cli("user", "add", "--email", email, "--role", role, input=PASSWORD + "\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        person = Person(self.server, email)
        person.sign_in()
        return person

    def test_a_viewer_sees_the_tab_without_its_forms_and_changes_nothing(self):
        server = self.server
        key_id = self.make_key("Watched")
        viewer = self.person("viewer")
        page = viewer.get(f"/w/1/keys/{key_id}/allowlist")
        self.assertStatus(page, 200)
        self.assertEqual(self.networks_shown(page), [("203.0.113.0/24", "Office"), ("2001:db8::/32", "None")])
        self.assertIsNone(page.doc.by_id("allowlist-switch"))
        self.assertIsNone(page.doc.by_id("add-cidr"))
        self.assertNotIn("/allowlist/remove", page.text)
        self.assertIn("Your role in this workspace may look at the allowlist but not change it.", page.text)
        before = server.snapshot()
        for what, fields in (("off", []), ("on", []), ("add", [("cidr", "192.0.2.0/24")]),
                             ("remove", [("cidr", "203.0.113.0/24")])):
            with self.subTest(what=what):
                refused = viewer.post(f"/w/1/keys/{key_id}/allowlist/{what}", fields)
                self.assertStatus(refused, 403)
                self.assertIn("Your role in this workspace (viewer) does not allow this", refused.text)
        self.assertEqual(server.snapshot(), before)

    def test_a_developer_may_change_the_allowlist(self):
        key_id = self.make_key("Developed")
        developer = self.person("developer")
        page = developer.get(f"/w/1/keys/{key_id}/allowlist")
        self.assertIsNotNone(page.doc.by_id("allowlist-switch"))
        self.assertStatus(developer.post(f"/w/1/keys/{key_id}/allowlist/off"), 303)
        self.assertStatus(developer.post(f"/w/1/keys/{key_id}/allowlist/add", [("cidr", "192.0.2.0/24")]), 303)
        self.assertFalse(self.switched_on(key_id))
        self.assertEqual(self.server.query("SELECT actor_label FROM audit_event WHERE target_id = ? AND action = "
                                           "'key.network_add'", (key_id,)), [(developer.email,)])


class AllowlistCommandLineTest(AllowlistHelpers, ServerTestCase):

    def test_key_edit_allowlist_off_and_on(self):
        server = self.server
        token = server.create_key_cli(unique("CLI"), "--cidr", "203.0.113.0/24=Office", "--cidr", "2001:db8::/32")
        key_id = key_id_of(token)
        self.assertIn("allowlist:     on: only these networks may use the key",
                      server.cli("key", "show", "--key-id", key_id).stdout)
        off = server.cli("key", "edit", "--key-id", key_id, "--allowlist", "off")
        self.assertEqual(off.returncode, 0, off.stderr)
        self.assertEqual(off.stdout, "allowlist: on → off\n")
        self.assertIn(f"keyward: switched the allowlist of {key_id} off: any address may use the key; its 2 networks "
                      "are kept", off.stderr)
        self.assertFalse(self.switched_on(key_id))
        self.assertEqual(len(self.stored(key_id)), 2)
        self.assertIn("allowlist:     off: any address may use the key; these networks are kept for when it is on",
                      server.cli("key", "show", "--key-id", key_id).stdout)
        self.assertEqual(server.query("SELECT actor_label, summary FROM audit_event WHERE target_id = ? AND action = "
                                      "'key.allowlist_off'", (key_id,)),
                         [("command line", "allowlist switched off: any address may use the key; its 2 networks are "
                                           "kept")])

        before = server.snapshot()
        again = server.cli("key", "edit", "--key-id", key_id, "--allowlist", "off")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, "no change\n")
        self.assertIn(f"the allowlist of {key_id} was switched off already", again.stderr)
        self.assertIn("nothing was changed", again.stderr)
        self.assertEqual(server.snapshot(), before)

        for bad in ("yes", "ON", ""):
            with self.subTest(bad=bad):
                refused = server.cli("key", "edit", "--key-id", key_id, "--allowlist", bad)
                self.assertNotEqual(refused.returncode, 0)
                self.assertIn("--allowlist is on or off", refused.stderr)
        self.assertEqual(server.snapshot(), before)

        # With another change: both in one go, and a refused one changes neither.
        refused = server.cli("key", "edit", "--key-id", key_id, "--allowlist", "on", "--cidr", "10.1.2.3/8")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("has bits set past its prefix", refused.stderr)
        self.assertEqual(server.snapshot(), before)
        both = server.cli("key", "edit", "--key-id", key_id, "--allowlist", "on", "--name", "CLI renamed")
        self.assertEqual(both.returncode, 0, both.stderr)
        self.assertRegex(both.stdout, r"^name: “CLI [0-9a-f]{8}” → “CLI renamed”; allowlist: off → on\n$")
        self.assertTrue(self.switched_on(key_id))
        self.assertEqual(server.key_row(key_id)["name"], "CLI renamed")

        self.assertIn("--allowlist on|off", server.cli("key", "edit", "--help").stdout)
        self.assertStatus(server.post(f"/w/1/keys/{key_id}/revoke"), 303)
        before = server.snapshot()
        revoked = server.cli("key", "edit", "--key-id", key_id, "--allowlist", "off")
        self.assertNotEqual(revoked.returncode, 0)
        self.assertIn("that key was revoked and can no longer be changed; nothing was changed", revoked.stderr)
        self.assertEqual(server.snapshot(), before)


class AllowlistGateChecks(AllowlistHelpers):
    """For a ServerTestCase whose server_class is a harness.GatekeeperServer. The key allows
    127.0.0.5 only; 127.0.0.7 is another address of this machine."""

    INSIDE = "127.0.0.5"
    OUTSIDE = "127.0.0.7"

    def call(self, token, source):
        return self.server.raw_request("GET", f"/protected/allowlist/{time.time_ns()}",
                                       [("Authorization", "Bearer " + token)], None, source=source)

    def expect(self, token, source, status):
        """A call from `source`: its status, which on PostgreSQL may take the README's 1 s to follow a change."""
        deadline = time.monotonic() + 1
        while True:
            before = len(self.server.backend_requests())
            response = self.call(token, source)
            if response.status == status or not ON_POSTGRESQL or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.assertEqual(response.status, status, response.text[:300])
        seen = self.server.backend_requests()
        if status == 200:
            self.assertEqual(seen[-1]["REMOTE_ADDR"], source)
        else:
            self.assertEqual(json.loads(response.text),
                             {"code": "ip_not_allowed", "message": "Your IP address is not on this key's allowlist"})
            self.assertEqual(len(seen), before, "the API saw a refused request")

    def test_the_switch_and_the_networks_take_effect_on_the_next_request(self):
        server = self.server
        token = server.create_key_cli(unique("Gated"), "--cidr", f"{self.INSIDE}/32=this one", "--cidr", "192.0.2.0/24")
        key_id = key_id_of(token)
        self.expect(token, self.INSIDE, 200)
        self.expect(token, self.OUTSIDE, 403)

        self.assertStatus(self.post(key_id, "off"), 303)
        self.expect(token, self.OUTSIDE, 200)
        self.expect(token, self.INSIDE, 200)
        self.assertEqual(len(self.stored(key_id)), 2)

        self.assertStatus(self.post(key_id, "on"), 303)
        self.expect(token, self.OUTSIDE, 403)
        self.expect(token, self.INSIDE, 200)

        self.assertStatus(self.post(key_id, "add", [("cidr", self.OUTSIDE), ("label", "the other one")]), 303)
        self.expect(token, self.OUTSIDE, 200)
        self.assertStatus(self.post(key_id, "remove", [("cidr", f"{self.OUTSIDE}/32")]), 303)
        self.expect(token, self.OUTSIDE, 403)

        # The command line's switch reaches the running gatekeeper too.
        done = server.cli("key", "edit", "--key-id", key_id, "--allowlist", "off")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.expect(token, self.OUTSIDE, 200)
        done = server.cli("key", "edit", "--key-id", key_id, "--allowlist", "on")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.expect(token, self.OUTSIDE, 403)


class LighttpdAllowlistGateTest(AllowlistGateChecks, ServerTestCase):
    server_class = LighttpdGatekeeper


class ApacheAllowlistGateTest(AllowlistGateChecks, ServerTestCase):
    server_class = ApacheGatekeeper


class NginxAllowlistGateTest(AllowlistGateChecks, ServerTestCase):
    server_class = NginxGatekeeper


if __name__ == "__main__":
    unittest.main()
