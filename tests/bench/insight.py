"""insight.py: how fast the Usage tab and the dashboard answer with a lot of usage (make bench).

A workspace of 10,000 keys (build/bench/seed); one key with 1,000,000 usage rows spread over the
last 30 days (60 endpoints, 800 client addresses, 1 in 20 refused), and 200,000 more rows over
2,000 other keys. The rows are rolled up with `keyward usage rollup` (timed: what the servers do
in the background, in chunks), then keyward serves the console behind lighttpd (www/run-lighttpd.sh)
and each page is fetched ROUNDS times over loopback. Printed per page: the median and the worst of
keyward's own time (its Server-Timing header: from the request's arrival to the page's last byte
written) and the median round trip through lighttpd. Target (issue 5): a median server time under
50 ms for each page on this machine.

SQLite only, whatever BENCH_ENGINE says: the usage rows are written straight into the file with
Python's sqlite3, and the console's pages on PostgreSQL are not measured here (yet).
"""
import http.client
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "keyward")
SEED = os.path.join(ROOT, "build", "bench", "seed")
KEYS = 10_000
BIG_KEY_ROWS = 1_000_000
OTHER_ROWS = 200_000
OTHER_KEYS = 2_000
ROUNDS = 15
TARGET_MS = 50.0
EMAIL, PASSWORD = "bench@example.com", "a password for the bench"


def say(text):
    print(text, flush=True)


def seed_usage(database, now):
    rng = random.Random(5)
    db = sqlite3.connect(database)
    key_ids = [row[0] for row in db.execute("SELECT id FROM api_key WHERE enabled = 1 AND revoked_at IS NULL "
                                             "ORDER BY id LIMIT ?", (OTHER_KEYS + 1,))]
    big = key_ids[0]
    endpoints = [f"/v1/resource{i}/items" for i in range(60)]
    addresses = [f"10.{i // 250}.{i % 250}.{(i * 7) % 250 + 1}" for i in range(800)]
    start = now - 30 * 86400

    def rows(key, count):
        for _ in range(count):
            at = start + rng.randrange(30 * 86400)
            outcome = "granted" if rng.random() >= 0.05 else rng.choice(("ip_not_allowed", "disabled",
                                                                         "insufficient_permissions"))
            yield (1, key, at, rng.choice(endpoints), rng.choice(addresses), outcome, 1)

    def all_rows():
        yield from rows(big, BIG_KEY_ROWS)
        for i in range(OTHER_ROWS):
            yield from rows(key_ids[1 + i % OTHER_KEYS], 1)

    # The rows are written in time order, as the servers write them.
    ordered = sorted(all_rows(), key=lambda row: row[2])
    db.executemany("INSERT INTO usage_event (workspace_id, api_key_id, at, endpoint, client_address, outcome, calls) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", ordered)
    db.execute("INSERT INTO api_key_last_used (api_key_id, at) SELECT api_key_id, max(at) FROM usage_event "
               "WHERE outcome = 'granted' GROUP BY api_key_id ON CONFLICT (api_key_id) DO UPDATE SET at = excluded.at")
    db.commit()
    key_id = db.execute("SELECT key_id FROM api_key WHERE id = ?", (big,)).fetchone()[0]
    db.close()
    return key_id, len(ordered)


def request(port, path, cookie=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        body = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    began = time.perf_counter()
    connection.request("POST" if body is not None else "GET", path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - began) * 1000
    connection.close()
    return response, data, elapsed


def main():
    for program in (BIN, SEED):
        if not os.access(program, os.X_OK):
            sys.exit(f"insight.py: {program} is missing: run `make bench`")
    if (os.environ.get("BENCH_ENGINE") or "sqlite") != "sqlite":
        say(f"insight: measures SQLite only (BENCH_ENGINE={os.environ['BENCH_ENGINE']} does not apply here)")
    run = tempfile.mkdtemp(prefix="keyward-bench-insight-")
    database = os.path.join(run, "keyward.db")
    env = dict(os.environ, KEYWARD_DB=database, KEYWARD_TEMPLATES=os.path.join(ROOT, "templates"))
    env.pop("KEYWARD_KEY_FILE", None)
    port = None
    try:
        say(f"insight: seeding {KEYS:,} keys and {BIG_KEY_ROWS + OTHER_ROWS:,} usage rows ...")
        subprocess.run([SEED, database, str(KEYS), run], check=True, stdout=subprocess.DEVNULL, env=env)
        now = int(time.time())
        key_id, written = seed_usage(database, now)
        began = time.perf_counter()
        subprocess.run([BIN, "usage", "rollup"], env=env, check=True, stderr=subprocess.DEVNULL)
        rollup_seconds = time.perf_counter() - began
        db = sqlite3.connect(database)
        hourly = [db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("usage_hourly", "usage_hourly_endpoint", "usage_hourly_address")]
        db.close()
        say(f"insight: rolled {written:,} rows up in {rollup_seconds:.1f} s ({written / rollup_seconds:,.0f} rows/s) "
            f"into {hourly[0]:,} hourly, {hourly[1]:,} endpoint and {hourly[2]:,} address rows")
        subprocess.run([BIN, "user", "add", "--email", EMAIL, "--owner"], env=env, input=PASSWORD + "\n",
                       text=True, check=True, capture_output=True)
        port = free_port()
        subprocess.run([os.path.join(ROOT, "www", "run-lighttpd.sh")], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, PORT=str(port), VARDIR=run, BIN=BIN, DETACH="1"))
        wait_for(port)
        response, _, _ = request(port, "/signin", body={"email": EMAIL, "password": PASSWORD})
        cookie = response.getheader("Set-Cookie").split(";", 1)[0]
        pages = [(f"Usage tab {period}", f"/w/1/keys/{key_id}/usage?period={period}") for period in ("24h", "7d", "30d")]
        pages += [(f"dashboard {period}", f"/w/1/?period={period}") for period in ("24h", "7d", "30d")]
        pages += [("Usage 30d, 1 address", f"/w/1/keys/{key_id}/usage?period=30d&address=10.0.1.8"),
                  ("Usage 30d, refused", f"/w/1/keys/{key_id}/usage?period=30d&refused=1")]
        say(f"\n{'page':<20} {'server ms':>10} {'worst':>8} {'round trip ms':>14}   ({ROUNDS} rounds each)")
        missed = []
        for name, path in pages:
            server, trips = [], []
            for _ in range(ROUNDS):
                response, data, elapsed = request(port, path, cookie=cookie)
                if response.status != 200:
                    sys.exit(f"insight.py: {path} answered {response.status}")
                timing = re.fullmatch(r"app;dur=([0-9.]+)", response.getheader("Server-Timing") or "")
                if not timing:
                    sys.exit(f"insight.py: {path} had no Server-Timing header")
                server.append(float(timing.group(1)))
                trips.append(elapsed)
            median = statistics.median(server)
            say(f"{name:<20} {median:>10.1f} {max(server):>8.1f} {statistics.median(trips):>14.1f}")
            if median >= TARGET_MS:
                missed.append(name)
        say(f"\ninsight: target {TARGET_MS:.0f} ms: " + ("met by every page" if not missed else
                                                          "MISSED by " + ", ".join(missed)))
    finally:
        pid_file = os.path.join(run, "lighttpd.pid")
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                subprocess.run(["kill", f.read().strip()])
            time.sleep(0.5)
        shutil.rmtree(run, ignore_errors=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("insight.py: lighttpd did not start")


if __name__ == "__main__":
    main()
