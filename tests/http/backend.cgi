#!/usr/bin/python3
"""backend.cgi: the sample protected API of the real-server tests (test_gatekeeper.py).

A CGI script that stands for the operator's API behind keyward. For every request that reaches it,
it appends one JSON line to backend.log in its own folder (the harness copies it into each test's
data folder), then answers 200 with the same JSON, so a test can check both what the backend saw
(the KEYWARD_* variables that lighttpd or Apache took from keyward's Variable-* answer) and that
a refused request never got this far.
"""
import fcntl
import json
import os
import sys

SEEN = ("REQUEST_METHOD", "REQUEST_URI", "PATH_INFO", "REMOTE_ADDR", "REMOTE_USER", "KEYWARD_KEY_ID",
        "KEYWARD_KEY_NAME", "KEYWARD_ROLE", "KEYWARD_PERMISSIONS", "KEYWARD_WORKSPACE_ID", "KEYWARD_KEY_SECRET")


def main():
    record = {name: os.environ.get(name) for name in SEEN}
    # Whether the key itself came along (the backend may not need it; never logged).
    record["has_authorization"] = "HTTP_AUTHORIZATION" in os.environ
    record["has_x_api_key"] = "HTTP_X_API_KEY" in os.environ
    length = int(os.environ.get("CONTENT_LENGTH") or 0)
    record["body"] = sys.stdin.buffer.read(length).decode("utf-8", "replace") if length else ""
    line = json.dumps(record, sort_keys=True)
    log = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend.log")
    with open(log, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line + "\n")
    body = (line + "\n").encode()
    sys.stdout.buffer.write(b"Status: 200 OK\r\nContent-Type: application/json\r\n"
                            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
