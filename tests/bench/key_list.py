"""key_list.py: the key list's views with 100 keys and with 100,000 (make bench; issue 15 item 12).

Two databases are seeded through keyward's own store (build/bench/seed --notes: enabled read-only
keys named "bench key 000123", a note on 1 in 3: "runs on host-17, ask team 5"), then shaped by SQL
as a workspace that has lived a while: 1 key in 10 revoked, 1 in 20 disabled, 1 in 25 expired, 1
in 25 expiring within days, 1 in 100 of the admin role (no column the search index holds changes,
so the index is the one the seed's keys_create() calls made). keyward serves each behind lighttpd
(www/run-lighttpd.sh), both at once, and each view is asked of both in turn: WARMUP times, then
ROUNDS times measured. Printed per view: the median of keyward's own time (its Server-Timing
header: from the request's arrival to the page's last byte written) at each size, the ratio, and
the keys the page showed at each size (the same work, so that the ratio compares like with like).
Target: every view of the first five at 100,000 keys within 3x of its time at 100. The others are
printed with their ratio too, and so are the known costly ones (a filter of 1 or 2 characters that
matches nothing reads the whole state: no trigram to look up).

BENCH_ENGINE=postgresql: both databases in a throwaway cluster (tests/pg/pgtest.py), analyzed after
the seeding (as autovacuum would); then the 100,000-key server is started again with auto_explain
on, and the plan PostgreSQL ran for each view (after the same warm-up, so a generic plan shows
where PostgreSQL would settle on one) is printed.

Settings (environment): BENCH_ENGINE (sqlite or postgresql), BENCH_LIST_SIZES ("100,100000"),
BENCH_LIST_ROUNDS (9), BENCH_LIST_WARMUP (12), BENCH_LIST_VIEWS ("0,2": the views at these places only).
"""
import http.client
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
from harness import free_port, wait_for_port  # noqa: E402
BIN = os.path.join(ROOT, "build", "keyward")
SEED = os.path.join(ROOT, "build", "bench", "seed")
ENGINE = os.environ.get("BENCH_ENGINE") or "sqlite"
SIZES = [int(n) for n in (os.environ.get("BENCH_LIST_SIZES") or "100,100000").split(",")]
ROUNDS = int(os.environ.get("BENCH_LIST_ROUNDS", "9"))
WARMUP = int(os.environ.get("BENCH_LIST_WARMUP", "12"))
TARGET_RATIO = 3.0
MAIN_VIEWS = 5  # the first five views are the issue's: list, no match, a match, a status, a deep page
EMAIL, PASSWORD = "bench@example.com", "a password for the bench"
NOW = int(time.time())

# A workspace that has lived a while (the seed makes enabled read-only keys only). Both engines.
SHAPE = [
    "UPDATE api_key SET enabled = 0 WHERE id % 20 = 7",
    f"UPDATE api_key SET expires_at = {NOW} - 3600 * (id % 100 + 1) WHERE id % 25 = 1",
    f"UPDATE api_key SET expires_at = {NOW} + 86400 * 2 WHERE id % 25 = 2",
    f"UPDATE api_key SET expires_at = {NOW} + 86400 * 90 WHERE id % 25 = 4",
    "UPDATE api_key SET role_id = (SELECT id FROM role WHERE workspace_id = 1 AND name = 'admin') WHERE id % 100 = 5",
    f"UPDATE api_key SET revoked_at = {NOW - 86400}, updated_at = {NOW - 86400} WHERE id % 10 = 3",
]


def say(text=""):
    print(text, flush=True)


