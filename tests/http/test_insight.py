"""test_insight.py: the Usage tab and the dashboard through the real server, after real traffic
through the gatekeeper (lighttpd asking keyward as its FastCGI authorizer): who called what from
where, per period, with a chart that is well-formed SVG; off-the-record keys; warnings and the
filtered views they link to; retention by `keyward usage rollup`."""
import re
import time
import unittest
import xml.etree.ElementTree as ElementTree

from harness import connect, API_PREFIX, LighttpdGatekeeper, ServerTestCase

SVG = "{http://www.w3.org/2000/svg}"


def chart_of(page):
    """The usage chart's SVG element, parsed (fails on markup that is not well-formed XML)."""
    match = re.search(r'<svg xmlns="http://www.w3.org/2000/svg"[^>]*role="img".*?</svg>', page.text, re.S)
    assert match, "no chart in the page"
    return ElementTree.fromstring(match.group(0))


class InsightTest(ServerTestCase):
    server_class = LighttpdGatekeeper

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server
        cls.key_id, cls.token = server.create_key("Busy key", role="admin")
        cls.quiet_id, cls.quiet_token = server.create_key("Quiet key", role="admin", off_record=True)
        cls.fenced_id, cls.fenced_token = server.create_key("Fenced key", role="admin", cidrs=[("10.0.0.0/8", "")])
        cls.calls = {"/protected/orders": 7, "/protected/items?page=2": 3}
        for path, count in cls.calls.items():
            for _ in range(count):
                assert cls.call(path, cls.token).status == 200
        for _ in range(4):
            assert cls.call("/protected/orders", cls.quiet_token).status == 200
        for _ in range(2):
            assert cls.call("/protected/orders", cls.fenced_token).status == 403  # 127.0.0.1 is not in 10/8
        cls.wait_for_rows(10 + 2)

    @classmethod
    def call(cls, path, token):
        return cls.server.raw_request("GET", path, [("Authorization", "Bearer " + token)])

    @classmethod
    def wait_for_rows(cls, calls):
        """The usage writer flushes about once a second."""
        deadline = time.time() + 10
        while time.time() < deadline:
            if cls.server.query("SELECT coalesce(sum(calls), 0) FROM usage_event")[0][0] >= calls:
                return
            time.sleep(0.1)
        raise AssertionError("usage rows did not arrive")

    def test_the_usage_tab_shows_who_called_what_from_where(self):
        for period in ("24h", "7d", "30d"):
            with self.subTest(period=period):
                page = self.server.get(f"/w/1/keys/{self.key_id}/usage?period={period}")
                self.assertStatus(page, 200)
                self.assertIn('aria-current="page">' + {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}[period],
                              page.text)
                numbers = re.findall(r'<p class="big-number[^"]*">([\d\u2009]+) <span>', page.text)
                self.assertEqual([n.replace("\u2009", "") for n in numbers], ["10", "10", "0"])
                self.assertIn("<code class=\"wrap\">/protected/orders</code>", page.text)
                self.assertIn("<code class=\"wrap\">/protected/items</code>", page.text)  # the path, not the query
                self.assertIn("<code>127.0.0.1</code>", page.text)
                svg = chart_of(page)
                bars = [g for g in svg.iter(SVG + "g") if g.find(SVG + "title") is not None]
                self.assertEqual(len(bars), {"24h": 24, "7d": 168, "30d": 30}[period])
                self.assertIn("10 calls: 10 granted, 0 refused", svg.find(SVG + "desc").text)
                self.assertIsNone(re.search(r"\sstyle=", page.text))
                key = re.search(r'<figcaption class="chart-key">.*?</figcaption>', page.text, re.S).group(0)
                self.assertIn("Granted", key)
                self.assertIn("Refused", key)
                self.assertIn(("calls per day" if period == "30d" else "calls per hour") + ", times in UTC", key)

    def test_refusals_by_code(self):
        page = self.server.get(f"/w/1/keys/{self.fenced_id}/usage")
        self.assertStatus(page, 200)
        self.assertIn("<strong>2</strong> Address not allowed <code>ip_not_allowed</code>", page.text)
        self.assertIn("2 calls: 0 granted, 2 refused", chart_of(page).find(SVG + "desc").text)

    def test_an_off_the_record_key_shows_its_count_only(self):
        page = self.server.get(f"/w/1/keys/{self.quiet_id}/usage?period=7d")
        self.assertStatus(page, 200)
        self.assertIn('<p class="big-number">4 <span>calls</span></p>', page.text)
        self.assertIn("off the record", page.text)
        self.assertNotIn("/protected/orders", page.text)
        self.assertNotIn("127.0.0.1", page.text)
        self.assertEqual(self.server.count("usage_event", "api_key_id = (SELECT id FROM api_key WHERE key_id = ?)",
                                           (self.quiet_id,)), 0)

    def test_the_dashboard(self):
        page = self.server.get("/w/1/?period=24h")
        self.assertStatus(page, 200)
        busiest = re.search(r"<h2>Busiest keys</h2>.*?</section>", page.text, re.S).group(0)
        self.assertLess(busiest.index("Busy key"), busiest.index("Fenced key"))
        self.assertIn("Off-the-record keys made 4 more calls", page.text)
        chart_of(page)
        never = re.search(r"<h2>Never used.*?</section>", page.text, re.S).group(0)
        self.assertIn("Fenced key", never)  # refused calls are not use
        self.assertNotIn("Busy key", never)

    def test_warnings_link_to_the_matching_rows(self):
        """A spike of refusals and an address new to the key, seeded into the raw rows and rolled up.
        The key's history must reach back past the 30 days an address is new for: a call 40 days ago,
        rolled up before the new address comes."""
        row = self.server.query("SELECT id FROM api_key WHERE key_id = ?", (self.key_id,))[0][0]
        now = int(time.time())
        with connect(self.server.database) as db:
            db.execute("INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, calls) "
                       "VALUES (1, ?, ?, '/protected/old', '192.0.2.10', 'granted', 1)", (row, now - 40 * 86400))
        # The key's history is rolled up before the new address arrives, as forty days would have done
        # (rows rolled up in one pass are each other's history only from the next pass on).
        done = self.server.cli("usage", "rollup")
        self.assertEqual(done.returncode, 0, done.stderr)
        with connect(self.server.database) as db:
            db.execute("INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, calls) "
                       "VALUES (1, ?, ?, '/protected/admin/x', '198.51.100.66', 'insufficient_permissions', 150)",
                       (row, now - 60))
        done = self.server.cli("usage", "rollup")
        self.assertEqual(done.returncode, 0, done.stderr)
        for path in (f"/w/1/keys/{self.key_id}/usage", "/w/1/", f"/w/1/keys/{self.key_id}"):
            page = self.server.get(path)
            warnings = re.search(r'<section class="warning".*?</section>', page.text, re.S).group(0)
            self.assertIn("150 refused calls in the hour", warnings)
            self.assertIn("used from 198.51.100.66", warnings)
            self.assertIn(f"/w/1/keys/{self.key_id}/usage?period=24h&amp;address=198.51.100.66", warnings)
            self.assertIn(f"/w/1/keys/{self.key_id}/usage?period=24h&amp;refused=1", warnings)
        # Narrowed to the new address: its numbers and chart, its one row, and what it called.
        only = self.server.get(f"/w/1/keys/{self.key_id}/usage?period=24h&address=198.51.100.66")
        self.assertIn("Showing calls from 198.51.100.66 only", only.text)
        numbers = re.findall(r'<p class="big-number[^"]*">([\d\u2009]+) <span>', only.text)
        self.assertEqual([n.replace("\u2009", "") for n in numbers], ["150", "0", "150"])
        self.assertIn("150 calls: 0 granted, 150 refused", chart_of(only).find(SVG + "desc").text)
        addresses = re.search(r"<h2>Client addresses</h2>.*?</section>", only.text, re.S).group(0)
        self.assertIn("198.51.100.66", addresses)
        self.assertNotIn("127.0.0.1", addresses)
        self.assertNotIn("<h2>Endpoints</h2>", only.text)  # not counted per address: the calls say instead
        latest = re.search(r'<h2 id="latest-title">Latest calls from 198.51.100.66</h2>.*?</section>', only.text,
                           re.S).group(0)
        self.assertIn("<code class=\"wrap\">/protected/admin/x</code>", latest)
        self.assertIn("<code>insufficient_permissions</code>", latest)
        self.assertNotIn("/protected/orders", latest)
        # Narrowed to refusals: refused numbers only, the refused endpoints, the refused calls.
        refused = self.server.get(f"/w/1/keys/{self.key_id}/usage?period=24h&refused=1")
        numbers = re.findall(r'<p class="big-number[^"]*">([\d\u2009]+) <span>', refused.text)
        self.assertEqual([n.replace("\u2009", "") for n in numbers], ["150", "0", "150"])
        endpoints = re.search(r"<h2>Endpoints</h2>.*?</section>", refused.text, re.S).group(0)
        self.assertIn("/protected/admin/x", endpoints)
        self.assertNotIn("/protected/orders", endpoints)
        latest = re.search(r'<h2 id="latest-title">Latest refused calls</h2>.*?</section>', refused.text,
                           re.S).group(0)
        self.assertIn("198.51.100.66", latest)
        self.assertNotIn("<code>127.0.0.1</code>", latest)
        # Narrowed to an endpoint: its calls, from where; no address table.
        orders = self.server.get(f"/w/1/keys/{self.key_id}/usage?period=24h&endpoint=/protected/orders")
        self.assertIn("Showing calls to /protected/orders only", orders.text)
        self.assertIn("7 calls: 7 granted, 0 refused", chart_of(orders).find(SVG + "desc").text)
        self.assertNotIn("<h2>Client addresses</h2>", orders.text)
        latest = re.search(r'<h2 id="latest-title">Latest calls to /protected/orders</h2>.*?</section>',
                           orders.text, re.S).group(0)
        self.assertIn("<code>127.0.0.1</code>", latest)
        self.assertNotIn("/protected/items", latest)

    def test_bad_periods_and_filters_fall_back_quietly(self):
        for query in ("period=1y", "period=", "period=%C3%A9", "period=24h&period=7d", "address=" + "9" * 500, "refused=yes"):
            with self.subTest(query=query):
                page = self.server.get(f"/w/1/keys/{self.key_id}/usage?{query}")
                self.assertStatus(page, 200)
        self.assertStatus(self.server.get("/w/1/keys/key_AAAAAAAAAAAAAAAA/usage"), 404)


class RetentionTest(ServerTestCase):
    def test_old_raw_rows_go_and_their_hourly_sums_stay(self):
        key_id, _ = self.server.create_key("Old traffic")
        row = self.server.query("SELECT id FROM api_key WHERE key_id = ?", (key_id,))[0][0]
        now = int(time.time())
        with connect(self.server.database) as db:
            db.executemany("INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, "
                           "calls) VALUES (1, ?, ?, '/v1/x', '192.0.2.1', 'granted', 1)",
                           [(row, now - 40 * 86400), (row, now - 2 * 86400), (row, now - 500 * 86400)])
        done = self.server.cli("usage", "rollup")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.server.count("usage_event", "api_key_id = ?", (row,)), 1)  # 2 days old
        self.assertEqual(self.server.count("usage_hourly", "api_key_id = ?", (row,)), 2)  # 500 days: gone
        page = self.server.get(f"/w/1/keys/{key_id}/usage?period=30d")
        self.assertIn("1 calls: 1 granted", chart_of(page).find(SVG + "desc").text)


if __name__ == "__main__":
    unittest.main()
