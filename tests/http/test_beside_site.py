"""test_beside_site.py: keyward beside a site the web server already serves, configured from the
installed examples as an operator would.

`make install` into a temporary DESTDIR (its paths moved there, the state, log and run folders into
a temporary folder), then a real web server that serves an existing static site at / (an
index.html, an about.html, its own 404 for the rest) and includes the installed snippet, with its
default base path (/keyward): lighttpd spawning keyward (lighttpd-keyward.conf) or talking to a
`keyward serve` over a unix socket (lighttpd-keyward-serve.conf), each with the gatekeeper
(lighttpd-gatekeeper.conf); Apache with mod_proxy_fcgi and mod_authnz_fcgi to a `keyward serve`
(apache-keyward.conf, in a default virtual host), with mod_fcgid (apache-fcgid.conf) and with plain
CGI (the README's lines, read from the README itself). Each checks that the site's pages still
come back from the site, that an unknown address gets the server's own 404 (not keyward's), that
the console works under /keyward/ (sign in, create a key), and, where the example has one, that
the gatekeeper guards the API prefix and nothing else.

Run as root (as CI does), the web server runs as www-data, and keyward's files are made by
`keyward init` as root and given to a group www-data belongs to (standing in for the keyward
group, which `adduser www-data keyward` joins it to): the ownership model of the README at work,
with keyward's own modes (folder 02770, database 0660, key 0640).
"""
import html
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import (BACKEND_SCRIPT, ROOT, Document, Response, alive, apache_binary, apache_modules_folder,
                     free_port, record_api_answer, secret_from, wait_for_exit, wait_for_port)

PREFIX = "/usr/local"
BASE = "/keyward"  # the examples' default base path (KEYWARD_BASE_PATH in the Makefile)
API = "/v1/"
AS_ROOT = os.getuid() == 0
WEB_USER = "www-data"
SITE_INDEX = "<!doctype html><title>Existing site</title><h1>The existing site</h1>\n"
SITE_ABOUT = "<!doctype html><title>About</title><h1>About the existing site</h1>\n"
OWNER = ("owner@example.com", "an existing site's owner")
RULES = "workspace 1\nrequire /v1/admin/ api.key.create\n"

_installed = {}


def install():
    """`make install` into one DESTDIR for the whole module; returns its root (DESTDIR + PREFIX)."""
    if "root" not in _installed:
        destdir = tempfile.mkdtemp(prefix="keyward-test-beside-")
        os.chmod(destdir, 0o755)
        done = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "install", f"DESTDIR={destdir}"],
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise AssertionError("make install failed:\n" + done.stdout + done.stderr)
        _installed.update(destdir=destdir, root=destdir + PREFIX)
    return _installed["root"]


def tearDownModule():
    if "destdir" in _installed:
        shutil.rmtree(_installed["destdir"], ignore_errors=True)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def readme_block(after_heading):
    """The first fenced code block after the README heading `after_heading`."""
    text = read(os.path.join(ROOT, "README.md"))
    start = text.index(after_heading)
    match = re.search(r"```[a-z]*\n(.*?)```", text[start:], re.S)
    return match.group(1)


