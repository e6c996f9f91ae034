"""test_signin_attack.py: sign-in under attack, through the real servers.

- Guesses at the same moment share one budget: 32 concurrent wrong passwords for one account, sent
  to `keyward serve --threads 16`, get at most 3 password checks (counted by the attempts recorded,
  each of which was checked, and by the 401 answers), and the attempts recorded keep the schedule.
- Argon2id runs a few at a time: the peak memory of `serve --threads 16` under 32 concurrent
  sign-ins stays near (cores + 1) x 64 MiB above idle, not 16 x 64 MiB.
- A stranger cannot keep a user out: with wrong passwords arriving every second from rotating
  addresses (Linux loopback accepts any source in 127.0.0.0/8), the account is paused for browsers
  it never used, but its own browser, from another address, gets in at once; `keyward user unlock`
  lifts the pause.
- An over-long password takes as long as any wrong one, and no answer prints a timing.
- next= leads only to this console: hostile values land on its own "/".
"""
import concurrent.futures
import http.client
import os
import re
import statistics
import threading
import time
import unittest
import urllib.parse

from harness import (connect, ROOT, ServerTestCase, StandaloneKeyward, add_owner, fcgi_request, header, parse_cgi_output,
                     sanitizer_report)

PASSWORD = "the victim's long password"
RELEASE_BIN = os.path.join(ROOT, "build", "keyward")


def sign_in_fastcgi(port, email, password, address):
    """POST /signin straight to a `keyward serve` from client `address`: (status, headers)."""
    body = urllib.parse.urlencode({"email": email, "password": password}).encode()
    stdout, _, _ = fcgi_request(port, {"REQUEST_METHOD": "POST", "REQUEST_URI": "/signin", "QUERY_STRING": "",
                                       "SCRIPT_NAME": "", "REMOTE_ADDR": address,
                                       "CONTENT_TYPE": "application/x-www-form-urlencoded",
                                       "CONTENT_LENGTH": str(len(body))}, body)
    status, headers, _ = parse_cgi_output(stdout)
    return status, headers


