"""test_slow_bodies.py: slow request bodies cannot starve the gatekeeper, and each one ends in 408.

Through a real Apache started by www/run-apache.sh (harness.ApacheGatekeeper): the console
(mod_proxy_fcgi) and the gatekeeper (mod_authnz_fcgi, and /api/) reach `keyward serve` on two
listeners with a thread pool each, and mod_reqtimeout gives a request body 10 s. While 8 clients
send sign-in forms one byte every 2 s, the gatekeeper answers as fast as when idle.

Straight to `keyward serve` over FastCGI (no web server to cut the body short): a body that has not
fully arrived 10 s after the request began gets keyward's own 408, and the worker (the only one)
serves the next request. The gatekeeper listener answers authorizer requests and the JSON API, and
refuses console pages.
"""
import json
import os
import socket
import struct
import threading
import time
import unittest
import urllib.parse

from harness import (FCGI_AUTHORIZER, FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_RESPONDER, FCGI_STDIN,
                     FCGI_STDOUT, ApacheGatekeeper, ServerTestCase, StandaloneKeyward, fcgi_params,
                     fcgi_record, fcgi_request, parse_cgi_output, header, sanitizer_report)

SLOW_CLIENTS = 8
SLOW_BODY_LENGTH = 300      # bytes the slow clients announce in Content-Length
SLOW_BYTE_INTERVAL = 2.0    # seconds between two bytes of a slow body
SAMPLES = 200               # gatekeeper requests per measurement
# Latency on this 2-core machine, shared with other builds and test runs, is noisy: an idle p99 well
# under a millisecond would make "within 2x" a test of the neighbours. Below this floor, differences
# are taken as noise: the loaded p99 must stay within 2x max(idle p99, LATENCY_FLOOR).
LATENCY_FLOOR = 0.020
BODY_SECONDS = 10           # keyward's deadline for a body, and mod_reqtimeout's (body=10)


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))]