class BesideSite:
    """An existing site and keyward in one real web server; subclasses start it (start_server())."""

    has_gatekeeper = True

    @classmethod
    def setUpClass(cls):
        cls.root = install()
        cls.share = os.path.join(cls.root, "share", "keyward")
        cls.binary = os.path.join(cls.root, "sbin", "keyward")
        cls.folder = tempfile.mkdtemp(prefix="keyward-test-site-")
        os.chmod(cls.folder, 0o755)
        cls.port = free_port()
        cls.site = os.path.join(cls.folder, "site")
        os.mkdir(cls.site)
        os.chmod(cls.site, 0o755)
        write(os.path.join(cls.site, "index.html"), SITE_INDEX)
        write(os.path.join(cls.site, "about.html"), SITE_ABOUT)
        # The state, log and run folders the examples name (/var/lib/keyward, /var/log/keyward, /run/…).
        cls.state = os.path.join(cls.folder, "state")
        cls.logs = os.path.join(cls.folder, "log")
        cls.rundir = os.path.join(cls.folder, "run")
        for folder in (cls.logs, cls.rundir):
            os.mkdir(folder)
            os.chmod(folder, 0o770)
        cls.database = os.path.join(cls.state, "keyward.db")
        cls.env = dict(os.environ, KEYWARD_TEMPLATES=os.path.join(cls.share, "templates"))
        cls.env.pop("KEYWARD_BASE_PATH", None)
        subprocess.run([cls.binary, "--db", cls.database, "init"], check=True, capture_output=True, env=cls.env,
                       timeout=60)
        done = subprocess.run([cls.binary, "--db", cls.database, "user", "add", "--email", OWNER[0], "--owner"],
                              input=OWNER[1] + "\n", capture_output=True, text=True, env=cls.env, timeout=60)
        if done.returncode != 0:
            raise AssertionError(done.stderr)
        write(os.path.join(cls.folder, "rules"), RULES)
        cls.api = os.path.join(cls.folder, "api")
        os.mkdir(cls.api)
        os.chmod(cls.api, 0o755)
        shutil.copyfile(BACKEND_SCRIPT, os.path.join(cls.api, "backend.cgi"))
        os.chmod(os.path.join(cls.api, "backend.cgi"), 0o755)
        write(os.path.join(cls.api, "backend.log"), "", 0o666)
        if AS_ROOT:
            # keyward's group, with the web server's user in it: here www-data's own group.
            for folder in (cls.state, cls.logs, cls.rundir):
                shutil.chown(folder, group=WEB_USER)
            for name in os.listdir(cls.state):
                shutil.chown(os.path.join(cls.state, name), group=WEB_USER)
        cls.processes = []
        try:
            cls.start_server()
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stop_all()
        if not os.environ.get("KEYWARD_TEST_KEEP"):
            shutil.rmtree(cls.folder, ignore_errors=True)

    @classmethod
    def stop_all(cls):
        for pid_file in getattr(cls, "pid_files", ()):
            try:
                pid = int(read(pid_file))
                os.kill(pid, signal.SIGTERM)
                wait_for_exit([pid], 10)
            except (FileNotFoundError, ValueError, ProcessLookupError):
                pass
        for process in cls.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    @classmethod
    def example(cls, name, **values):
        """An installed example with its paths moved into DESTDIR and the test's folders, and `values`
        filled in for the placeholders it leaves to the operator."""
        text = read(os.path.join(cls.share, "examples", name))
        moved = {PREFIX + "/": cls.root + "/", "/var/lib/keyward": cls.state, "/var/log/keyward": cls.logs,
                 "/run/lighttpd": cls.rundir, "/run/keyward": cls.rundir}
        text = re.sub("|".join(re.escape(origin) for origin in moved), lambda m: moved[m.group(0)], text)
        for placeholder, value in values.items():
            text = text.replace(f"@{placeholder}@", value)
        return text

    @classmethod
    def serve(cls, *arguments):
        """`keyward serve` of the installed program, as keyward.service runs it, until the class ends."""
        log = open(os.path.join(cls.folder, "serve.log"), "ab")
        env = dict(cls.env, KEYWARD_BASE_PATH=BASE, KEYWARD_CONFIG=os.path.join(cls.folder, "rules"))
        process = subprocess.Popen([cls.binary, "--db", cls.database, "serve", *arguments], env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        cls.processes.append(process)
        return process

    @classmethod
    def logs_text(cls):
        text = ""
        for folder in (cls.folder, cls.logs):
            for name in sorted(os.listdir(folder)):
                if name.endswith(".log"):
                    text += f"--- {name}\n" + read(os.path.join(folder, name))[-3000:]
        return text

    # ---- HTTP ----

    def request(self, method, path, body=None, cookie=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {"Origin": f"http://127.0.0.1:{self.port}"}
        all_headers.update(headers or {})
        if cookie:
            all_headers["Cookie"] = cookie
        if isinstance(body, (dict, list)):
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(body)
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        record_api_answer(method, path, Response(response.status, response.getheaders(), raw), BASE)
        return response, raw.decode("utf-8", "replace")

    def sign_in(self):
        response, page = self.request("POST", BASE + "/signin", {"email": OWNER[0], "password": OWNER[1]})
        self.assertEqual(response.status, 303, page + self.logs_text())
        cookie = response.getheader("Set-Cookie")
        self.assertIn(f"Path={BASE}", cookie)
        self.assertTrue(response.getheader("Location").startswith(BASE + "/"), response.getheader("Location"))
        return cookie.split(";", 1)[0]

    def create_key(self, cookie, name):
        """A key made through the console under /keyward/; returns its token."""
        response, page = self.request("GET", BASE + "/w/1/keys/new", cookie=cookie)
        self.assertEqual(response.status, 200, page)
        document = Document(page)
        roles = {label.strip(): value for value, label in document.options("role")}
        admin = next(value for label, value in roles.items() if label.startswith("admin"))
        response, page = self.request("POST", BASE + "/w/1/keys/new",
                                      {"csrf": document.value("csrf"), "name": name, "role": admin, "enabled": "1",
                                       "action": "save"}, cookie=cookie)
        self.assertEqual(response.status, 303, page + self.logs_text())
        location = response.getheader("Location")
        self.assertRegex(location, rf"^{BASE}/w/1/keys/key_[0-9A-Za-z]{{16}}/secret")
        # The secret is sealed with a one-off key that only this browser got, as a cookie for the base path.
        reveal = [value for name, value in response.getheaders() if name.lower() == "set-cookie"]
        self.assertTrue(reveal and all(f"Path={BASE}" in value for value in reveal), reveal)
        cookie = "; ".join([cookie] + [value.split(";", 1)[0] for value in reveal])
        response, page = self.request("GET", location, cookie=cookie)
        self.assertEqual(response.status, 200)
        return secret_from(page)

    # ---- the tests every server passes ----

    def test_the_sites_pages_still_come_back(self):
        for path, text in (("/", SITE_INDEX), ("/index.html", SITE_INDEX), ("/about.html", SITE_ABOUT)):
            with self.subTest(path=path):
                response, page = self.request("GET", path)
                self.assertEqual(response.status, 200, page + self.logs_text())
                self.assertEqual(page, text)

    def test_unknown_site_addresses_get_the_servers_own_404(self):
        for path in ("/no-such-page", "/keywardx", "/static/keyward.css", "/w/1/keys", "/api/v1/keys/verify",
                     "/signin"):
            with self.subTest(path=path):
                response, page = self.request("GET", path)
                self.assertEqual(response.status, 404, page)
                self.assertNotIn("Error 404 ·", page)   # keyward's error page
                self.assertNotIn("keyward", page.lower())
                self.assertIsNone(response.getheader("Content-Security-Policy"))

    def test_the_console_works_under_its_base_path(self):
        response, page = self.request("GET", BASE + "/signin")
        self.assertEqual(response.status, 200, page + self.logs_text())
        self.assertIn("<h1>Sign in</h1>", page)
        self.assertIn(f'href="{BASE}/static/keyward.css"', page)
        response, css = self.request("GET", BASE + "/static/keyward.css")
        self.assertEqual(response.status, 200)
        self.assertIn("text/css", response.getheader("Content-Type"))
        self.assertEqual(css, read(os.path.join(ROOT, "static", "keyward.css")))
        # Not signed in: the console's own answer, under its base path.
        response, _ = self.request("GET", BASE + "/w/1/keys")
        self.assertIn(response.status, (303, 302))
        self.assertTrue(response.getheader("Location").startswith(BASE + "/signin"), response.getheader("Location"))
        cookie = self.sign_in()
        name = f"Made beside a site ({type(self).__name__})"
        token = self.create_key(cookie, name)
        self.assertRegex(token, r"^kw_key_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$")
        response, page = self.request("GET", BASE + "/w/1/keys", cookie=cookie)
        self.assertEqual(response.status, 200)
        self.assertIn(html.escape(name), page)
        # keyward's own 404, inside its base path.
        response, page = self.request("GET", BASE + "/no-such-page", cookie=cookie)
        self.assertEqual(response.status, 404)
        self.assertIn("Error 404 ·", page)

    def test_the_gatekeeper_guards_the_api_prefix_only(self):
        if not self.has_gatekeeper:
            self.skipTest("this example serves the console only")
        response, body = self.request("GET", API + "things")
        self.assertEqual(response.status, 401, body + self.logs_text())
        self.assertEqual(json.loads(body)["code"], "missing_key")
        response, body = self.request("GET", API + "things", headers={"Authorization": "Bearer kw_key_nonsense"})
        self.assertEqual(response.status, 401)
        self.assertEqual(json.loads(body)["code"], "invalid_key")
        token = self.create_key(self.sign_in(), f"API caller ({type(self).__name__})")
        response, body = self.request("GET", API + "things", headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(response.status, 200, body + self.logs_text())
        seen = json.loads(body)
        self.assertEqual(seen["KEYWARD_KEY_ID"], "key_" + token.split("_")[2])
        self.assertEqual(seen["REQUEST_URI"], API + "things")
        # The site around it is not guarded.
        response, page = self.request("GET", "/about.html")
        self.assertEqual((response.status, page), (200, SITE_ABOUT))

    def test_verify_sees_the_callers_bearer_key(self):
        token = self.create_key(self.sign_in(), f"Verifier ({type(self).__name__})")
        response, body = self.request("POST", BASE + "/api/v1/keys/verify", json.dumps({"key": token}),
                                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        self.assertEqual(response.status, 200, body + self.logs_text())
        answer = json.loads(body)
        self.assertEqual((answer["valid"], answer["code"]), (True, "granted"), answer)


def lighttpd_binary():
    return shutil.which("lighttpd") or ("/usr/sbin/lighttpd" if os.access("/usr/sbin/lighttpd", os.X_OK) else None)


class LighttpdSite(BesideSite):
    """lighttpd as Debian ships it, serving the site; keyward's snippets included at the end."""

    console_example = None

    @classmethod
    def console(cls):
        raise NotImplementedError

    @classmethod
    def start_server(cls):
        if lighttpd_binary() is None:
            raise unittest.SkipTest("lighttpd is not installed")
        write(os.path.join(cls.folder, "keyward.conf"), cls.console())
        write(os.path.join(cls.folder, "keyward-gatekeeper.conf"),
              cls.example("lighttpd-gatekeeper.conf", API_PREFIX=API, RULES=os.path.join(cls.folder, "rules")))
        backend = os.path.join(cls.api, "backend.cgi")
        user = f'server.username = "{WEB_USER}"\nserver.groupname = "{WEB_USER}"\n' if AS_ROOT else ""
        conf = os.path.join(cls.folder, "lighttpd.conf")
        write(conf, f"""# an existing site, as Debian's lighttpd.conf has it
server.modules = ( "mod_indexfile", "mod_access", "mod_alias", "mod_redirect" )
server.document-root = "{cls.site}"
server.errorlog      = "{cls.logs}/lighttpd-error.log"
server.pid-file      = "{cls.rundir}/lighttpd.pid"
server.bind          = "127.0.0.1"
server.port          = {cls.port}
{user}index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".css" => "text/css; charset=utf-8", ".js" => "text/javascript" )

# keyward's part, as conf-enabled/50-keyward.conf would bring it in
include "{cls.folder}/keyward.conf"
include "{cls.folder}/keyward-gatekeeper.conf"
# the operator's API behind the gatekeeper
server.modules += ( "mod_cgi" )
$HTTP["url"] =^ "{API}" {{
  alias.url  = ( "{API}" => "{backend}/" )
  cgi.assign = ( ".cgi" => "" )
}}
""")
        cls.pid_files = [os.path.join(cls.rundir, "lighttpd.pid")]
        done = subprocess.run([lighttpd_binary(), "-f", conf], capture_output=True, text=True)
        if done.returncode != 0 or not wait_for_port(cls.port):
            raise AssertionError("lighttpd did not start: " + done.stderr + cls.logs_text())


class LighttpdSpawnedTest(LighttpdSite, unittest.TestCase):
    """lighttpd-keyward.conf: lighttpd spawns the console (bin-path)."""

    @classmethod
    def console(cls):
        return cls.example("lighttpd-keyward.conf")

    def test_keywards_messages_go_to_the_breakagelog_in_the_log_folder(self):
        self.assertEqual(self.request("GET", BASE + "/signin")[0].status, 200)
        lighttpd = int(read(os.path.join(self.rundir, "lighttpd.pid")))
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(lighttpd)], capture_output=True,
                                  text=True).stdout.split()
        self.assertTrue(children, "lighttpd spawned no keyward process")
        for pid in children:
            self.assertEqual(os.readlink(f"/proc/{pid}/fd/2"), os.path.join(self.logs, "keyward.log"))

    def test_the_spawned_processes_share_the_files_by_their_group(self):
        if not AS_ROOT:
            self.skipTest("the web server runs as www-data only when the tests run as root")
        self.sign_in()  # a session written by a process running as www-data
        self.assertEqual(os.stat(self.state).st_mode & 0o7777, 0o2770)
        self.assertEqual(os.stat(self.database).st_mode & 0o777, 0o660)
        self.assertEqual(os.stat(self.database + ".key").st_mode & 0o777, 0o640)
        pids = subprocess.run(["pgrep", "-u", WEB_USER, "-f", self.binary], capture_output=True, text=True).stdout
        self.assertTrue(pids.split(), "no keyward process runs as www-data")


class LighttpdSocketTest(LighttpdSite, unittest.TestCase):
    """lighttpd-keyward-serve.conf: lighttpd talks to a `keyward serve` over its unix socket."""

    @classmethod
    def console(cls):
        socket_path = os.path.join(cls.rundir, "keyward.sock")
        group = ["--socket-group", WEB_USER] if AS_ROOT else []
        cls.serve("--listen", socket_path, "--threads", "2", *group)
        deadline = time.time() + 20
        while not os.path.exists(socket_path) and time.time() < deadline:
            time.sleep(0.05)
        return cls.example("lighttpd-keyward-serve.conf")

    def test_the_socket_is_the_web_servers_to_use_and_goes_when_keyward_stops(self):
        socket_path = os.path.join(self.rundir, "keyward.sock")
        self.assertEqual(os.stat(socket_path).st_mode & 0o777, 0o660)
        serve = self.processes[0]
        self.assertTrue(alive(serve.pid))


class ApacheSite(BesideSite):
    """Apache serving the site in its default virtual host; keyward's lines at the server level."""

    modules = ()

    @classmethod
    def keyward_lines(cls):
        raise NotImplementedError

    @classmethod
    def start_server(cls):
        modules_folder = apache_modules_folder()
        if apache_binary() is None or modules_folder is None:
            raise unittest.SkipTest("Apache httpd 2.4 is not installed")
        for name in cls.modules:
            if not os.path.exists(os.path.join(modules_folder, f"mod_{name}.so")):
                raise unittest.SkipTest(f"Apache's mod_{name} is not installed")
        write(os.path.join(cls.folder, "keyward.conf"), cls.keyward_lines())
        os.makedirs(os.path.join(cls.folder, "nowhere"), exist_ok=True)
        user = f"User {WEB_USER}\nGroup {WEB_USER}\n" if AS_ROOT else ""
        loads = "".join(f'LoadModule {name}_module "{modules_folder}/mod_{name}.so"\n'
                        for name in ("mpm_event", "authn_core", "authz_core", "authz_user", "alias", "mime", "dir",
                                     "cgid", "env", "headers", *cls.modules))
        conf = os.path.join(cls.folder, "apache.conf")
        write(conf, f"""# an existing site in Apache's default virtual host
ServerRoot "{cls.folder}"
ServerName 127.0.0.1
Listen 127.0.0.1:{cls.port}
PidFile "{cls.folder}/apache.pid"
DefaultRuntimeDir "{cls.rundir}"
ErrorLog "{cls.folder}/apache-error.log"
LogLevel warn
ScriptSock "{cls.rundir}/cgid.sock"
{user}{loads}TypesConfig /etc/mime.types
DocumentRoot "{cls.folder}/nowhere"
<Directory "/">
    AllowOverride None
    Require all denied
</Directory>
<VirtualHost *:{cls.port}>
    ServerName site.example
    DocumentRoot "{cls.site}"
    DirectoryIndex index.html
    <Directory "{cls.site}">
        Require all granted
    </Directory>
    # the operator's API behind the gatekeeper
    ScriptAlias "{API}" "{cls.api}/backend.cgi/"
    <Directory "{cls.api}">
        Require all granted
    </Directory>
</VirtualHost>

# keyward's part, as conf-enabled/keyward.conf would bring it in (server level)
Include "{cls.folder}/keyward.conf"
""")
        cls.pid_files = [os.path.join(cls.folder, "apache.pid")]
        checked = subprocess.run([apache_binary(), "-t", "-f", conf], capture_output=True, text=True)
        if checked.returncode != 0:
            raise AssertionError("Apache refused the configuration: " + checked.stderr)
        done = subprocess.run([apache_binary(), "-f", conf, "-k", "start"], capture_output=True, text=True)
        if done.returncode != 0 or not wait_for_port(cls.port):
            raise AssertionError("Apache did not start: " + done.stderr + cls.logs_text())


class ApacheProxyFcgiTest(ApacheSite, unittest.TestCase):
    """apache-keyward.conf: mod_proxy_fcgi (console) and mod_authnz_fcgi (gatekeeper) to keyward serve."""

    modules = ("authnz_fcgi", "proxy", "proxy_fcgi", "reqtimeout")

    @classmethod
    def keyward_lines(cls):
        console, gatekeeper = free_port(), free_port()
        cls.serve("--listen", f"127.0.0.1:{console}", "--threads", "2", "--gatekeeper", f"127.0.0.1:{gatekeeper}",
                  "--gatekeeper-threads", "2")
        if not (wait_for_port(console) and wait_for_port(gatekeeper)):
            raise AssertionError("keyward serve did not start: " + cls.logs_text())
        text = cls.example("apache-keyward.conf", API_PREFIX=API)
        return text.replace("127.0.0.1:9000", f"127.0.0.1:{console}").replace("127.0.0.1:9001",
                                                                                f"127.0.0.1:{gatekeeper}")


class ApacheFcgidTest(ApacheSite, unittest.TestCase):
    """apache-fcgid.conf: mod_fcgid starts keyward's console processes (no gatekeeper that way)."""

    modules = ("fcgid",)
    has_gatekeeper = False

    @classmethod
    def keyward_lines(cls):
        return (cls.example("apache-fcgid.conf") +
                f'FcgidIPCDir "{cls.rundir}/fcgid"\nFcgidProcessTableFile "{cls.rundir}/fcgid-shm"\n')


class ApacheCgiTest(ApacheSite, unittest.TestCase):
    """Plain CGI with the README's lines (its paths moved into DESTDIR): a process per request."""

    modules = ()
    has_gatekeeper = False

    @classmethod
    def keyward_lines(cls):
        lines = readme_block("## Plain CGI")
        return (lines.replace(PREFIX + "/", cls.root + "/").replace("/var/lib/keyward", cls.state) +
                f'SetEnv KEYWARD_TEMPLATES "{cls.share}/templates"\n')


if __name__ == "__main__":
    unittest.main()