def peak_memory_kib(pid):
    """The process's peak resident memory (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))


class ConcurrentGuessesTest(unittest.TestCase):
    """Straight to `keyward serve --threads 16`: sixteen requests truly at once."""

    def serve(self, binary=None):
        keyward = StandaloneKeyward(threads=16, **({"binary": binary} if binary else {}))
        self.addCleanup(keyward.cleanup)

        def stop():
            log = keyward.stop()
            self.assertIsNone(sanitizer_report(log), log[-4000:])
        self.addCleanup(stop)
        return keyward

    def test_32_concurrent_guesses_get_at_most_3_checks(self):
        keyward = self.serve()
        email, _ = add_owner(keyward.database, "victim@example.com", PASSWORD)
        start = threading.Barrier(32)

        def guess(number):
            start.wait()
            return sign_in_fastcgi(keyward.port, email, f"wrong guess number {number}", f"192.0.2.{number + 1}")[0]

        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(guess, range(32)))
        elapsed = time.monotonic() - began
        connection = connect(keyward.database, readonly=True)
        try:
            times = [row[0] for row in connection.execute(
                "SELECT at_ms FROM signin_failure WHERE subject = 'email:victim@example.com' ORDER BY at_ms")]
        finally:
            connection.close()
        checks = statuses.count(401)
        print(f"\n32 concurrent wrong guesses: {checks} checked (401), {statuses.count(429)} refused (429) "
              f"in {elapsed:.2f} s; attempts recorded at +{[t - times[0] for t in times]} ms")
        self.assertEqual(sorted(set(statuses)), [401, 429] if checks < 32 else [401])
        self.assertEqual(checks, len(times))  # each check was recorded first, and each recorded attempt checked
        # The schedule: three free, then each one second, two, four ... after the one before.
        for index in range(3, len(times)):
            self.assertGreaterEqual(times[index] - times[index - 1], 1000 * 2 ** (index - 3))
        if times and times[-1] - times[0] < 1000 and elapsed < 1:
            self.assertEqual(checks, 3)
        self.assertLessEqual(checks, 3 + (1 if elapsed >= 1 else 0) + (1 if elapsed >= 3 else 0))

    @unittest.skipUnless(os.access(RELEASE_BIN, os.X_OK), "needs the release build (make build/keyward)")
    def test_argon2id_waits_in_line_so_memory_stays_bounded(self):
        """32 sign-ins at once (right passwords, 32 accounts, 32 addresses) on the release build: the
        peak resident memory grows by about (cores + 1) x 64 MiB at most, not 16 x 64 MiB."""
        keyward = self.serve(RELEASE_BIN)
        add_owner(keyward.database, "person0@example.com", PASSWORD)
        connection = connect(keyward.database)
        with connection:
            connection.executemany(
                "INSERT INTO user (email, email_folded, name, password_hash, created_at, updated_at) "
                "SELECT ?, ?, '', password_hash, 1, 1 FROM user WHERE email = 'person0@example.com'",
                [(f"person{i}@example.com", f"person{i}@example.com") for i in range(1, 32)])
        connection.close()
        idle = peak_memory_kib(keyward.process.pid)
        start = threading.Barrier(32)

        def sign_in(number):
            start.wait()
            return sign_in_fastcgi(keyward.port, f"person{number}@example.com", PASSWORD, f"198.51.100.{number + 1}")[0]

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(sign_in, range(32)))
        self.assertEqual(statuses, [303] * 32)
        peak = peak_memory_kib(keyward.process.pid)
        cores = os.cpu_count() or 1
        print(f"\nserve --threads 16, 32 concurrent sign-ins: peak RSS {peak / 1024:.0f} MiB "
              f"(started: {idle / 1024:.0f} MiB; {cores} cores)")
        self.assertIn(f"at most {cores} password checks at once", keyward.log())
        self.assertLess(peak - idle, (min(cores, 16) + 1) * 64 * 1024 + 32 * 1024)


class Client:
    """HTTP to the test lighttpd from a source address of our choosing (127.0.0.N), with its own cookies."""

    def __init__(self, port, source):
        self.port = port
        self.source = source
        self.cookies = {}

    def request(self, method, path, fields=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(self.source, 0))
        all_headers = dict(headers or {})
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie, _, _ = value.partition(";")
                key, _, cookie_value = cookie.partition("=")
                if "Max-Age=0" in value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = cookie_value
        connection.close()
        return response.status, response.getheaders(), text

    def sign_in(self, email, password, next_path=""):
        return self.request("POST", "/signin", [("email", email), ("password", password), ("next", next_path)])


class AttackThroughLighttpdTest(ServerTestCase):

    def setUp(self):
        self.write("DELETE FROM signin_failure")

    def write(self, sql, params=()):
        self.server.execute(sql, params)

    def add_user(self, email):
        done = self.server.cli("user", "add", "--email", email, "--role", "owner", input=PASSWORD + "\n")
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_rotating_strangers_cannot_keep_the_user_out(self):
        email = "victim@example.com"
        self.add_user(email)
        # The user's own browser signed in here once: it holds a device cookie of the account.
        laptop = Client(self.server.port, "127.0.0.50")
        status, headers, _ = laptop.sign_in(email, PASSWORD)
        self.assertEqual(status, 303)
        device = [v for k, v in headers if k.lower() == "set-cookie" and v.startswith("kw_device=")]
        self.assertEqual(len(device), 1)
        self.assertRegex(device[0], r"^kw_device=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=/; Max-Age=34560000; "
                                    r"HttpOnly; SameSite=Strict$")
        laptop.cookies.pop("kw_session")
        # Strangers have been guessing for a while (9 failures, the latest a minute ago) and go on:
        # a wrong password every second, each from another address.
        now = int(time.time())
        for _ in range(9):
            self.write("INSERT INTO signin_failure (subject, at) VALUES (?, ?)", ("email:" + email, now - 61))
        answers, stop = [], threading.Event()

        def attack():
            number = 0
            while not stop.is_set() and number < 120:
                stranger = Client(self.server.port, f"127.0.0.{100 + number % 100}")
                answers.append(stranger.sign_in(email, f"guess {number}")[0])
                number += 1
                stop.wait(1.0)
        attacker = threading.Thread(target=attack)
        attacker.start()
        try:
            deadline = time.monotonic() + 30
            while self.server.count("signin_failure", "subject = ?", ("email:" + email,)) < 10:
                self.assertLess(time.monotonic(), deadline, "the strangers' guesses never reached the account")
                time.sleep(0.2)
            paused_at = time.monotonic()
            # A browser the account never used, with the right password: paused, like the strangers.
            status, _, text = Client(self.server.port, "127.0.0.60").sign_in(email, PASSWORD)
            self.assertEqual(status, 429)
            self.assertIn("signing in is paused", text)
            # A made-up device cookie changes nothing.
            forger = Client(self.server.port, "127.0.0.61")
            forger.cookies["kw_device"] = "A" * 22 + "." + "A" * 43
            self.assertEqual(forger.sign_in(email, PASSWORD)[0], 429)
            # The user's own browser, from yet another address, gets in (within 60 s: at once).
            laptop.source = "127.0.0.51"
            while True:
                status, headers, _ = laptop.sign_in(email, PASSWORD)
                if status == 303 or time.monotonic() - paused_at > 60:
                    break
                time.sleep(1)
            waited = time.monotonic() - paused_at
            print(f"\nunder attack, the user's browser got in {waited:.2f} s after the account was paused "
                  f"(strangers so far: {answers.count(401)} checked, {answers.count(429)} refused)")
            self.assertEqual(status, 303)
            self.assertLess(waited, 60)
            status, _, page = laptop.request("GET", "/account")
            self.assertEqual(status, 200)
            self.assertIn(f"Signed in as {email}", page)
            # The attack goes on; browsers the account never used stay paused, even though it signed in ...
            time.sleep(2)
            self.assertEqual(Client(self.server.port, "127.0.0.62").sign_in(email, PASSWORD)[0], 429)
        finally:
            stop.set()
            attacker.join()
        self.assertNotIn(303, answers)
        self.assertGreater(answers.count(429), 0)
        # ... until `keyward user unlock` lifts the pause.
        self.assertEqual(Client(self.server.port, "127.0.0.63").sign_in(email, PASSWORD)[0], 429)
        done = self.server.cli("user", "unlock", "--email", email)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(Client(self.server.port, "127.0.0.63").sign_in(email, PASSWORD)[0], 303)

    def test_an_over_long_password_takes_as_long_as_any_wrong_one(self):
        email = "timed@example.com"
        self.add_user(email)
        client = Client(self.server.port, "127.0.0.70")

        def timed(password, who=email):
            times = []
            for _ in range(5):
                self.write("DELETE FROM signin_failure")
                began = time.monotonic()
                status, headers, _ = client.sign_in(who, password)
                times.append(time.monotonic() - began)
                self.assertEqual(status, 401)
                self.assertNotIn("server-timing", [name.lower() for name, _ in headers])
            return statistics.median(times)

        wrong = timed("a wrong password of normal length")
        over_long = timed("x" * 1025)
        much_longer = timed("y" * 60000)
        unknown = timed("x" * 1025, "nobody@example.com")
        print(f"\nwrong password {wrong * 1000:.0f} ms; over-long (1,025 bytes) {over_long * 1000:.0f} ms; "
              f"60,000 bytes {much_longer * 1000:.0f} ms; over-long, no such account {unknown * 1000:.0f} ms "
              f"(medians of 5)")
        # Each runs one Argon2id check; a refusal without one took a hundredth of the time before.
        for median in (over_long, much_longer, unknown):
            self.assertGreater(median, wrong / 3)
            self.assertLess(median, wrong * 3)

    def test_next_leads_only_to_this_console(self):
        email = "next@example.com"
        self.add_user(email)
        hostile = ["//evil.example/x", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil",
                   "https://evil.example/", "/x\x7f", "/x\x1b[31m", "\t//evil.example", " /evil", "/x" + "a" * 5000,
                   "/\u0085/evil.example", "", "evil"]
        client = Client(self.server.port, "127.0.0.80")
        for next_path in hostile:
            with self.subTest(next=next_path):
                client.cookies.clear()
                self.write("DELETE FROM signin_failure")
                status, headers, _ = client.sign_in(email, PASSWORD, next_path)
                self.assertEqual(status, 303)
                self.assertEqual(header(headers, "Location"), "/")
                # Signed in already, the sign-in page sends a hostile next= home too (or refuses a
                # query with control characters outright).
                query = urllib.parse.quote(next_path, safe="")
                status, headers, _ = client.request("GET", "/signin?next=" + query)
                self.assertIn((status, header(headers, "Location")), ((303, "/"), (400, None)))
        # Decoded from the form as a tab: "/%09/evil" is "/\t/evil", which browsers read as //evil.
        client.cookies.clear()
        raw = f"email={urllib.parse.quote(email)}&password={urllib.parse.quote(PASSWORD)}&next=%2F%09%2Fevil.example"
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        connection.request("POST", "/signin", body=raw, headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        self.assertEqual((response.status, response.getheader("Location")), (303, "/"))
        connection.close()
        # A path of this console is kept.
        client.cookies.clear()
        self.assertEqual(header(client.sign_in(email, PASSWORD, "/w/1/keys?q=a%20b")[1], "Location"), "/w/1/keys?q=a%20b")


if __name__ == "__main__":
    unittest.main()
