#!/usr/bin/env python3
"""instructions.py: instructions per authorizer request, counted by valgrind's callgrind (`make bench`).

Requests/s on a shared machine swing by several per cent from one run to the next; the number of
instructions a request costs does not. Each authorizer (keyward, and the trivial one of
tests/bench/trivial_authorizer.c as the yardstick) is spawned as a web server spawns it, the
listening socket on fd 0, under callgrind, and sent the same authorizer request FEW and then MANY
times; (instructions for MANY - instructions for FEW) / (MANY - FEW) is the cost of one request,
start-up and shutdown cancelling out. keyward's count includes every thread: the usage writer's
batches too, but not its upkeep (insight_maintain: rollups and retention, which run on a clock).

Instructions are not time (system calls and cache misses are not in them), so this complements
bench.py's requests/s and CPU time; it is what shows exactly what a refusal costs next to a grant.

With BENCH_ENGINE=postgresql, keyward's keys are in a fresh PostgreSQL database (a throwaway cluster
of tests/pg/pgtest.py): the counts are keyward's own (libpq's included), not the database server's,
which bench.py's "db us" shows instead.

Settings (environment): BENCH_ENGINE (sqlite or postgresql), BENCH_FEW (200), BENCH_MANY (1200),
BENCH_KEYWARD (the keyward binary measured, default build/keyward: another build, say one from before
a change, for a before/after comparison).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
from harness import FCGI_AUTHORIZER, fcgi_request  # noqa: E402  (the tests' FastCGI client)

KEYWARD = os.path.abspath(os.environ.get("BENCH_KEYWARD") or os.path.join(ROOT, "build", "keyward"))
TRIVIAL = os.path.join(ROOT, "build", "bench", "trivial_authorizer")
RUN = os.path.join(ROOT, "build", "bench", "instructions")
FEW = int(os.environ.get("BENCH_FEW", "200"))
MANY = int(os.environ.get("BENCH_MANY", "1200"))
TOKEN = re.compile(r"kw_key_[A-Za-z0-9]+_[A-Za-z0-9]+")
ENGINE = os.environ.get("BENCH_ENGINE") or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    sys.exit(f"instructions: BENCH_ENGINE is sqlite or postgresql, not {ENGINE!r}")
KEY_FILE = os.path.join(RUN, "keyward.key")  # the measured database's server key (KEYWARD_KEY_FILE)


def say(text=""):
    print(text, flush=True)


def create_key(database, *arguments, key_file=KEY_FILE):
    env = dict(os.environ, KEYWARD_TEMPLATES=os.path.join(ROOT, "templates"))
    env.pop("KEYWARD_KEY_FILE", None)
    if key_file:
        env["KEYWARD_KEY_FILE"] = key_file
    subprocess.run([KEYWARD, "--db", database, "init"], capture_output=True, env=env, check=True)  # makes it once
    done = subprocess.run([KEYWARD, "--db", database, "key", "create", *arguments], capture_output=True, text=True,
                          env=env)
    match = TOKEN.search(done.stdout)
    if done.returncode != 0 or not match:
        sys.exit(f"instructions: keyward key create failed: {done.stderr.strip()}")
    return match.group(0)


def tokens():
    """(name, token, status keyward must answer, the grant it is compared with), keys made with the CLI.

    A refusal is compared with the grant that does the same checks: the wrong-IP refusal with a
    grant through an allowlist of the same size (the client is 127.0.0.1), the others with a grant
    of a key without one."""
    if ENGINE == "postgresql":
        sys.path.insert(0, os.path.join(ROOT, "tests", "pg"))
        import pgtest
        reason = pgtest.missing()
        if reason:
            sys.exit(f"instructions: BENCH_ENGINE=postgresql, but no PostgreSQL cluster can be started here: {reason}")
        database = pgtest.create_database("instructions")
    else:
        database = os.path.join(RUN, "keyward.db")
    grant = create_key(database, "--name", "granted", "--role", "admin")
    last = "A" if grant[-1] != "A" else "B"
    return database, [
        ("grant", grant, "200", None),
        ("grant_cidr", create_key(database, "--name", "local", "--cidr", "127.0.0.0/8"), "200", None),
        ("missing", None, "401", "grant"),
        ("checksum", grant[:-1] + last, "401", "grant"),
        ("unknown", create_key(os.path.join(RUN, "elsewhere.db"), "--name", "made elsewhere", key_file=None), "401", "grant"),
        ("wrong_ip", create_key(database, "--name", "office", "--cidr", "10.0.0.0/8"), "403", "grant_cidr"),
        ("disabled", create_key(database, "--name", "off", "--disabled"), "401", "grant"),
    ]


def count(binary, database, token, requests, label):
    """Total instructions of `binary` spawned on a listening socket, serving `requests` requests
    (`token` None: no key sent)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    output = os.path.join(RUN, f"callgrind.{label}.{requests}")
    env = dict(os.environ, KEYWARD_DB=database, KEYWARD_KEY_FILE=KEY_FILE,
               KEYWARD_TEMPLATES=os.path.join(ROOT, "templates"))
    env.pop("GATEWAY_INTERFACE", None)
    # Usage upkeep (rollups, retention) runs on the writer thread on a clock, not per request: how
    # many rounds fall inside a run depends on how long callgrind takes, so it is left uncounted.
    # (--toggle-collect turns collection off at start unless --collect-atstart=yes follows it.)
    process = subprocess.Popen(["valgrind", "--tool=callgrind", "--trace-children=no", f"--callgrind-out-file={output}",
                                "--toggle-collect=insight_maintain", "--collect-atstart=yes", binary],
                               stdin=listener.fileno(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    status = None
    try:
        for _ in range(requests):
            params = {"FCGI_ROLE": "AUTHORIZER", "REQUEST_METHOD": "GET", "REQUEST_URI": "/v1/things",
                      "REMOTE_ADDR": "127.0.0.1"}
            if token is not None:
                params["HTTP_AUTHORIZATION"] = "Bearer " + token
            stdout, _, _ = fcgi_request(port, params, role=FCGI_AUTHORIZER)
            status = stdout[8:11].decode("ascii", "replace") if stdout.startswith(b"Status: ") else "???"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
        listener.close()
    totals = subprocess.run(["callgrind_annotate", output], capture_output=True, text=True).stdout
    match = re.search(r"^\s*([\d,]+)(?: \([\d.]+%\))?\s+PROGRAM TOTALS", totals, re.M)
    if not match:
        sys.exit(f"instructions: no totals in {output}")
    return int(match.group(1).replace(",", "")), status


def per_request(binary, database, token, label):
    few, _ = count(binary, database, token, FEW, label)
    many, status = count(binary, database, token, MANY, label)
    return (many - few) / (MANY - FEW), status


def main():
    if shutil.which("valgrind") is None:
        sys.exit("instructions: valgrind is not installed (make bench installs it)")
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(RUN)
    database, scenarios = tokens()
    say(f"== instructions per authorizer request on {'SQLite' if ENGINE == 'sqlite' else 'PostgreSQL'} "
        f"(callgrind; ({MANY} requests - {FEW} requests) / {MANY - FEW})")
    trivial, _ = per_request(TRIVIAL, database, scenarios[0][1], "trivial")
    say(f"{'scenario':<12}{'HTTP':>6}{'keyward':>12}{'trivial':>12}  refusal vs its grant")
    counted = {}
    for name, token, expected, grant in scenarios:
        instructions, status = per_request(KEYWARD, database, token, name)
        if status != expected:
            sys.exit(f"instructions: keyward answered {status} for {name}, expected {expected}")
        counted[name] = instructions
        verdict = ""
        if grant:
            ratio = instructions / counted[grant]
            verdict = f"  {ratio:.2f} of {grant}: " + ("met" if ratio <= 1 else "MISSED (refusals must cost no more)")
        say(f"{name:<12}{status:>6}{instructions:>12,.0f}{trivial:>12,.0f}{verdict}")


if __name__ == "__main__":
    main()
