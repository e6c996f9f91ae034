"""run.py: the console's browser tests (console.test.mjs) in a real headless Chromium, against the
sanitizer build behind a real web server, and a total line "browser: N passed, M failed".

Three runs, each on a fresh server and database (tests/http/harness.py starts them the way the
HTTP tests do, with a sample API behind the gatekeeper so that the Usage tab has traffic to show):
lighttpd with JavaScript on, lighttpd with JavaScript off, Apache (mod_proxy_fcgi and
mod_authnz_fcgi to `keyward serve`) with JavaScript on. Screenshots of every page go to
tests/artifacts/<run>/ (ignored by git). playwright-core and axe-core come from
tests/browser/node_modules (npm ci, which `make test` runs); the browser is Debian's
/usr/bin/chromium (KEYWARD_CHROMIUM to use another). A server whose log shows a sanitizer report
fails its run.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))

import harness  # noqa: E402  (needs the path above)

RUNS = [
    ("lighttpd-js", harness.LighttpdGatekeeper, "on"),
    ("lighttpd-nojs", harness.LighttpdGatekeeper, "off"),
    ("apache-js", harness.ApacheGatekeeper, "on"),
]


def run_one(name, server_class, javascript):
    """Start a server, run the browser tests against it; returns (passed, failed)."""
    artifacts = os.path.join(ROOT, "tests", "artifacts", name)
    os.makedirs(artifacts, exist_ok=True)
    for old in os.listdir(artifacts):
        if old.endswith(".png"):
            os.remove(os.path.join(artifacts, old))
    server = server_class()
    try:
        env = dict(os.environ, KW_BASE=f"http://127.0.0.1:{server.port}", KW_EMAIL=server.OWNER_EMAIL,
                   KW_PASSWORD=server.OWNER_PASSWORD, KW_JS=javascript, KW_RUN=name, KW_ARTIFACTS=artifacts,
                   KW_API_PREFIX=harness.API_PREFIX,
                   KW_CHROMIUM=os.environ.get("KEYWARD_CHROMIUM", "/usr/bin/chromium"))
        done = subprocess.run(["node", "--test", "--test-reporter=tap", os.path.join(HERE, "console.test.mjs")],
                              cwd=HERE, env=env, capture_output=True, text=True, timeout=900)
        output = done.stdout + done.stderr
        print(output)
        passed = int((re.findall(r"^# pass (\d+)", output, re.M) or ["0"])[-1])
        failed = int((re.findall(r"^# fail (\d+)", output, re.M) or ["0"])[-1])
        if done.returncode != 0 and failed == 0:
            failed = 1
    finally:
        server.stop()
        log = server.error_log()
        report = harness.sanitizer_report(log)
        server.cleanup()
    if report:
        print(f"!! {name}: {report} in the server's log:\n{log[-4000:]}")
        failed += 1
    print(f"== browser {name}: {passed} passed, {failed} failed")
    return passed, failed


def main():
    if sys.argv[1:] == ["--list"]:  # the runs' names, for tests/run-all.sh
        print("\n".join(name for name, _, _ in RUNS))
        return
    passed = failed = 0
    only = os.environ.get("KEYWARD_BROWSER_RUNS")
    for name, server_class, javascript in RUNS:
        if only and name not in only.split(","):
            continue
        p, f = run_one(name, server_class, javascript)
        passed += p
        failed += f
    print(f"browser: {passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