class Site:
    """One database of `size` keys and the lighttpd + keyward that serve it."""

    def __init__(self, run, size):
        self.size = size
        self.folder = os.path.join(run, f"keys-{size}")
        os.makedirs(self.folder)
        self.key_file = os.path.join(self.folder, "keyward.key")
        if ENGINE == "postgresql":
            import pgtest
            self.database = pgtest.create_database(f"list_{size}")
        else:
            self.database = os.path.join(self.folder, "keyward.db")
            self.key_file = self.database + ".key"
        self.env = dict(os.environ, KEYWARD_DB=self.database, KEYWARD_KEY_FILE=self.key_file,
                        KEYWARD_TEMPLATES=os.path.join(ROOT, "templates"))
        self.port = None
        self.cookie = None

    def sql(self, statements):
        if ENGINE == "postgresql":
            import pgtest
            pgtest.psql(self.database, ";\n".join(statements) + ";", timeout=1800)
            return
        connection = sqlite3.connect(self.database)
        try:
            for statement in statements:
                connection.execute(statement)
            connection.commit()
        finally:
            connection.close()

    def rows(self, query):
        if ENGINE == "postgresql":
            import pgtest
            return pgtest.query(self.database, query)
        connection = sqlite3.connect(self.database)
        try:
            return [[str(v) for v in row] for row in connection.execute(query)]
        finally:
            connection.close()

    def seed(self):
        began = time.monotonic()
        subprocess.run([SEED, self.database, str(self.size), self.folder, "--notes"], check=True,
                       stdout=subprocess.DEVNULL, env=self.env)
        seeded = time.monotonic() - began
        began = time.monotonic()
        self.sql(SHAPE)
        if ENGINE == "postgresql":
            self.sql(["VACUUM ANALYZE api_key"])
        say(f"key_list: {self.size:,} keys seeded in {seeded:.1f} s, shaped in {time.monotonic() - began:.1f} s")
        subprocess.run([BIN, "user", "add", "--email", EMAIL, "--owner"], env=self.env, input=PASSWORD + "\n",
                       text=True, check=True, capture_output=True)

    def start(self):
        self.port = free_port()
        subprocess.run([os.path.join(ROOT, "www", "run-lighttpd.sh")], check=True, stdout=subprocess.DEVNULL,
                       env=dict(self.env, PORT=str(self.port), VARDIR=self.folder, BIN=BIN, DETACH="1"))
        if not wait_for_port(self.port):
            sys.exit("key_list.py: lighttpd did not start")
        response, _, _ = request(self.port, "/signin", body={"email": EMAIL, "password": PASSWORD})
        self.cookie = response.getheader("Set-Cookie").split(";", 1)[0]

    def stop(self):
        pid_file = os.path.join(self.folder, "lighttpd.pid")
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                pid = int(f.read().strip())
            subprocess.run(["kill", str(pid)])
            for _ in range(50):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)
            os.remove(pid_file) if os.path.exists(pid_file) else None

    def views(self):
        """[(name, path)]: the same views at every size, each showing about the same keys."""
        active = [row[0] for row in self.rows("SELECT key_id FROM api_key WHERE revoked_at IS NULL ORDER BY id DESC")]
        middle = self.rows(f"SELECT key_id, lower(secret_hint) FROM api_key WHERE name = 'bench key {self.size // 2:06d}'")
        deep = active[max(len(active) - 60, 0)]     # a full page of older keys after it
        back = active[max(len(active) - 10, 0)]     # a full page of newer keys before it
        admin = self.rows("SELECT id FROM role WHERE workspace_id = 1 AND name = 'admin'")[0][0]
        key_id, hint = middle[0]
        q = urllib.parse.quote_plus
        return [
            ("list", "/w/1/keys"),
            ("filter, no match", "/w/1/keys?q=" + q("no such key here")),
            ("filter, a match", "/w/1/keys?q=" + q(f"bench key {self.size // 2:06d}")),
            ("status Revoked", "/w/1/keys?status=revoked"),
            ("a page deep in the list", f"/w/1/keys?before={deep}"),
            ("a page back (Newer), deep", f"/w/1/keys?after={back}"),
            ("status Disabled", "/w/1/keys?status=disabled"),
            ("status Expired", "/w/1/keys?status=expired"),
            ("status Expiring soon", "/w/1/keys?status=expiring"),
            ("role admin", f"/w/1/keys?role={admin}"),
            ("filter, a note's words", "/w/1/keys?q=" + q("host-17, ask")),
            ("filter, a key ID's part", "/w/1/keys?q=" + q(key_id[4:12])),
            ("filter, the last 4", "/w/1/keys?q=" + q("…" + hint)),
            ("filter, every key matches", "/w/1/keys?q=bench"),
            ("filter, no match, common trigrams", "/w/1/keys?q=" + q("key 0000000")),
            ("filter, 2 characters", "/w/1/keys?q=ke"),
            ("filter, 2 characters, no match", "/w/1/keys?q=zq"),
        ]