class SlowBody(threading.Thread):
    """One client that sends a sign-in form's headers, then its body one byte every
    SLOW_BYTE_INTERVAL seconds; when the server answers or closes, it starts again, until stopped.
    `answers` collects (status line, seconds from the first byte of the request to the answer)."""

    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port = port
        self.stop = stop
        self.answers = []
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            try:
                self.one()
            except OSError as error:
                self.errors.append(repr(error))
                self.stop.wait(0.5)

    def one(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            began = time.monotonic()
            sock.sendall(f"POST /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                         f"Content-Type: application/x-www-form-urlencoded\r\n"
                         f"Content-Length: {SLOW_BODY_LENGTH}\r\n\r\n".encode())
            sent = 0
            while not self.stop.is_set() and sent < SLOW_BODY_LENGTH:
                sock.settimeout(SLOW_BYTE_INTERVAL)
                try:
                    answer = sock.recv(4096)
                except socket.timeout:
                    try:
                        sock.sendall(b"e")
                    except OSError:  # the server closed: its answer (if any) is read below
                        pass
                    sent += 1
                    continue
                self.answers.append((answer.split(b"\r\n", 1)[0].decode("latin-1"), time.monotonic() - began))
                return


class MeasuredGatekeeper(ApacheGatekeeper):
    """ApacheGatekeeper with a static file behind the gatekeeper at /protected/ping: a granted request
    costs Apache nothing after keyward's answer, so its latency is the gatekeeper's."""

    def prepare(self):
        extra = super().prepare()
        ping = os.path.join(self.api_folder, "ping.json")
        with open(ping, "w") as f:
            f.write('{"pong": true}\n')
        os.chmod(ping, 0o644)
        with open(extra["API_CONF"]) as f:
            api_conf = f.read()
        with open(extra["API_CONF"], "w") as f:  # before the ScriptAlias of the same prefix: first match wins
            f.write(f'Alias "/protected/ping" "{ping}"\n' + api_conf)
        return extra


class GatekeeperUnderSlowBodiesTest(ServerTestCase):
    server_class = MeasuredGatekeeper

    def ping(self, token):
        """One granted request to the protected API: (status line, or "no answer in 10 s"; seconds)."""
        began = time.monotonic()
        connection = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            connection.sendall(f"GET /protected/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                               f"Authorization: Bearer {token}\r\n\r\n".encode())
            answer = b""
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except socket.timeout:
            return "no answer in 10 s", time.monotonic() - began
        finally:
            connection.close()
        return answer.split(b"\r\n", 1)[0].decode("latin-1"), time.monotonic() - began

    def assertConsoleBusy(self):
        """The slow bodies hold every console worker (harness: THREADS=4): a page waits for one."""
        connection = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        try:
            connection.sendall(b"GET /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            connection.settimeout(1)
            with self.assertRaises(socket.timeout, msg="the console answered while slow bodies held its workers"):
                connection.recv(1)
        finally:
            connection.close()

    def assertAllGranted(self, statuses, seconds, when):
        if len(statuses) < SAMPLES or statuses[-1] != "HTTP/1.1 200 OK":
            self.fail(f"{when}, gatekeeper request {len(statuses)} of {SAMPLES} got {statuses[-1]!r} "
                      f"after {seconds[-1]:.1f} s")

    def measure(self, token):
        """SAMPLES requests one after the other; stops at the first that is not granted."""
        statuses, seconds = [], []
        for _ in range(SAMPLES):
            status, took = self.ping(token)
            statuses.append(status)
            seconds.append(took)
            if status != "HTTP/1.1 200 OK":
                break
        return statuses, seconds

    def test_slow_bodies_to_the_console_leave_the_gatekeeper_as_fast_as_idle(self):
        token = self.server.create_key_cli("Measured")
        self.assertIn(" 200 ", self.ping(token)[0])
        report = []
        for attempt in (1, 2):  # a second try only if the first loaded run fell on a neighbour's busy moment
            statuses, idle = self.measure(token)
            self.assertAllGranted(statuses, idle, "idle")
            stop = threading.Event()
            clients = [SlowBody(self.server.port, stop) for _ in range(SLOW_CLIENTS)]
            for client in clients:
                client.start()
            try:
                time.sleep(3)  # every slow client has sent its headers and a first byte
                self.assertConsoleBusy()
                statuses, loaded = self.measure(token)
            finally:
                stop.set()
                for client in clients:
                    client.join(SLOW_BYTE_INTERVAL + 10)
            self.assertAllGranted(statuses, loaded, f"under {SLOW_CLIENTS} slow bodies")
            idle_p99, loaded_p99 = percentile(idle, 0.99), percentile(loaded, 0.99)
            report.append(f"try {attempt}: idle p50 {percentile(idle, 0.5) * 1000:.1f} ms, "
                          f"p99 {idle_p99 * 1000:.1f} ms; under {SLOW_CLIENTS} slow bodies "
                          f"p50 {percentile(loaded, 0.5) * 1000:.1f} ms, p99 {loaded_p99 * 1000:.1f} ms")
            print("\n  gatekeeper " + report[-1], end=" ", flush=True)
            if loaded_p99 <= 2 * max(idle_p99, LATENCY_FLOOR):
                break
        else:
            self.fail("the gatekeeper's p99 under slow bodies is above 2x its idle p99 "
                      f"(floor {LATENCY_FLOOR * 1000:.0f} ms): " + "; ".join(report))

    def test_a_slow_body_gets_408_after_10_seconds_and_the_console_serves_on(self):
        stop = threading.Event()
        client = SlowBody(self.server.port, stop)
        client.start()
        deadline = time.monotonic() + BODY_SECONDS + 20
        while not client.answers and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        client.join(SLOW_BYTE_INTERVAL + 10)
        self.assertTrue(client.answers, f"no answer {BODY_SECONDS + 20} s into a slow body ({client.errors})")
        status, seconds = client.answers[0]
        print(f"\n  408 after {seconds:.1f} s", end=" ", flush=True)
        self.assertEqual(status, "HTTP/1.1 408 Request Timeout")
        self.assertGreaterEqual(seconds, BODY_SECONDS - 1)
        self.assertLess(seconds, BODY_SECONDS + 8)
        self.assertStatus(self.server.get("/w/1/keys"), 200)


class DirectFastcgiTest(unittest.TestCase):
    """`keyward serve` with one console worker and one gatekeeper worker, spoken to over FastCGI."""

    @classmethod
    def setUpClass(cls):
        cls.keyward = StandaloneKeyward(threads=1, gatekeeper_threads=1)
        cls.token = cls.keyward.cli("key", "create", "--name", "Direct", "--role", "admin").stdout.strip()

    @classmethod
    def tearDownClass(cls):
        log = cls.keyward.stop()
        cls.keyward.cleanup()
        if sanitizer_report(log):
            raise AssertionError(f"sanitizer report from keyward serve:\n{log[-6000:]}")

    def params(self, method, uri, **extra):
        params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "QUERY_STRING": "", "SCRIPT_NAME": "",
                  "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}
        params.update(extra)
        return params

    def partial_request(self, port, params, stdin, results, name, trickle=None):
        """Send a responder request whose FCGI_STDIN stops at `stdin` (CONTENT_LENGTH says more), or
        with the `trickle` Event, goes on with a one-byte record every half second, answer or not,
        and keeps the connection open until the Event is set (as no web server would, but a peer
        may). results[name] gets (the parsed CGI answer, seconds it took, whether keyward then closed
        its side of the connection)."""
        with socket.create_connection(("127.0.0.1", port), timeout=BODY_SECONDS + 20) as sock:
            began = time.monotonic()
            sock.sendall(fcgi_record(FCGI_BEGIN_REQUEST, 1, struct.pack("!HB5x", FCGI_RESPONDER, 0)) +
                         fcgi_record(FCGI_PARAMS, 1, fcgi_params(params)) + fcgi_record(FCGI_PARAMS, 1, b"") +
                         fcgi_record(FCGI_STDIN, 1, stdin))

            def keep_sending():
                while not trickle.wait(0.5):
                    try:
                        sock.sendall(fcgi_record(FCGI_STDIN, 1, b"x"))
                    except OSError:
                        return

            if trickle is not None:
                threading.Thread(target=keep_sending, daemon=True).start()
            received = b""
            stdout = b""
            ended = None
            while ended is None:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                while len(received) >= 8:
                    _, kind, _, length, padding = struct.unpack("!BBHHBx", received[:8])
                    if len(received) < 8 + length + padding:
                        break
                    content, received = received[8:8 + length], received[8 + length + padding:]
                    if kind == FCGI_STDOUT:
                        stdout += content
                    elif kind == FCGI_END_REQUEST:
                        ended = time.monotonic() - began
            self.assertIsNotNone(ended, f"no FCGI_END_REQUEST; stdout so far {stdout[:300]!r}")
            sock.settimeout(5)
            try:
                closed = sock.recv(1) == b""
            except OSError:
                closed = True
            results[name] = parse_cgi_output(stdout), ended, closed
            if trickle is not None:
                trickle.wait(60)

    def test_keyward_answers_408_when_a_body_stops_arriving_and_serves_the_next_request(self):
        form = b"email=someone%40example.com&password=x"
        results = {}
        trickle = threading.Event()

        def console():  # keeps sending a byte now and then, before and after its answer
            self.partial_request(self.keyward.port, self.params(
                "POST", "/signin", CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH="3000"), form,
                results, "console", trickle)

        def api():  # sends nothing more
            self.partial_request(self.keyward.gatekeeper_port, self.params(
                "POST", "/api/v1/keys/verify", CONTENT_TYPE="application/json", CONTENT_LENGTH="300",
                HTTP_AUTHORIZATION="Bearer " + self.token), b'{"key": "', results, "api")

        threads = [threading.Thread(target=console, daemon=True), threading.Thread(target=api, daemon=True)]
        try:
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + BODY_SECONDS + 30
            while len(results) < 2 and time.monotonic() < deadline and any(t.is_alive() for t in threads):
                time.sleep(0.05)
            self.assertEqual(sorted(results), ["api", "console"])
            (status, headers, body), seconds, closed = results["console"]
            print(f"\n  keyward's 408 after {seconds:.1f} s", end=" ", flush=True)
            self.assertEqual(status, 408, body[:500])
            self.assertTrue(header(headers, "Content-Type").startswith("text/html"))
            self.assertIn(b"Error 408", body)
            self.assertGreaterEqual(seconds, BODY_SECONDS - 0.5)
            self.assertLess(seconds, BODY_SECONDS + 5)
            self.assertTrue(closed, "keyward kept the connection of a timed-out body open")
            (status, headers, body), seconds, closed = results["api"]
            self.assertEqual(status, 408, body[:500])
            self.assertEqual(header(headers, "Content-Type"), "application/json")
            self.assertEqual(json.loads(body)["error"]["code"], "request_timeout")
            self.assertGreaterEqual(seconds, BODY_SECONDS - 0.5)
            self.assertLess(seconds, BODY_SECONDS + 5)
            # The only worker of each pool is free again, though the first client still sends: keyward
            # reads what comes after its 408 for 2 s at most (libfcgi alone would follow it for ever).
            began = time.monotonic()
            stdout, _, _ = fcgi_request(self.keyward.port, self.params("GET", "/signin"))
            self.assertEqual(parse_cgi_output(stdout)[0], 200)
            self.assertLess(time.monotonic() - began, 8)
        finally:
            trickle.set()
            for thread in threads:
                thread.join(10)
        body = json.dumps({"key": self.token}).encode()
        stdout, _, _ = fcgi_request(self.keyward.gatekeeper_port, self.params(
            "POST", "/api/v1/keys/verify", CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)),
            HTTP_AUTHORIZATION="Bearer " + self.token), body)
        status, _, answer = parse_cgi_output(stdout)
        self.assertEqual(status, 200, answer[:500])

    def test_a_body_that_arrives_in_time_is_read_whole(self):
        """Bytes that trickle in, but all within the deadline, make a complete body: the sign-in page
        answers the form (no such user) and shows the address it was sent."""
        email, password = "trickle@example.com", "a long enough password"
        form = urllib.parse.urlencode({"email": email, "password": password}).encode()
        with socket.create_connection(("127.0.0.1", self.keyward.port), timeout=30) as sock:
            sock.sendall(fcgi_record(FCGI_BEGIN_REQUEST, 1, struct.pack("!HB5x", FCGI_RESPONDER, 0)) +
                         fcgi_record(FCGI_PARAMS, 1, fcgi_params(self.params(
                             "POST", "/signin", CONTENT_TYPE="application/x-www-form-urlencoded",
                             CONTENT_LENGTH=str(len(form))))) + fcgi_record(FCGI_PARAMS, 1, b""))
            for start in range(0, len(form), 10):
                time.sleep(0.3)
                sock.sendall(fcgi_record(FCGI_STDIN, 1, form[start:start + 10]))
            sock.sendall(fcgi_record(FCGI_STDIN, 1, b""))
            received = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        self.assertIn(b"Status: ", received)
        self.assertNotIn(b"Status: 408", received)
        self.assertNotIn(b"Status: 400", received)
        self.assertIn(b'value="trickle@example.com"', received)

    def test_the_gatekeeper_listener_answers_authorizer_requests_and_the_api_only(self):
        port = self.keyward.gatekeeper_port
        stdout, _, _ = fcgi_request(port, self.params("GET", "/protected/x", HTTP_AUTHORIZATION="Bearer " + self.token),
                                    role=FCGI_AUTHORIZER)
        self.assertEqual(parse_cgi_output(stdout)[0], 200)
        stdout, _, _ = fcgi_request(port, self.params("GET", "/protected/x"), role=FCGI_AUTHORIZER)
        self.assertEqual(parse_cgi_output(stdout)[0], 401)
        for method, uri in (("GET", "/signin"), ("GET", "/"), ("POST", "/signin"), ("GET", "/w/1/keys")):
            with self.subTest(uri=uri, method=method):
                stdout, _, _ = fcgi_request(port, self.params(method, uri))
                status, headers, body = parse_cgi_output(stdout)
                self.assertEqual(status, 404)
                self.assertEqual(header(headers, "Content-Type"), "application/json")
                self.assertEqual(json.loads(body)["error"]["code"], "gatekeeper_only")
        # The console's listener still answers both, as a lone --listen always has.
        stdout, _, _ = fcgi_request(self.keyward.port, self.params("GET", "/signin"))
        self.assertEqual(parse_cgi_output(stdout)[0], 200)
        stdout, _, _ = fcgi_request(self.keyward.port, self.params(
            "GET", "/protected/x", HTTP_AUTHORIZATION="Bearer " + self.token), role=FCGI_AUTHORIZER)
        self.assertEqual(parse_cgi_output(stdout)[0], 200)

    def test_serve_logs_both_listeners(self):
        log = self.keyward.log()
        self.assertIn(f"serving FastCGI on 127.0.0.1:{self.keyward.port} with 1 thread", log)
        self.assertIn(f"serving the gatekeeper (authorizer requests and /api/) on 127.0.0.1:{self.keyward.gatekeeper_port} with 1 thread", log)


if __name__ == "__main__":
    unittest.main()
