#!/usr/bin/env python3
"""bench.py: keyward's speed as a FastCGI authorizer, next to a trivial one (`make bench`).

Seeds a fresh database with many keys (tests/bench/seed.c: one transaction through the store API, on
either engine), starts lighttpd on a free loopback
port with two locations in front of the same static file, one guarded by the trivial authorizer
(always 200) and one by keyward (usage recording on), and drives both with wrk, the same
settings for each, interleaved (trivial, keyward, trivial, keyward...) because the machine is
noisy. Prints requests/s and p99 latency of each and keyward's ratio to the trivial one, for
granted and refused requests, and the CPU time each authorizer's processes spent per request
(user + system, all threads, from /proc: far less noisy than requests/s on a shared machine, so
it is what compares refusals with grants); then the RSS of each keyward process and, after
lighttpd has stopped keyward with SIGTERM, the usage rows written against the requests sent.

BENCH_ENGINE=postgresql runs the same scenarios with keyward on PostgreSQL: a throwaway cluster of
tests/pg/pgtest.py (started for the run, stopped at its end), a database made from its template,
the server key in a file of the run folder (KEYWARD_KEY_FILE). The CPU columns then also give, as
"db us", what the cluster's processes spent per request of each location: keyward's CPU alone
would leave out the work it hands to the database, which runs on the same cores.

A benchmark, not a test: it reports and compares with the targets, it does not fail on them.

Settings (environment):
  BENCH_ENGINE       sqlite (the default: a database file) or postgresql
  BENCH_KEYS         keys in the database (100000)
  BENCH_ROUNDS       rounds of every scenario (3); the summary takes the median
  BENCH_DURATION     wrk duration per measurement (10s), after one BENCH_WARMUP (2s) per location
  BENCH_THREADS      wrk threads (2)
  BENCH_CONNECTIONS  wrk connections (32)
  BENCH_PROCS        max-procs of each authorizer (2)
  BENCH_SCENARIOS    comma-separated scenario names (default: all)
  BENCH_KEYWARD      the keyward binary measured at /keyward/ (default build/keyward, which make builds)
  BENCH_BASELINE     another keyward binary (say, a build from before a change): measured in the
                     same rounds at /baseline/, on the same database, for a before/after comparison
"""
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "tests", "bench")
BUILD = os.path.join(ROOT, "build", "bench")
RUN = os.path.join(BUILD, "run")
KEYWARD = os.path.abspath(os.environ.get("BENCH_KEYWARD") or os.path.join(ROOT, "build", "keyward"))

ENGINE = os.environ.get("BENCH_ENGINE") or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    sys.exit(f"bench: BENCH_ENGINE is sqlite or postgresql, not {ENGINE!r}")
KEY_FILE = os.path.join(RUN, "keyward.key")