def request(port, path, cookie=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
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


def server_ms(site, path):
    """keyward's time for one GET of `path` (its Server-Timing), and the keys the page listed."""
    response, data, _ = request(site.port, path, cookie=site.cookie)
    if response.status != 200:
        sys.exit(f"key_list.py: {path} answered {response.status} with {site.size:,} keys")
    timing = re.fullmatch(r"app;dur=([0-9.]+)", response.getheader("Server-Timing") or "")
    if not timing:
        sys.exit(f"key_list.py: {path} had no Server-Timing header")
    return float(timing.group(1)), len(re.findall(rb"<code>key_", data))


def measure(sites):
    """{view name: {size: (median ms, keys shown)}}, the sites asked in turn, view by view."""
    views = {site.size: site.views() for site in sites}
    if os.environ.get("BENCH_LIST_VIEWS"):  # "0,2": the first and the third view only
        chosen = [int(n) for n in os.environ["BENCH_LIST_VIEWS"].split(",")]
        views = {size: [found[n] for n in chosen] for size, found in views.items()}
    names = [name for name, _ in views[sites[0].size]]
    results = {}
    for index, name in enumerate(names):
        for _ in range(WARMUP):
            for site in sites:
                server_ms(site, views[site.size][index][1])
        times = {site.size: [] for site in sites}
        shown = {}
        for _ in range(ROUNDS):
            for site in sites:
                ms, keys = server_ms(site, views[site.size][index][1])
                times[site.size].append(ms)
                shown[site.size] = keys
        results[name] = {size: (statistics.median(times[size]), shown[size]) for size in times}
    return names, results, views


def report(sites, names, results):
    small, large = sites[0].size, sites[-1].size
    say(f"\nkey list on {ENGINE}: keyward's Server-Timing, median of {ROUNDS} (after {WARMUP} warm-up requests)")
    say(f"{'view':<36} {f'{small:,} keys':>11} {f'{large:,} keys':>14} {'ratio':>7}   keys shown")
    missed = []
    for index, name in enumerate(names):
        (a, a_keys), (b, b_keys) = results[name][small], results[name][large]
        ratio = b / a if a > 0 else float("inf")
        flag = ""
        if index < MAIN_VIEWS and ratio > TARGET_RATIO:
            missed.append(name)
            flag = "  MISSED"
        elif ratio > TARGET_RATIO:
            flag = "  (over 3x)"
        say(f"{name:<36} {a:>8.2f} ms {b:>11.2f} ms {ratio:>6.1f}x   {a_keys} / {b_keys}{flag}")
        if index == MAIN_VIEWS - 1:
            say("  " + "-" * 80)
    say("(keys shown: a view that shows a few keys at 100 and a full page at 100,000 also renders more)")
    say(f"\nkey_list: target {TARGET_RATIO:.0f}x for the first {MAIN_VIEWS} views: "
        + ("met by each" if not missed else "MISSED by " + ", ".join(missed)))


def postgresql_log(site):
    import pgtest
    folder = pgtest.cluster().folder
    with open(os.path.join(folder, "cluster.env")) as f:
        base = re.search(r"^base=(.*)$", f.read(), re.M).group(1)
    return os.path.join(base, "server.log")


def plans(site, views):
    """PostgreSQL's plan of each view's list statement, as auto_explain logged it after the warm-up."""
    import pgtest
    site.stop()
    name = urllib.parse.urlsplit(site.database).path.lstrip("/")
    pgtest.psql(site.database, f"LOAD 'auto_explain'; ALTER DATABASE \"{name}\" SET session_preload_libraries = 'auto_explain'; "
                               f"ALTER DATABASE \"{name}\" SET auto_explain.log_min_duration = 0; "
                               f"ALTER DATABASE \"{name}\" SET auto_explain.log_analyze = on; "
                               f"ALTER DATABASE \"{name}\" SET auto_explain.log_timing = off;")
    site.start()
    log = postgresql_log(site)
    say(f"\nPostgreSQL's plans at {site.size:,} keys (auto_explain, the last run of each view's list statement):")
    for view, path in views:
        for _ in range(WARMUP):
            server_ms(site, path)
        with open(log, errors="replace") as f:
            f.seek(0, 2)
            start = f.tell()
        server_ms(site, path)
        time.sleep(0.2)
        with open(log, errors="replace") as f:
            f.seek(start)
            text = f.read()
        found = None
        for block in re.split(r"\n(?=\S)", text):
            if "Query Text:" in block and "FROM api_key k" in block and "LIMIT $7" in block:
                found = block
        say(f"  {view}:")
        if found is None:
            say("    (no plan logged)")
            continue
        lines = found.split("\n")
        plan = [line for line in lines[1:] if line.strip() and "Query Text:" not in line
                and not line.lstrip().startswith(("SELECT", "\"", "FROM", "WHERE", "AND", "OR", "ORDER", "("))]
        for line in plan:
            line = re.sub(r"\s+\(cost=[^)]*\)", "", line.rstrip())
            if re.search(r"->|^\s*(Limit|Sort|Index|Bitmap|Seq|Nested|Hash)", line) or "rows=" in line:
                say("    " + line.strip("\t")[:150])


def main():
    for program in (BIN, SEED):
        if not os.access(program, os.X_OK):
            sys.exit(f"key_list.py: {program} is missing: run `make bench`")
    if ENGINE not in ("sqlite", "postgresql"):
        sys.exit(f"key_list.py: BENCH_ENGINE is sqlite or postgresql, not {ENGINE!r}")
    if ENGINE == "postgresql":
        sys.path.insert(0, os.path.join(ROOT, "tests", "pg"))
        import pgtest
        reason = pgtest.missing()
        if reason:
            sys.exit(f"key_list.py: BENCH_ENGINE=postgresql, but no PostgreSQL cluster can be started here: {reason}")
    run = tempfile.mkdtemp(prefix="keyward-bench-list-")
    sites = [Site(run, size) for size in sorted(SIZES)]
    try:
        for site in sites:
            site.seed()
        for site in sites:
            site.start()
        names, results, views = measure(sites)
        report(sites, names, results)
        if ENGINE == "postgresql":
            plans(sites[-1], views[sites[-1].size])
    finally:
        for site in sites:
            site.stop()
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    main()
