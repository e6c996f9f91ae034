"""test_modes.py: the one binary in its other roles: the command line, plain CGI, and a standalone
FastCGI server (reached both by the minimal FastCGI client in harness.py, and through a lighttpd
configured with "host"/"port" and no bin-path, as the README describes)."""
import http.client
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import (BIN, database_env, ROOT, TEMPLATES, TOKEN_PATTERN, Document, Server, ServerTestCase, fastcgi_sign_in,
                     fcgi_request, free_port, init_database,
                     header, parse_cgi_output, sanitizer_report, secret_from, wait_for_exit, wait_for_port)


class CommandLineTest(ServerTestCase):
    """`keyward` as a command, against the database the running console uses."""

    # Every command of the table, by its words.
    COMMANDS = ("serve", "init", "backup", "key create", "key list", "user add", "user list", "user disable",
                "user enable", "user remove", "user reset-password", "user unlock", "workspace create",
                "usage rollup", "setup-link")

    def test_help(self):
        for args in (["--help"], ["-h"], ["help"]):
            done = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("usage: keyward", done.stdout)
            for words in (*self.COMMANDS, "KEYWARD_DB", "exit status: 0 done; 1 refused or failed"):
                self.assertIn(words, done.stdout)
            self.assertIsNone(sanitizer_report(done.stderr))

    def test_each_command_has_its_help_and_one_convention(self):
        """`keyward help COMMAND` and `COMMAND --help` print the same usage, made from the table, without
        touching any database; a wrong command line is exit status 2, found before the database is opened."""
        nowhere = os.path.join(self.server.folder, "no-such.db")
        for command in self.COMMANDS:
            with self.subTest(command=command):
                words = command.split()
                helped = subprocess.run([BIN, "help", *words], capture_output=True, text=True, timeout=30)
                self.assertEqual(helped.returncode, 0, helped.stderr)
                self.assertTrue(helped.stdout.startswith(f"usage: keyward {command}"), helped.stdout)
                asked = subprocess.run([BIN, "--db", nowhere, *words, "--help"], capture_output=True, text=True,
                                       timeout=30)
                self.assertEqual((asked.returncode, asked.stdout), (0, helped.stdout))
                wrong = subprocess.run([BIN, "--db", nowhere, *words, "--no-such-option"], capture_output=True,
                                       text=True, timeout=30, stdin=subprocess.DEVNULL)
                self.assertEqual(wrong.returncode, 2, wrong.stderr)
                self.assertIn(f"keyward: {command}: unknown option --no-such-option", wrong.stderr)
                self.assertIn(f"usage: keyward {command}", wrong.stderr)
                self.assertNotIn("no database", wrong.stderr)
                self.assertFalse(os.path.exists(nowhere))
        for args, message in ((["key", "create"], "--name is needed"),
                              (["key", "list", "--workspace", "0"], "--workspace takes a whole number from 1"),
                              (["key", "list", "--workspace", "1", "--workspace", "2"], "--workspace is given twice"),
                              (["backup"], "PATH is needed"),
                              (["backup", "a", "b"], 'unexpected "b"'),
                              (["user", "add", "--email", "a@example.com", "--owner", "--role", "admin"],
                               "--owner and --role are one choice"),
                              (["serve", "--listen", "127.0.0.1:1", "--gatekeeper-threads", "2"],
                               "--gatekeeper-threads needs --gatekeeper"),
                              (["help", "frob"], 'no command "frob"')):
            with self.subTest(args=args):
                done = subprocess.run([BIN, "--db", nowhere, *args], capture_output=True, text=True, timeout=30)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn(message, done.stderr)
                self.assertFalse(os.path.exists(nowhere))

    def test_version(self):
        for flag in ("--version", "-V"):
            done = subprocess.run([BIN, flag], capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertRegex(done.stdout, r"^keyward \d+\.\d+\.\d+\n$")

    def test_no_command_by_hand_prints_usage(self):
        env = {k: v for k, v in os.environ.items() if k != "GATEWAY_INTERFACE"}
        done = subprocess.run([BIN], capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
        self.assertEqual(done.returncode, 2)
        self.assertIn("usage: keyward", done.stderr)

    def test_unknown_command_and_option(self):
        done = self.server.cli("frobnicate")
        self.assertEqual(done.returncode, 2)
        self.assertIn('unknown command "frobnicate"', done.stderr)
        done = subprocess.run([BIN, "--bogus"], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 2)
        self.assertIn("unknown option --bogus", done.stderr)

    def test_key_create_prints_the_token_once_and_the_console_shows_the_key(self):
        done = self.server.cli("key", "create", "--name", "From the command line", "--role", "admin",
                               "--cidr", "192.0.2.0/24=Office", "--cidr", "2001:db8::/32",
                               "--postback-url", "https://example.com/cli", "--off-record")
        self.assertEqual(done.returncode, 0, done.stderr)
        token = done.stdout.strip()
        self.assertRegex(token, TOKEN_PATTERN)
        self.assertEqual(done.stdout, token + "\n")  # only the token on stdout, for scripts
        key_id = "key_" + token.split("_")[2]
        self.assertIn(f"created {key_id}", done.stderr)
        self.assertNotIn(token, done.stderr)
        self.assertIsNone(sanitizer_report(done.stderr))

        row = self.server.key_row(key_id)
        self.assertEqual(row["name"], "From the command line")
        self.assertEqual(row["off_record"], 1)
        self.assertEqual(row["enabled"], 1)
        self.assertEqual(row["postback_url"], "https://example.com/cli")
        self.assertEqual(row["secret_hint"], token[-4:])
        self.assertEqual(self.server.key_cidrs(key_id), [("192.0.2.0/24", "Office"), ("2001:db8::/32", "")])
        self.assertEqual(self.server.count("secret_reveal", "api_key_id = ?", (row["id"],)), 0)  # nothing kept

        page = self.server.get(f"/w/1/keys/{key_id}")
        self.assertStatus(page, 200)
        self.assertIn("From the command line", page.text)
        self.assertIn("…" + token[-4:], page.text)
        self.assertNotIn(token[-49:], page.text)
        for name, data in self.server.data_files().items():
            self.assertNotIn(token[-49:].encode(), data, name)

        listed = self.server.cli("key", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        line = [l for l in listed.stdout.splitlines() if l.startswith(key_id)]
        self.assertEqual(len(line), 1, listed.stdout)
        self.assertRegex(line[0], rf"^{key_id}\s+enabled\s+admin\s+From the command line$")
        self.assertNotIn(token[-49:], listed.stdout)
        self.assertTrue(listed.stdout.startswith("KEY ID"))

    def test_key_create_defaults_to_read_only_and_can_be_disabled(self):
        token = self.server.create_key_cli("Disabled from CLI", "--disabled")
        key_id = "key_" + token.split("_")[2]
        row = self.server.key_row(key_id)
        self.assertEqual(row["enabled"], 0)
        self.assertEqual(self.server.query("SELECT name FROM role WHERE id = ?", (row["role_id"],))[0][0],
                         "read-only")
        listed = self.server.cli("key", "list").stdout
        self.assertRegex(listed, rf"(?m)^{key_id}\s+disabled\s+read-only\s+Disabled from CLI$")

    def test_key_list_leaves_out_revoked_keys(self):
        key_id, _ = self.server.create_key("Revoked, not listed")
        self.assertStatus(self.server.post(f"/w/1/keys/{key_id}/revoke"), 303)
        listed = self.server.cli("key", "list")
        self.assertEqual(listed.returncode, 0)
        self.assertNotIn(key_id, listed.stdout)

    def test_key_create_refuses_bad_input(self):
        cases = [
            (["--name", "Bad net", "--cidr", "10.1.2.3/8"], "10.0.0.0/8"),
            (["--name", "Bad net", "--cidr", "not-a-network=Office"], "Not an IPv4 or IPv6 network"),
            (["--name", "Dup net", "--cidr", "10.0.0.0/8", "--cidr", "10.0.0.0/8"], "already in the list"),
            (["--name", "Bad role", "--role", "superuser"], 'no role named "superuser"'),
            (["--name", "   "], "Enter a name"),
            ([], "--name is needed"),
            (["--name", "x" * 101], "at most 100 characters"),
            (["--name", "Bad url", "--postback-url", "ftp://example.com"], "http:// or https://"),
            (["--name", "Bad label", "--cidr", "10.0.0.0/8=" + "l" * 101], "at most 100 characters"),
        ]
        for arguments, words in cases:
            with self.subTest(arguments=arguments[:4]):
                before = self.server.row_counts()
                done = self.server.cli("key", "create", *arguments)
                self.assertNotEqual(done.returncode, 0)
                self.assertIn(words, done.stderr)
                self.assertEqual(done.stdout, "")
                self.assertEqual(self.server.row_counts(), before)
                self.assertIsNone(sanitizer_report(done.stderr), done.stderr)

    def test_key_create_refuses_invalid_utf8(self):
        before = self.server.row_counts()
        done = subprocess.run([BIN, "--db", self.server.database, "key", "create", "--name", b"bad \xff name"],
                              capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(b"not valid UTF-8", done.stderr)
        self.assertEqual(self.server.row_counts(), before)

    def test_user_add_takes_the_password_from_standard_input_and_stores_only_a_hash(self):
        folder = tempfile.mkdtemp(prefix="keyward-users-")
        database = os.path.join(folder, "k.db")
        password = "correct horse battery staple"

        def add(*args, stdin=password + "\n"):
            return subprocess.run([BIN, "--db", database, "user", "add", *args], input=stdin, capture_output=True,
                                  text=True, timeout=60)
        try:
            init_database(database)
            done = add("--email", "Ada@Example.com", "--name", "Ada Lovelace", "--owner")
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("added Ada@Example.com as owner of workspace 1", done.stderr)
            self.assertNotIn(password, done.stdout + done.stderr)
            connection = sqlite3.connect(database)
            try:
                rows = connection.execute("SELECT u.email, u.email_folded, u.name, u.password_hash, m.console_role "
                                          "FROM user u JOIN membership m ON m.user_id = u.id").fetchall()
            finally:
                connection.close()
            self.assertEqual(len(rows), 1)
            email, folded, name, hashed, role = rows[0]
            self.assertEqual((email, folded, name, role), ("Ada@Example.com", "ada@example.com", "Ada Lovelace", "owner"))
            self.assertTrue(hashed.startswith("$argon2id$"), hashed)
            self.assertNotIn(password, hashed)
            with open(database, "rb") as file:
                self.assertNotIn(password.encode(), file.read())

            refusals = [
                (["--email", "ADA@example.com"], password + "\n", "already a user"),
                (["--email", "bob@example"], password + "\n", "domain name"),
                (["--email", "bob@example.com"], "short\n", "at least 12 characters"),
                (["--email", "bob@example.com"], "", "no password was given"),
                (["--email", "bob@example.com", "--role", "root"], password + "\n", "owner, admin, developer, viewer"),
                (["--email", "bob@example.com", "--workspace", "7"], password + "\n", "no workspace 7"),
                (["--name", "No e-mail"], password + "\n", "--email is needed"),
            ]
            for args, stdin, message in refusals:
                done = add(*args, stdin=stdin)
                # 2: the command line was wrong; 1: it was refused
                self.assertEqual(done.returncode, 2 if message == "--email is needed" else 1, (args, done.stderr))
                self.assertIn(message, done.stderr, args)
                self.assertIsNone(sanitizer_report(done.stderr), done.stderr)
            connection = sqlite3.connect(database)
            try:
                self.assertEqual(connection.execute("SELECT count(*) FROM user").fetchone()[0], 1)  # nothing saved
            finally:
                connection.close()
            done = add("--email", "dev@example.com", "--role", "developer")
            self.assertEqual(done.returncode, 0, done.stderr)
            listed = subprocess.run([BIN, "--db", database, "user", "list"], capture_output=True, text=True, timeout=60)
            self.assertEqual(listed.returncode, 0, listed.stderr)
            self.assertRegex(listed.stdout, r"(?m)^Ada@Example\.com\s+owner$")
            self.assertRegex(listed.stdout, r"(?m)^dev@example\.com\s+developer$")
            self.assertEqual(len(listed.stdout.splitlines()), 3)  # a header and two members
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def test_init_makes_a_database_and_a_private_server_key(self):
        folder = tempfile.mkdtemp(prefix="keyward-init-")
        try:
            database = os.path.join(folder, "sub", "k.db")
            # The modes are keyward's, whatever the umask it was started with (README: Installing).
            # The key's default place beside the file (the PostgreSQL run's harness names one for all).
            env = {name: value for name, value in os.environ.items() if name != "KEYWARD_KEY_FILE"}
            done = subprocess.run([BIN, "--db", database, "init"], capture_output=True, text=True, timeout=30,
                                  preexec_fn=lambda: os.umask(0o022), env=env)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertTrue(os.path.exists(database))
            mode = stat.S_IMODE(os.stat(database + ".key").st_mode)
            self.assertEqual(mode, 0o640)
            self.assertEqual(os.path.getsize(database + ".key"), 32)
            with open(database + ".key", "rb") as f:
                first = f.read()
            # again: the key is kept, not replaced
            self.assertEqual(subprocess.run([BIN, "--db", database, "init"], capture_output=True, env=env).returncode, 0)
            with open(database + ".key", "rb") as f:
                self.assertEqual(f.read(), first)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class CgiModeTest(ServerTestCase):
    """The same binary run as plain CGI, one request per process, on the console's database."""

    def cgi(self, method, uri, body=b"", extra=None):
        query = uri.partition("?")[2]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": method,
            "REQUEST_URI": uri,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "KEYWARD_DB": self.server.database,
            "KEYWARD_TEMPLATES": TEMPLATES,
            **database_env(self.server.database),
        }
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if name in os.environ:
                env[name] = os.environ[name]
        if method == "POST" and b"csrf=" not in body and self.server.csrf:
            body = body + (b"&" if body else b"") + b"csrf=" + self.server.csrf.encode()
        if body:
            env["CONTENT_LENGTH"] = str(len(body))
            env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        extra = dict(extra or {})
        session = f"kw_session={self.server.session}"
        extra["HTTP_COOKIE"] = session + ("; " + extra["HTTP_COOKIE"] if "HTTP_COOKIE" in extra else "")
        env.update(extra)
        if body:
            done = subprocess.run([BIN], env=env, input=body, capture_output=True, timeout=60)
        else:
            with open(os.devnull, "rb") as devnull:
                done = subprocess.run([BIN], env=env, stdin=devnull, capture_output=True, timeout=60)
        self.assertIsNone(sanitizer_report(done.stderr.decode("utf-8", "replace")), done.stderr[-4000:])
        return done

    def test_list_page_over_cgi(self):
        key_id, _ = self.server.create_key("Seen over CGI")
        done = self.cgi("GET", "/w/1/keys")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(done.stdout.startswith(b"Status: 200 OK\r\n"), done.stdout[:200])
        status, headers, body = parse_cgi_output(done.stdout)
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(int(header(headers, "Content-Length")), len(body))
        self.assertNotIn("unsafe-inline", header(headers, "Content-Security-Policy"))
        self.assertEqual(header(headers, "X-Frame-Options"), "DENY")
        text = body.decode()
        self.assertIn("<h1>API keys</h1>", text)
        self.assertIn(key_id, text)
        self.assertIn("Seen over CGI", text)

    def test_filters_over_cgi(self):
        key_id, _ = self.server.create_key("Ärger über CGI")
        done = self.cgi("GET", "/w/1/keys?q=%C3%A4rger+%C3%BC")
        status, _, body = parse_cgi_output(done.stdout)
        self.assertEqual(status, 200)
        self.assertIn(key_id, body.decode())
        self.assertEqual(Document(body.decode()).value("q"), "ärger ü")

    def test_filter_with_undecodable_bytes(self):
        """Bytes lighttpd would refuse or re-encode reach keyward's own decoder here: a message, no crash."""
        for raw, words in (("%zz", "malformed percent-encoding"), ("%", "malformed percent-encoding"),
                           ("ab%4", "malformed percent-encoding"), ("%C3%28", "not valid UTF-8"),
                           ("%FF", "not valid UTF-8"), ("%ED%A0%80", "not valid UTF-8"), ("a%00b", "NUL")):
            with self.subTest(q=raw):
                status, _, body = parse_cgi_output(self.cgi("GET", "/w/1/keys?q=" + raw).stdout)
                self.assertEqual(status, 200)
                doc = Document(body.decode())
                self.assertIn(words, doc.field_error_for("q") or "", body[:3000])
                self.assertEqual(doc.by_id("q").get("aria-invalid"), "true")
                self.assertEqual(doc.value("q"), "")

    def test_errors_over_cgi(self):
        status, headers, body = parse_cgi_output(self.cgi("GET", "/nope").stdout)
        self.assertEqual(status, 404)
        self.assertIn(b"Error 404", body)
        status, headers, body = parse_cgi_output(self.cgi("DELETE", "/w/1/keys").stdout)
        self.assertEqual(status, 405)
        self.assertEqual(header(headers, "Allow"), "GET, HEAD")
        status, _, body = parse_cgi_output(self.cgi("HEAD", "/w/1/keys").stdout)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")

    def test_create_and_show_the_secret_over_cgi(self):
        roles = self.server.roles()
        before = self.server.count("api_key")
        form = urllib.parse.urlencode([("name", "Made over CGI"), ("role", roles["admin"]),
                                       ("cidr", "192.0.2.0/24"), ("cidr_label", "Office"), ("enabled", "1")]).encode()
        done = self.cgi("POST", "/w/1/keys/new", body=form)
        status, headers, body = parse_cgi_output(done.stdout)
        self.assertEqual(status, 303, body[:2000])
        self.assertEqual(self.server.count("api_key"), before + 1)
        location = header(headers, "Location")
        key_id = re.fullmatch(r"/w/1/keys/(key_[0-9A-Za-z]{16})/secret\?done=created", location).group(1)
        cookie = header(headers, "Set-Cookie").split(";")[0]

        done = self.cgi("GET", location, extra={"HTTP_COOKIE": cookie})
        status, headers, body = parse_cgi_output(done.stdout)
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Cache-Control"), "no-store")
        secret = secret_from(body.decode())
        self.assertRegex(secret, TOKEN_PATTERN)
        self.assertIn(key_id, secret)
        status, _, body = parse_cgi_output(self.cgi("GET", location, extra={"HTTP_COOKIE": cookie}).stdout)
        self.assertEqual(status, 410)
        self.assertNotIn(secret.encode(), body)

    def test_bad_input_over_cgi(self):
        before = self.server.row_counts()
        done = self.cgi("POST", "/w/1/keys/new", body=b"name=%zz&cidr=10.1.2.3%2F8&cidr_label=x")
        status, _, body = parse_cgi_output(done.stdout)
        self.assertEqual(status, 422)
        self.assertIn(b"did you mean 10.0.0.0/8?", body)
        self.assertIn(b"malformed percent-encoding", body)
        self.assertEqual(self.server.row_counts(), before)
        done = self.cgi("POST", "/w/1/keys/new", body=b"x" * 10, extra={"CONTENT_LENGTH": "65537"})
        self.assertEqual(parse_cgi_output(done.stdout)[0], 413)
        done = self.cgi("POST", "/w/1/keys/new", body=b"name=short", extra={"CONTENT_LENGTH": "100"})
        self.assertEqual(parse_cgi_output(done.stdout)[0], 400)  # the body ended early
        self.assertEqual(self.server.row_counts(), before)

    def test_base_path(self):
        done = self.cgi("GET", "/console/w/1/keys", extra={"KEYWARD_BASE_PATH": "/console"})
        status, _, body = parse_cgi_output(done.stdout)
        self.assertEqual(status, 200)
        self.assertIn(b'href="/console/w/1/keys/new"', body)
        self.assertIn(b'href="/console/static/keyward.css"', body)


class StandaloneFastcgiTest(unittest.TestCase):
    """`keyward serve --listen 127.0.0.1:PORT --threads 2`, then lighttpd pointed at it by host and port."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="keyward-serve-")
        cls.database = os.path.join(cls.folder, "keyward.db")
        cls.port = free_port()
        cls.log_path = os.path.join(cls.folder, "serve.log")
        cls.log = open(cls.log_path, "wb")
        env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES)
        env.pop("GATEWAY_INTERFACE", None)
        init_database(cls.database, env)
        cls.process = subprocess.Popen([BIN, "--db", cls.database, "serve", "--listen", f"127.0.0.1:{cls.port}",
                                        "--threads", "2"], env=env, stdin=subprocess.DEVNULL, stdout=cls.log,
                                       stderr=subprocess.STDOUT)
        cls.lighttpd_pid = None
        if not wait_for_port(cls.port):
            cls.tearDownClass()
            raise RuntimeError("keyward serve did not start listening")
        cls.cookie, cls.csrf = fastcgi_sign_in(cls.port, cls.database)

    @classmethod
    def tearDownClass(cls):
        if cls.lighttpd_pid:
            try:
                os.kill(cls.lighttpd_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            wait_for_exit([cls.lighttpd_pid], 5)
        if cls.process.poll() is None:
            cls.process.send_signal(signal.SIGTERM)  # ShutdownTest checks that this alone is enough
            try:
                cls.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                cls.process.kill()
                cls.process.wait()
        cls.log.close()
        with open(cls.log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        if not os.environ.get("KEYWARD_TEST_KEEP"):
            shutil.rmtree(cls.folder, ignore_errors=True)
        if sanitizer_report(log):
            raise AssertionError(f"sanitizer report from keyward serve:\n{log[-6000:]}")

    def params(self, method, uri, **extra):
        params = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method, "REQUEST_URI": uri,
                  "QUERY_STRING": uri.partition("?")[2], "SCRIPT_NAME": "", "SERVER_PROTOCOL": "HTTP/1.1",
                  "REMOTE_ADDR": "127.0.0.1", "HTTP_COOKIE": self.cookie}
        params.update(extra)
        return params

    def fcgi(self, method, uri, body=b"", **extra):
        if method == "POST" and b"csrf=" not in body:
            body = body + (b"&" if body else b"") + b"csrf=" + self.csrf.encode()
        if "HTTP_COOKIE" in extra:
            extra["HTTP_COOKIE"] = self.cookie + "; " + extra["HTTP_COOKIE"]
        params = self.params(method, uri, **extra)
        if body:
            params["CONTENT_LENGTH"] = str(len(body))
            params.setdefault("CONTENT_TYPE", "application/x-www-form-urlencoded")
        stdout, stderr, app_status = fcgi_request(self.port, params, body)
        return parse_cgi_output(stdout)

    def test_serve_logs_that_it_listens(self):
        deadline = time.time() + 5
        while time.time() < deadline:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                if f"serving FastCGI on 127.0.0.1:{self.port} with 2 threads" in f.read():
                    return
            time.sleep(0.05)
        self.fail("no start-up line in the serve log")

    def test_list_page_over_fastcgi(self):
        status, headers, body = self.fcgi("GET", "/w/1/keys")
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(int(header(headers, "Content-Length")), len(body))
        self.assertIn(b"<h1>API keys</h1>", body)
        self.assertNotIn("unsafe-inline", header(headers, "Content-Security-Policy"))

    def test_create_then_list_over_fastcgi(self):
        status, _, body = self.fcgi("GET", "/w/1/keys/new")
        self.assertEqual(status, 200)
        roles = dict((label.strip(), value) for value, label in Document(body.decode()).options("role"))
        admin = [value for label, value in roles.items() if label.startswith("admin")][0]
        form = urllib.parse.urlencode([("name", "Standalone key"), ("role", admin), ("enabled", "1")]).encode()
        status, headers, _ = self.fcgi("POST", "/w/1/keys/new", form)
        self.assertEqual(status, 303)
        location = header(headers, "Location")
        cookie = header(headers, "Set-Cookie").split(";")[0]
        status, headers, body = self.fcgi("GET", location, HTTP_COOKIE=cookie)
        self.assertEqual(status, 200)
        self.assertRegex(secret_from(body.decode()), TOKEN_PATTERN)
        status, _, body = self.fcgi("GET", "/w/1/keys?q=standalone")
        self.assertIn(b"Standalone key", body)

    def test_errors_over_fastcgi(self):
        self.assertEqual(self.fcgi("GET", "/nope")[0], 404)
        status, headers, _ = self.fcgi("DELETE", "/w/1/keys")
        self.assertEqual(status, 405)
        self.assertEqual(header(headers, "Allow"), "GET, HEAD")
        self.assertEqual(self.fcgi("POST", "/w/1/keys/new", b"x=1", CONTENT_TYPE="multipart/form-data")[0], 415)
        status, _, body = self.fcgi("POST", "/w/1/keys/new", b"name=%FF&action=save")
        self.assertEqual(status, 422)
        self.assertIn(b"not valid UTF-8", body)

    def test_concurrent_requests_on_two_threads(self):
        results, errors = [], []

        def worker():
            try:
                for _ in range(10):
                    results.append(self.fcgi("GET", "/w/1/keys")[0])
            except Exception as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(results, [200] * 40)

    def test_through_lighttpd_with_host_and_port(self):
        port = free_port()
        config = os.path.join(self.folder, "lighttpd-proxy.conf")
        with open(config, "w") as f:
            f.write(f"""
server.modules += ( "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{os.path.join(ROOT, 'static')}"
server.errorlog = "{os.path.join(self.folder, 'lighttpd-proxy-error.log')}"
server.pid-file = "{os.path.join(self.folder, 'lighttpd-proxy.pid')}"
fastcgi.server = ( "/" => (( "host" => "127.0.0.1", "port" => {self.port}, "check-local" => "disable" )) )
""")
        lighttpd = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
        subprocess.run([lighttpd, "-f", config], check=True)
        with open(os.path.join(self.folder, "lighttpd-proxy.pid")) as f:
            type(self).lighttpd_pid = int(f.read().strip())
        self.assertTrue(wait_for_port(port))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/w/1/keys?q=%C3%A4", headers={"Cookie": self.cookie})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        self.assertEqual(response.status, 200, body[:2000])
        self.assertIn(b"<h1>API keys</h1>", body)
        self.assertEqual(response.getheader("X-Frame-Options"), "DENY")
        self.assertEqual(Document(body.decode()).value("q"), "ä")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/w/1/keys/key_AAAAAAAAAAAAAAAA", headers={"Cookie": self.cookie})
        response = connection.getresponse()
        self.assertEqual(response.status, 404)
        self.assertIn(b"Key not found", response.read())
        connection.close()


class ShutdownTest(unittest.TestCase):
    """keyward stops when told to (SIGTERM), in both FastCGI roles: a web server or a service manager
    stopping it must not leave processes behind that keep the database open."""

    def test_spawned_processes_end_when_lighttpd_stops(self):
        server = Server()
        try:
            self.assertEqual(server.get("/w/1/keys").status, 200)
            backends = server.backend_pids()
            self.assertEqual(len(backends), 2)  # max-procs in www/lighttpd.conf
            server.stop(grace=5)
            self.assertEqual(server.backends_killed, [],
                             "keyward processes spawned by lighttpd were still running 5 s after lighttpd "
                             "stopped (they had to be killed)")
        finally:
            server.cleanup()

    def test_standalone_server_ends_on_sigterm(self):
        folder = tempfile.mkdtemp(prefix="keyward-sigterm-")
        port = free_port()
        env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES)
        init_database(os.path.join(folder, "k.db"), env)
        process = subprocess.Popen([BIN, "--db", os.path.join(folder, "k.db"), "serve", "--listen",
                                    f"127.0.0.1:{port}", "--threads", "2"], env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self.assertTrue(wait_for_port(port))
            stdout, _, _ = fcgi_request(port, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/signin", "QUERY_STRING": ""})
            self.assertTrue(stdout.startswith(b"Status: 200"))
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.fail("keyward serve was still running 5 s after SIGTERM")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            stderr = process.stderr.read().decode("utf-8", "replace")
            process.stderr.close()
            shutil.rmtree(folder, ignore_errors=True)
        self.assertIsNone(sanitizer_report(stderr), stderr[-4000:])

    def test_spawned_process_ends_when_its_socket_stops_accepting(self):
        """A web server that spawned keyward (listening socket on fd 0) and went away without a signal
        must not leave it waiting forever: when accept() fails, keyward says so and exits."""
        import socket
        folder = tempfile.mkdtemp(prefix="keyward-orphan-")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        env = dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, KEYWARD_DB=os.path.join(folder, "k.db"))
        env.pop("GATEWAY_INTERFACE", None)
        init_database(env["KEYWARD_DB"], env)
        process = subprocess.Popen([BIN], env=env, stdin=listener.fileno(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        try:
            stdout, _, _ = fcgi_request(port, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/signin", "QUERY_STRING": ""})
            self.assertTrue(stdout.startswith(b"Status: 200"), stdout[:200])
            listener.shutdown(socket.SHUT_RDWR)  # what a dying parent's cleanup can do to the shared socket
            try:
                code = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.fail("keyward was still running 10 s after its listening socket stopped accepting")
            self.assertEqual(code, 1)
        finally:
            listener.close()
            if process.poll() is None:
                process.kill()
                process.wait()
            stderr = process.stderr.read().decode("utf-8", "replace")
            process.stderr.close()
            shutil.rmtree(folder, ignore_errors=True)
        self.assertIn("stopped accepting connections", stderr)
        self.assertIsNone(sanitizer_report(stderr), stderr[-4000:])
