#!/usr/bin/env python3
"""refusals.py: what requests without a valid key cost the database (`make bench`).

Starts the release build as `keyward serve` on a fresh database and sends it, in FastCGI's
authorizer role as lighttpd and Apache do (harness.fcgi_request), BENCH_REFUSALS requests without a
valid key: each with a path of its own, 500 bytes long, from one of BENCH_ADDRESSES client
addresses (REMOTE_ADDR; half IPv4, half IPv6 each in a /64 of its own). Half the addresses send no
key, the other half a malformed or an unknown one, in turn. Then keyward is stopped with SIGTERM (it
writes what it holds), the WAL is checkpointed into the database file, and the growth of the pages in
use since before the first request is the cost (the file's own growth is printed too: it can be less,
as a fresh database has free pages left by its migrations): target under 200 KB for 100,000 requests
from 1,000 addresses (issue 12, item 5). Before, each such request stored its path and address, about 600 bytes.

It also checks what was stored: every request counted once (per hour, address and outcome), and no
path in the file. A benchmark: it reports and compares with the target, and fails only when the
counts are wrong.

With BENCH_ENGINE=postgresql the same requests go to a keyward on a fresh PostgreSQL database (a
throwaway cluster of tests/pg/pgtest.py): the cost is then the growth of every table of the
database with its indexes and TOAST (pg_total_relation_size, after a VACUUM that lets PostgreSQL
reuse what it can: PostgreSQL has pages per table where SQLite has one file), "the file" is the
database's own folder (pg_database_size), and the path is looked for in that folder's files after
a CHECKPOINT.

Settings (environment): BENCH_ENGINE (sqlite or postgresql), BENCH_REFUSALS (100000), BENCH_ADDRESSES
(1000), BENCH_CLIENTS (4 sending threads), BENCH_KEYWARD (the binary, default build/keyward: an older
build gives the "before").
"""
import glob
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
from harness import FCGI_AUTHORIZER, fcgi_request, free_port, wait_for_port  # noqa: E402

