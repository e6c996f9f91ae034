"""test_install.py: `make install` into a temporary DESTDIR, and the installed program at work.

The layout (program, templates, static files, examples with their paths filled in, manual page),
the manual page through `mandoc -Tlint`, the installed binary's own idea of where its files are
(the compiled-in DATADIR), and the installed console served by a real Apache through mod_fcgid,
configured from the installed example, with an owner made by the installed binary signing in.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, Document, apache_binary, free_port, nginx_binary, nginx_conf_folder, wait_for_port
import http.client
import urllib.parse

PREFIX = "/usr/local"  # the Makefile's default: what the release build was made for
FCGID_MODULE = "/usr/lib/apache2/modules/mod_fcgid.so"
CGID_MODULE = "/usr/lib/apache2/modules/mod_cgid.so"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def make(*args):
    return subprocess.run(["make", "--no-print-directory", "-C", ROOT, *args], capture_output=True, text=True,
                          timeout=600)


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.destdir = tempfile.mkdtemp(prefix="keyward-test-install-")
        done = make("install", f"DESTDIR={cls.destdir}")
        if done.returncode != 0:
            raise AssertionError("make install failed:\n" + done.stdout + done.stderr)
        cls.root = cls.destdir + PREFIX
        cls.binary = os.path.join(cls.root, "sbin", "keyward")
        cls.share = os.path.join(cls.root, "share", "keyward")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir, ignore_errors=True)

    def test_the_files_go_where_the_program_and_the_manual_say(self):
        self.assertTrue(os.access(self.binary, os.X_OK))
        for name in os.listdir(os.path.join(ROOT, "templates")):
            if name.endswith(".mustache"):
                self.assertTrue(os.path.isfile(os.path.join(self.share, "templates", name)), name)
        self.assertTrue(os.path.isfile(os.path.join(self.share, "templates", "partials", "head.mustache")))
        for name in ("keyward.css", "keyward.js"):
            self.assertTrue(os.path.isfile(os.path.join(self.share, "static", name)), name)
        examples = sorted(os.listdir(os.path.join(self.share, "examples")))
        self.assertEqual(examples, ["apache-fcgid.conf", "apache-keyward.conf", "keyward.service",
                                    "lighttpd-gatekeeper.conf", "lighttpd.conf", "nginx-keyward-guard.conf",
                                    "nginx-keyward.conf"])
        unit = read(os.path.join(self.share, "examples", "keyward.service"))
        self.assertIn(f"ExecStart={PREFIX}/sbin/keyward serve --listen 127.0.0.1:9000 --threads 8 \\\n"
                      "          --gatekeeper 127.0.0.1:9001 --gatekeeper-threads 8\n", unit)
        self.assertIn(f"KEYWARD_TEMPLATES={PREFIX}/share/keyward/templates", unit)
        self.assertNotIn("@", unit.replace("man:keyward(8)", ""))
        # The gatekeeper and keyward's JSON API go to the gatekeeper's listener, the pages to the console's.
        apache = read(os.path.join(self.share, "examples", "apache-keyward.conf"))
        self.assertIn("AuthnzFcgiDefineProvider authnz keyward fcgi://127.0.0.1:9001/\n", apache)
        self.assertIn('ProxyPass "/api/" "fcgi://127.0.0.1:9001/api/"\n', apache)
        self.assertIn('ProxyPass "/" "fcgi://127.0.0.1:9000/"\n', apache)
        self.assertNotIn("@KEYWARD", apache)
        # nginx: the console's pages to the console's listener, the gate and /keyward/api/ to the gatekeeper's.
        nginx = read(os.path.join(self.share, "examples", "nginx-keyward.conf"))
        self.assertIn("location /keyward/ {\n    fastcgi_pass 127.0.0.1:9000;\n    include fastcgi_params;\n", nginx)
        self.assertIn("location /keyward/api/ {\n    fastcgi_pass 127.0.0.1:9001;\n", nginx)
        self.assertIn("location = /_keyward_gate {\n    internal;\n    fastcgi_pass 127.0.0.1:9001;\n", nginx)
        self.assertIn(f"alias {PREFIX}/share/keyward/static/;", nginx)
        for name in ("nginx-keyward.conf", "nginx-keyward-guard.conf"):
            self.assertNotRegex(read(os.path.join(self.share, "examples", name)), r"@[A-Z_]+@", name)
        manual = os.path.join(self.root, "share", "man", "man8", "keyward.8")
        self.assertIn(f".It Pa {PREFIX}/share/keyward/templates", read(manual))
        # Nothing left outside PREFIX.
        self.assertEqual(os.listdir(self.destdir), [PREFIX.strip("/").split("/")[0]])

    @unittest.skipUnless(nginx_binary(), "nginx is not installed (Debian: nginx)")
    def test_the_installed_nginx_examples_pass_nginx_t(self):
        """Included as their comments say, in a server block beside nginx's own fastcgi_params."""
        folder = tempfile.mkdtemp(prefix="keyward-test-nginx-t-")
        try:
            shutil.copy(os.path.join(nginx_conf_folder(), "fastcgi_params"), folder)
            examples = os.path.join(self.share, "examples")
            with open(os.path.join(folder, "nginx.conf"), "w") as f:
                f.write(f"""pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ }}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{free_port()};
        location / {{ root {folder}; }}
        include {examples}/nginx-keyward.conf;
        location /v1/ {{
            include {examples}/nginx-keyward-guard.conf;
            proxy_pass http://127.0.0.1:8000;
        }}
    }}
}}
""")
            done = subprocess.run([nginx_binary(), "-t", "-c", os.path.join(folder, "nginx.conf")],
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("test is successful", done.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def test_the_manual_page_is_clean_mdoc(self):
        manual = os.path.join(self.root, "share", "man", "man8", "keyward.8")
        done = subprocess.run(["mandoc", "-Tlint", "-W", "style", manual], capture_output=True, text=True)
        # mandoc also says what it thinks of this machine's man database; that is not the page's.
        complaints = [line for line in (done.stdout + done.stderr).splitlines() if "mandoc.db" not in line]
        self.assertEqual(complaints, [])
        text = subprocess.run(["mandoc", "-Tascii", manual], capture_output=True, text=True).stdout
        self.assertIn("keyward - API key console and FastCGI gatekeeper", re.sub(r".\x08", "", text))

    def test_the_installed_program_knows_its_version_and_its_folders(self):
        done = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0)
        self.assertRegex(done.stdout, r"^keyward \d+\.\d+\.\d+")
        help_text = subprocess.run([self.binary, "--help"], capture_output=True, text=True).stdout
        self.assertIn("/var/lib/keyward/keyward.db", help_text)
        # Without KEYWARD_TEMPLATES it looks in the DATADIR it was built for, and says so.
        folder = tempfile.mkdtemp(prefix="keyward-test-install-db-")
        try:
            subprocess.run([self.binary, "--db", os.path.join(folder, "keyward.db"), "init"], check=True,
                           capture_output=True, timeout=60)
            env = {"PATH": os.environ["PATH"], "REQUEST_METHOD": "GET", "REQUEST_URI": "/signin",
                   "SERVER_NAME": "127.0.0.1", "GATEWAY_INTERFACE": "CGI/1.1"}
            cgi = subprocess.run([self.binary, "--db", os.path.join(folder, "keyward.db")], env=env,
                                 capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
            self.assertIn(f"{PREFIX}/share/keyward/templates", cgi.stderr)
            env["KEYWARD_TEMPLATES"] = os.path.join(self.share, "templates")
            cgi = subprocess.run([self.binary, "--db", os.path.join(folder, "keyward.db")], env=env,
                                 capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
            self.assertIn("Status: 200", cgi.stdout)
            self.assertIn("<h1>Sign in</h1>", cgi.stdout)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class InstalledBehindApache:
    """The installed program and files behind a real Apache; subclasses say how (site())."""

    modules = ()

    @classmethod
    def site(cls, root):
        """The Apache lines that serve the console from the installed files under `root`."""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.destdir = tempfile.mkdtemp(prefix="keyward-test-fcgid-")
        os.chmod(cls.destdir, 0o755)
        done = make("install", f"DESTDIR={cls.destdir}")
        if done.returncode != 0:
            raise AssertionError("make install failed:\n" + done.stdout + done.stderr)
        root = cls.destdir + PREFIX
        cls.binary = os.path.join(root, "sbin", "keyward")
        cls.vardir = os.path.join(cls.destdir, "var")
        os.mkdir(cls.vardir)
        cls.port = free_port()
        user = "www-data" if os.getuid() == 0 else None
        with open(os.path.join(cls.vardir, "keyward-site.conf"), "w") as f:
            f.write(cls.site(root))
        modules = "".join(f"LoadModule {name}_module /usr/lib/apache2/modules/mod_{name}.so\n" for name in cls.modules)
        with open(os.path.join(cls.vardir, "apache.conf"), "w") as f:
            f.write(f"""ServerRoot "{cls.vardir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{cls.port}
PidFile "{cls.vardir}/apache.pid"
DefaultRuntimeDir "{cls.vardir}"
ErrorLog "{cls.vardir}/apache-error.log"
LogLevel warn
{f"User {user}" if user else ""}
{f"Group {user}" if user else ""}
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
{modules}TypesConfig /etc/mime.types
DocumentRoot "{cls.vardir}"
Include "{cls.vardir}/keyward-site.conf"
""")
        # The first owner, made by the installed binary; the database must be Apache's user's.
        env = dict(os.environ, KEYWARD_TEMPLATES=os.path.join(root, "share", "keyward", "templates"))
        subprocess.run([cls.binary, "--db", os.path.join(cls.vardir, "keyward.db"), "init"], check=True,
                       capture_output=True, env=env, timeout=60)
        done = subprocess.run([cls.binary, "--db", os.path.join(cls.vardir, "keyward.db"), "user", "add",
                               "--email", "owner@example.com", "--owner"], input="an installed password\n",
                              capture_output=True, text=True, env=env, timeout=60)
        if done.returncode != 0:
            raise AssertionError(done.stderr)
        if user:
            subprocess.run(["chown", "-R", f"{user}:{user}", cls.vardir], check=True)
        started = subprocess.run([apache_binary(), "-f", os.path.join(cls.vardir, "apache.conf"), "-k", "start"],
                                 capture_output=True, text=True)
        if started.returncode != 0 or not wait_for_port(cls.port):
            raise AssertionError("Apache did not start: " + started.stderr + cls.log())

    @classmethod
    def log(cls):
        try:
            return read(os.path.join(cls.vardir, "apache-error.log"))
        except FileNotFoundError:
            return ""

    @classmethod
    def tearDownClass(cls):
        try:
            pid = int(read(os.path.join(cls.vardir, "apache.pid")))
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        shutil.rmtree(cls.destdir, ignore_errors=True)

    def request(self, method, path, body=None, cookie=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Origin": f"http://127.0.0.1:{self.port}"}
        if cookie:
            headers["Cookie"] = cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(body)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read().decode()
        connection.close()
        return response, data

    def test_the_console_signs_in_and_serves_its_pages_and_files(self):
        name = f"Made behind {self.kind}"
        response, page = self.request("GET", "/signin")
        self.assertEqual(response.status, 200, page + self.log())
        self.assertIn("<h1>Sign in</h1>", page)
        response, css = self.request("GET", "/static/keyward.css")
        self.assertEqual(response.status, 200)
        self.assertIn("text/css", response.getheader("Content-Type"))
        response, _ = self.request("GET", "/static/keyward.js")
        self.assertEqual(response.status, 200)
        response, _ = self.request("POST", "/signin", {"email": "owner@example.com", "password": "an installed password"})
        self.assertEqual(response.status, 303, self.log())
        cookie = response.getheader("Set-Cookie").split(";", 1)[0]
        response, page = self.request("GET", "/w/1/keys", cookie=cookie)
        self.assertEqual(response.status, 200)
        self.assertIn("No API keys yet", page)
        csrf = Document(page).value("csrf")
        response, _ = self.request("POST", "/w/1/keys/new", {"csrf": csrf, "name": name,
                                                            "role": "1", "enabled": "1", "action": "save"},
                                   cookie=cookie)
        self.assertEqual(response.status, 303, self.log())
        response, page = self.request("GET", "/w/1/keys", cookie=cookie)
        self.assertIn(name, page)


@unittest.skipUnless(apache_binary() and os.path.exists(FCGID_MODULE), "Apache with mod_fcgid is not installed")
class InstalledBehindApacheFcgidTest(InstalledBehindApache, unittest.TestCase):
    """Apache configured from the installed examples/apache-fcgid.conf: mod_fcgid starts keyward."""

    kind = "mod_fcgid"
    modules = ("fcgid",)

    @classmethod
    def site(cls, root):
        # The example, as an operator would adapt it: its paths moved into DESTDIR, the state folder ours.
        example = read(os.path.join(root, "share", "keyward", "examples", "apache-fcgid.conf"))
        return (example.replace(PREFIX + "/", root + "/").replace("/var/lib/keyward", cls.vardir) +
                f'FcgidIPCDir "{cls.vardir}/fcgid"\nFcgidProcessTableFile "{cls.vardir}/fcgid-shm"\n')


@unittest.skipUnless(apache_binary() and os.path.exists(CGID_MODULE), "Apache with mod_cgid is not installed")
class InstalledBehindApacheCgiTest(InstalledBehindApache, unittest.TestCase):
    """Plain CGI, with the lines the README gives (a process per request, mod_cgid)."""

    kind = "CGI"
    modules = ("cgid", "env")

    @classmethod
    def site(cls, root):
        return f"""Alias "/static/" "{root}/share/keyward/static/"
<Directory "{root}/share/keyward/static">
    Require all granted
</Directory>
ScriptAliasMatch "^/(?!static/)" "{root}/sbin/keyward"
<Directory "{root}/sbin">
    Require all granted
</Directory>
ScriptSock "{cls.vardir}/cgid.sock"
SetEnv KEYWARD_DB {cls.vardir}/keyward.db
SetEnv KEYWARD_TEMPLATES {root}/share/keyward/templates
"""


if __name__ == "__main__":
    unittest.main()