KEYS = int(os.environ.get("BENCH_KEYS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
WARMUP = os.environ.get("BENCH_WARMUP", "2s")
THREADS = os.environ.get("BENCH_THREADS", "2")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "32")
PROCS = int(os.environ.get("BENCH_PROCS", "2"))
BASELINE = os.path.abspath(os.environ["BENCH_BASELINE"]) if os.environ.get("BENCH_BASELINE") else None

# Issue 14: on SQLite, grants at 0.90 of the trivial authorizer and 16 MB a process; on PostgreSQL (a
# cache in each process, the generation from LISTEN/NOTIFY, usage sent in batches) 0.85 and 24 MB.
GRANT_TARGET = {"sqlite": 0.90, "postgresql": 0.85}[ENGINE]
RSS_TARGET_KB = {"sqlite": 16, "postgresql": 24}[ENGINE] * 1024

# name, token file written by the seed, status keyward must answer, description
SCENARIOS = [
    ("grant", "grant.txt", 200, "granted (one key)"),
    ("grant_many", "grant_many.txt", 200, "granted (1,000 keys in turn)"),
    ("checksum", "checksum.txt", 401, "refused: bad checksum"),
    ("unknown", "unknown.txt", 401, "refused: unknown key"),
    ("wrong_ip", "wrong_ip.txt", 403, "refused: wrong IP"),
    ("disabled", "disabled.txt", 401, "refused: disabled key"),
]
if os.environ.get("BENCH_SCENARIOS"):
    chosen = os.environ["BENCH_SCENARIOS"].split(",")
    SCENARIOS = [s for s in SCENARIOS if s[0] in chosen]

# The locations measured in each round, in this order; ratios are to "trivial" of the same round.
CONTENDERS = ["trivial", "keyward"] + (["baseline"] if BASELINE else [])
# On PostgreSQL, a "db us" column beside each "cpu us".
DB_COLUMN = ENGINE == "postgresql"


def say(text=""):
    print(text, flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url, token=None):
    """(status, body) of a GET to url, with the token as Bearer when given."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def make_database():
    """The database keyward is measured on: a file in RUN, or a fresh PostgreSQL database (a
    throwaway cluster of tests/pg/pgtest.py, stopped when this process exits); returns its
    KEYWARD_DB value."""
    if ENGINE == "sqlite":
        return os.path.join(RUN, "keyward.db")
    sys.path.insert(0, os.path.join(ROOT, "tests", "pg"))
    import pgtest
    reason = pgtest.missing()
    if reason:
        sys.exit(f"bench: BENCH_ENGINE=postgresql, but no PostgreSQL cluster can be started here: {reason}")
    started = time.monotonic()
    database = pgtest.create_database("bench")
    say(f"PostgreSQL: a throwaway cluster (tests/pg/cluster.sh), database bench ({time.monotonic() - started:.1f} s)")
    return database


def database_rows(database, sql):
    """The rows `sql` returns from the measured database, as tuples of ints or strings."""
    if ENGINE == "sqlite":
        import sqlite3
        connection = sqlite3.connect(database)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()
    import pgtest
    return [tuple(int(v) if re.fullmatch(r"-?\d+", v) else v for v in row) for row in pgtest.query(database, sql)]


def database_processes():
    """PIDs of the PostgreSQL cluster's processes (postmaster and backends); none on SQLite."""
    if ENGINE == "sqlite":
        return []
    import pgtest
    data = pgtest.value(pgtest.cluster().conninfo, "SHOW data_directory")
    with open(os.path.join(data, "postmaster.pid")) as file:
        postmaster = int(file.readline())
    found = [postmaster]
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as file:
                if int(file.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                    found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def seed(database):
    """Seed the database; returns {scenario: [tokens]}."""
    started = time.monotonic()
    env = dict(os.environ, KEYWARD_KEY_FILE=KEY_FILE)
    output = subprocess.run([os.path.join(BUILD, "seed"), database, str(KEYS), RUN],
                            check=True, capture_output=True, text=True, env=env).stdout.strip()
    say(f"{output} (wall {time.monotonic() - started:.1f} s)")
    tokens = {}
    for name, path, _, _ in SCENARIOS:
        with open(os.path.join(RUN, path)) as file:
            tokens[name] = [line.strip() for line in file if line.strip()]
    say("tokens sent (throwaway keys of this run's database):")
    for name, _, status, _ in SCENARIOS:
        extra = f"  (+{len(tokens[name]) - 1:,} more)" if len(tokens[name]) > 1 else ""
        say(f"  {name:<11}{status}  {tokens[name][0]}{extra}")
    return tokens


def baseline_block(run, database):
    return f"""
# BENCH_BASELINE: the same as /keyward/, with another keyward binary.
alias.url += ( "/baseline/" => "{run}/backend/" )
fastcgi.server += (
  "/baseline/" => ((
    "mode" => "authorizer", "bin-path" => "{BASELINE}", "socket" => "{run}/baseline.sock",
    "max-procs" => {PROCS}, "check-local" => "disable",
    "bin-environment" => ( "KEYWARD_DB" => "{database}", "KEYWARD_KEY_FILE" => "{KEY_FILE}",
                           "KEYWARD_TEMPLATES" => "{ROOT}/templates" ),
  )),
)
"""


def start_lighttpd(port, database):
    backend = os.path.join(RUN, "backend")
    os.makedirs(backend)
    with open(os.path.join(backend, "ok.json"), "w") as file:
        file.write('{"ok":true}\n')
    values = {
        "PORT": str(port), "RUN": RUN, "BACKEND": backend, "TRIVIAL": os.path.join(BUILD, "trivial_authorizer"),
        "KEYWARD": KEYWARD, "TEMPLATES": os.path.join(ROOT, "templates"), "PROCS": str(PROCS),
        "DATABASE": database, "KEY_FILE": KEY_FILE,
    }
    with open(os.path.join(BENCH, "lighttpd.conf")) as file:
        text = file.read()
    for name, value in values.items():
        text = text.replace("@" + name + "@", value)
    if BASELINE:
        text += baseline_block(RUN, database)
    conf = os.path.join(RUN, "lighttpd.conf")
    with open(conf, "w") as file:
        file.write(text)
    lighttpd = subprocess.Popen(["lighttpd", "-D", "-f", conf], stdin=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return lighttpd
        except OSError:
            if lighttpd.poll() is not None:
                break
            time.sleep(0.1)
    sys.exit("bench: lighttpd did not start; see " + os.path.join(RUN, "lighttpd-error.log"))


def children(parent, binary):
    """PIDs of parent's children running `binary`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent and os.readlink(f"/proc/{entry}/exe") == binary:
                found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return sorted(found)


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """User + system CPU time of these processes (all their threads) so far, in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            continue
    return total / CLOCK_TICKS


def to_ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, token_file, duration):
    """Run wrk; returns dict(rps, p99 in ms, requests, non2xx, errors)."""
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}", "--latency",
               "-s", os.path.join(BENCH, "tokens.lua"), url, "--", token_file]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non2xx": 0,
        "errors": 0,
    }
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        result["non2xx"] = int(non2xx.group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if errors:
        result["errors"] = sum(int(n) for n in errors.groups())
    return result


def unexpected(run, status):
    """How many answers of a wrk run were not what the scenario expects (status 200 or a refusal)."""
    wrong = run["non2xx"] if status == 200 else run["requests"] - run["non2xx"]
    return wrong + run["errors"]


def check_answers(base, tokens):
    """Make sure every location answers as each scenario expects; returns the requests sent to keyward."""
    for location in CONTENDERS[1:]:
        for name, _, status, _ in SCENARIOS:
            got, body = fetch(f"{base}/{location}/ok.json", tokens[name][0])
            if got != status:
                sys.exit(f"bench: {location} answered {got} for the {name} token, expected {status}: {body[:200]!r}")
    got, _ = fetch(base + "/trivial/ok.json")
    if got != 200:
        sys.exit(f"bench: the trivial authorizer answered {got}")
    return len(SCENARIOS)


def median_of(runs, field):
    return statistics.median(run[field] for run in runs)


def main():
    if os.path.exists(RUN):
        subprocess.run(["rm", "-rf", RUN], check=True)
    lighttpd_version = subprocess.run(["lighttpd", "-v"], capture_output=True, text=True).stdout.split()[0]
    os.makedirs(RUN)
    engine = "SQLite" if ENGINE == "sqlite" else "PostgreSQL"
    say(f"== keyward bench on {engine}: {KEYS:,} keys; {lighttpd_version}, {PROCS} processes per authorizer; "
        f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION} after a {WARMUP} warm-up; {ROUNDS} rounds of "
        + " / ".join(CONTENDERS) + " in turn")
    if BASELINE:
        say(f"   baseline: {BASELINE}")
    database = make_database()
    tokens = seed(database)
    port = free_port()
    lighttpd = start_lighttpd(port, database)
    base = f"http://127.0.0.1:{port}"
    binaries = {"keyward": KEYWARD, "baseline": BASELINE}
    results = {name: {who: [] for who in CONTENDERS} for name, _, _, _ in SCENARIOS}
    sent = {who: 0 for who in CONTENDERS[1:]}
    pids = {}
    try:
        sent["keyward"] += check_answers(base, tokens)
        if BASELINE:
            sent["baseline"] += len(SCENARIOS)
        pids = {who: children(lighttpd.pid, binaries[who]) for who in CONTENDERS[1:]}
        trivial_pids = children(lighttpd.pid, os.path.join(BUILD, "trivial_authorizer"))
        measured = dict(pids, trivial=trivial_pids)
        for who in CONTENDERS:
            run = wrk(f"{base}/{who}/ok.json", os.path.join(RUN, SCENARIOS[0][1]), WARMUP)
            if who in sent:
                sent[who] += run["requests"]
        say()
        header = f"{'round':<6}{'scenario':<12}" + "".join(f"{who + ' req/s':>16}{'p99 ms':>8}{'cpu us':>8}"
                                                            + (f"{'db us':>7}" if DB_COLUMN else "")
                                                            for who in CONTENDERS)
        header += "".join(f"{who[:7] + '/triv':>13}" for who in CONTENDERS[1:]) + "  answers"
        say(header)
        for round_number in range(1, ROUNDS + 1):
            for name, path, status, _ in SCENARIOS:
                runs = {}
                for who in CONTENDERS:
                    before = cpu_seconds(measured[who])
                    db_pids = database_processes()
                    db_before = cpu_seconds(db_pids)
                    runs[who] = wrk(f"{base}/{who}/ok.json", os.path.join(RUN, path), DURATION)
                    # Keyward's usage writer may still be storing the last second's batch: let it.
                    time.sleep(1.5)
                    requests = max(runs[who]["requests"], 1)
                    runs[who]["cpu"] = (cpu_seconds(measured[who]) - before) * 1e6 / requests
                    runs[who]["db"] = (cpu_seconds(db_pids) - db_before) * 1e6 / requests
                    runs[who]["all"] = runs[who]["cpu"] + runs[who]["db"]
                    results[name][who].append(runs[who])
                    if who in sent:
                        sent[who] += runs[who]["requests"]
                wrong = sum(unexpected(runs[who], status) for who in CONTENDERS[1:]) + \
                    unexpected(runs["trivial"], 200)
                line = f"{round_number:<6}{name:<12}"
                line += "".join(f"{runs[who]['rps']:>16.0f}{runs[who]['p99']:>8.2f}{runs[who]['cpu']:>8.1f}"
                                + (f"{runs[who]['db']:>7.1f}" if DB_COLUMN else "") for who in CONTENDERS)
                line += "".join(f"{runs[who]['rps'] / runs['trivial']['rps']:>13.2f}" for who in CONTENDERS[1:])
                say(line + ("  as expected" if wrong == 0 else f"  {wrong} UNEXPECTED"))
        rss = {who: [(pid, status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM")) for pid in pids[who]
                     if os.path.exists(f"/proc/{pid}")] for who in CONTENDERS[1:]}
    finally:
        lighttpd.send_signal(signal.SIGTERM)  # lighttpd stops its FastCGI children with SIGTERM
        lighttpd.wait(timeout=60)
        every = [pid for group in pids.values() for pid in group]
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{pid}") for pid in every) and time.monotonic() < deadline:
            time.sleep(0.1)

    say()
    say(f"== summary ({engine}): medians of {ROUNDS} rounds; ratio = req/s / trivial req/s of the same round; "
        "cpu us = CPU microseconds the authorizer's processes spent per request"
        + ("; db us = the same for PostgreSQL's processes during that location's runs" if DB_COLUMN else ""))
    say(f"{'scenario':<30}{'HTTP':>5}" + "".join(f"{who + ' req/s':>16}{'p99 ms':>8}{'cpu us':>8}"
                                                 + (f"{'db us':>7}" if DB_COLUMN else "") for who in CONTENDERS)
        + "".join(f"{who[:7] + '/triv':>13}" for who in CONTENDERS[1:]) + "  target (keyward)")
    ratios = {}
    for name, _, status, label in SCENARIOS:
        runs = results[name]
        ratios[name] = {who: statistics.median(r["rps"] / t["rps"] for r, t in zip(runs[who], runs["trivial"]))
                        for who in CONTENDERS[1:]}
    # Refusals must be at least as fast as grants: judged by keyward's CPU per request, which the
    # neighbours on a shared machine disturb far less than requests/s (the ratio is shown too). On
    # PostgreSQL, with the database's CPU for those requests added: work handed over is not free.
    spent = "all" if DB_COLUMN else "cpu"
    grant_cpu = median_of(results["grant"]["keyward"], spent) if "grant" in results else None
    for name, _, status, label in SCENARIOS:
        runs = results[name]
        ratio = ratios[name]["keyward"]
        cpu = median_of(runs["keyward"], spent)
        if name.startswith("grant"):
            target = f"ratio >= {GRANT_TARGET:.2f}: " + ("met" if ratio >= GRANT_TARGET else "MISSED")
        elif grant_cpu is not None:
            target = (f"cpu{' + db' if DB_COLUMN else ''} {cpu:.1f} <= grant's {grant_cpu:.1f} us: "
                      + ("met" if cpu <= grant_cpu else "MISSED"))
        else:
            target = ""
        say(f"{label:<30}{status:>5}"
            + "".join(f"{median_of(runs[who], 'rps'):>16.0f}{median_of(runs[who], 'p99'):>8.2f}"
                      f"{median_of(runs[who], 'cpu'):>8.1f}"
                      + (f"{median_of(runs[who], 'db'):>7.1f}" if DB_COLUMN else "") for who in CONTENDERS)
            + "".join(f"{ratios[name][who]:>13.2f}" for who in CONTENDERS[1:]) + "  " + target)

    say()
    say("== memory of each keyward process (VmRSS at the end of the load, before shutdown; "
        f"target < {RSS_TARGET_KB // 1024} MB)")
    for who in CONTENDERS[1:]:
        for pid, now_kb, peak_kb in rss[who]:
            say(f"  {who:<9} pid {pid}: VmRSS {now_kb / 1024:5.1f} MB  (peak VmHWM {peak_kb / 1024:5.1f} MB)  "
                + ("met" if now_kb < RSS_TARGET_KB else "MISSED"))

    say()
    say("== usage recording: decisions in usage_event (known keys) and usage_refused_hourly (without a valid key), "
        "the last batch written when lighttpd stopped keyward (SIGTERM)")
    rows, decisions = database_rows(database, "SELECT count(*), coalesce(sum(calls), 0) FROM usage_event")[0]
    counted_rows, counted = database_rows(database, "SELECT count(*), coalesce(sum(calls), 0) "
                                          "FROM usage_refused_hourly")[0]
    decisions += counted
    by_outcome = database_rows(database, "SELECT outcome, sum(calls) FROM (SELECT outcome, calls FROM usage_event "
                               "UNION ALL SELECT outcome, calls FROM usage_refused_hourly) AS decided "
                               "GROUP BY outcome ORDER BY 2 DESC")
    total_sent = sum(sent.values())
    say(f"  requests sent to keyward ({', '.join(CONTENDERS[1:])}): {total_sent:,}  "
        f"(wrk's completed responses + {len(SCENARIOS)} checks each)")
    say(f"  decisions recorded:          {decisions:,}  ({decisions - total_sent:+,}; wrk does not count the "
        f"requests still in flight when it stops: at most {CONNECTIONS} a run)")
    say(f"  usage_event rows:            {rows:,}  (identical decisions of one second share a row)")
    say(f"  usage_refused_hourly rows:   {counted_rows:,}  (one per hour, client address and outcome)")
    say("  by outcome: " + ", ".join(f"{outcome} {count:,}" for outcome, count in by_outcome))
    with open(os.path.join(RUN, "authorizers.log")) as file:
        log = [line.strip() for line in file if line.strip()]
    if log:
        say(f"  authorizers.log ({len(log)} lines): " + " | ".join(log[:3]))
    say(f"\n(run folder {os.path.relpath(RUN, ROOT)}: " + ("database, " if ENGINE == "sqlite" else "")
        + "server key, token files, lighttpd.conf, logs)")


if __name__ == "__main__":
    main()