KEYWARD = os.path.abspath(os.environ.get("BENCH_KEYWARD") or os.path.join(ROOT, "build", "keyward"))
REQUESTS = int(os.environ.get("BENCH_REFUSALS", "100000"))
ADDRESSES = int(os.environ.get("BENCH_ADDRESSES", "1000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
TARGET_BYTES = 200 * 1000
PATH_BYTES = 500
TOKEN = re.compile(r"kw_key_[A-Za-z0-9]+_[A-Za-z0-9]+")
ENGINE = os.environ.get("BENCH_ENGINE") or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    sys.exit(f"refusals: BENCH_ENGINE is sqlite or postgresql, not {ENGINE!r}")
if ENGINE == "postgresql":
    sys.path.insert(0, os.path.join(ROOT, "tests", "pg"))
    import pgtest  # noqa: E402


def say(text=""):
    print(text, flush=True)


def address(number):
    """Client address `number`: IPv4 for even numbers, IPv6 (a /64 each, varying inside it) for odd ones."""
    if number % 2 == 0:
        return f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
    return f"2001:db8:{number // 65536:x}:{number % 65536:x}::{number % 7 + 1:x}"


def database_bytes(path):
    """(bytes of the pages in use, bytes of the file) once the WAL is checkpointed into the file;
    on PostgreSQL (bytes of every table with its indexes and TOAST, bytes of the database)."""
    if ENGINE == "postgresql":
        pgtest.psql(path, "VACUUM")
        tables, whole = pgtest.query(path, "SELECT (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                                     "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
                                     "n.nspname = 'public'), pg_database_size(current_database())")[0]
        return int(tables), int(whole)
    connection = sqlite3.connect(path, timeout=30)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            sys.exit("refusals: could not checkpoint the WAL (the database is busy)")
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    finally:
        connection.close()
    return (pages - free) * size, os.path.getsize(path)


def unknown_token(folder):
    """A well-formed key with a right checksum that the measured database does not know."""
    elsewhere = os.path.join(folder, "elsewhere.db")
    env = dict(os.environ, KEYWARD_TEMPLATES=os.path.join(ROOT, "templates"))
    env.pop("KEYWARD_KEY_FILE", None)
    subprocess.run([KEYWARD, "--db", elsewhere, "init"], capture_output=True, stdin=subprocess.DEVNULL, env=env)
    done = subprocess.run([KEYWARD, "--db", elsewhere, "key", "create", "--name", "x"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    match = TOKEN.search(done.stdout)
    if done.returncode != 0 or not match:
        sys.exit(f"refusals: keyward key create failed: {done.stderr.strip()}")
    return match.group(0)


def send(port, first, last, keys, marker, wrong):
    for i in range(first, last):
        number = i % ADDRESSES
        params = {"REQUEST_METHOD": "GET", "REMOTE_ADDR": address(number), "QUERY_STRING": ""}
        head = f"{marker}/{i:08d}/"
        params["REQUEST_URI"] = head + "x" * (PATH_BYTES - len(head))
        key = None if number % 4 < 2 else keys[i % 2]  # per address: no key, or a malformed/unknown one
        if key is not None:
            params["HTTP_AUTHORIZATION"] = "Bearer " + key
        stdout, _, _ = fcgi_request(port, params, role=FCGI_AUTHORIZER)
        if not stdout.startswith(b"Status: 401"):
            wrong.append((i, stdout[:80]))


def stored(database, marker):
    """(requests counted, rows, the table counting them, rows holding a path of this run)."""
    if ENGINE == "postgresql":
        counted, rows = pgtest.query(database, "SELECT coalesce(sum(calls), 0), count(*) FROM usage_refused_hourly")[0]
        paths = pgtest.value(database, f"SELECT count(*) FROM usage_event WHERE endpoint LIKE '{marker}%'")
        return int(counted), int(rows), "usage_refused_hourly", int(paths)
    connection = sqlite3.connect(database)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "usage_refused_hourly" in tables:
            counted, rows = connection.execute("SELECT coalesce(sum(calls), 0), count(*) FROM usage_refused_hourly").fetchone()
            where = "usage_refused_hourly"
        else:  # a build from before: one usage_event row per distinct request
            counted, rows = connection.execute("SELECT coalesce(sum(calls), 0), count(*) FROM usage_event").fetchone()
            where = "usage_event"
        paths = connection.execute("SELECT count(*) FROM usage_event WHERE endpoint LIKE ?", (marker + "%",)).fetchone()[0]
    finally:
        connection.close()
    return counted, rows, where, paths


def files_hold(database, marker):
    """True when the marker is in the database's file (on PostgreSQL: a file of its folder, after a CHECKPOINT)."""
    if ENGINE == "postgresql":
        pgtest.psql(database, "CHECKPOINT")
        data = pgtest.value(database, "SHOW data_directory")
        oid = pgtest.value(database, "SELECT oid FROM pg_database WHERE datname = current_database()")
        paths = glob.glob(os.path.join(data, "base", oid, "*"))
    else:
        paths = [database]
    for path in paths:
        with open(path, "rb") as file:
            if marker.encode() in file.read():
                return True
    return False


def main():
    folder = tempfile.mkdtemp(prefix="keyward-bench-refusals-")
    port = free_port()
    env = dict(os.environ, KEYWARD_TEMPLATES=os.path.join(ROOT, "templates"))
    for name in ("GATEWAY_INTERFACE", "KEYWARD_CONFIG"):
        env.pop(name, None)
    keys = ("kw_key_malformed", unknown_token(folder))
    if ENGINE == "postgresql":
        reason = pgtest.missing()
        if reason:
            sys.exit(f"refusals: BENCH_ENGINE=postgresql, but no PostgreSQL cluster can be started here: {reason}")
        database = pgtest.create_database("refusals")
        env["KEYWARD_KEY_FILE"] = os.path.join(folder, "keyward.key")
    else:
        database = os.path.join(folder, "keyward.db")
        env.pop("KEYWARD_KEY_FILE", None)
    # Only init makes a database and its server key (serve does not).
    subprocess.run([KEYWARD, "--db", database, "init"], env=env, stdin=subprocess.DEVNULL, check=True,
                   capture_output=True)
    log = open(os.path.join(folder, "serve.log"), "wb")
    process = subprocess.Popen([KEYWARD, "--db", database, "serve", "--listen", f"127.0.0.1:{port}", "--threads", "4"],
                               env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_for_port(port):
            sys.exit("refusals: keyward serve did not start")
        before = database_bytes(database)
        marker = f"/bench-refusal-{time.time_ns()}"
        say(f"== requests without a valid key: {REQUESTS:,} with paths of {PATH_BYTES} bytes each their own, "
            f"from {ADDRESSES:,} addresses ({KEYWARD}, on {'SQLite' if ENGINE == 'sqlite' else 'PostgreSQL'})")
        started = time.time()
        wrong = []
        share = (REQUESTS + CLIENTS - 1) // CLIENTS
        threads = [threading.Thread(target=send, args=(port, c * share, min(REQUESTS, (c + 1) * share), keys,
                                                       marker, wrong)) for c in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = time.time() - started
        if wrong:
            sys.exit(f"refusals: {len(wrong)} answers were not 401, the first: {wrong[0]}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
    after = database_bytes(database)
    grown = after[0] - before[0]
    counted, rows, where, paths = stored(database, marker)
    path_in_file = files_hold(database, marker)
    say(f"sent in {took:.1f} s ({REQUESTS / took:,.0f} requests/s through one connection each)")
    in_use, whole = ("database pages in use", "database file") if ENGINE == "sqlite" else \
        ("tables with their indexes", "database folder")
    say(f"{in_use}: {before[0]:,} bytes before, {after[0]:,} after: {grown:,} bytes more, "
        f"{grown / REQUESTS:.2f} bytes per request (target: under {TARGET_BYTES:,} bytes for 100,000 from 1,000 "
        f"addresses: " + ("met" if grown < TARGET_BYTES * REQUESTS / 100000 else "MISSED") + ")")
    say(f"{whole}: {before[1]:,} bytes before, {after[1]:,} after: {after[1] - before[1]:,} bytes more")
    say(f"stored: {counted:,} requests counted in {rows:,} rows of {where}; paths stored: {paths:,}"
        f"{' (the path is in the file)' if path_in_file else ''}")
    shutil.rmtree(folder, ignore_errors=True)
    if counted != REQUESTS:
        sys.exit(f"refusals: {counted:,} requests counted, {REQUESTS:,} sent")


if __name__ == "__main__":
    main()
