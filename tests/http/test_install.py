"""test_install.py: `make install` into a temporary DESTDIR, `make uninstall`, and the installed program.

The layout (program, templates, static files, examples with their paths filled in, manual page),
the manual page through `mandoc -Tlint`, the installed binary's own idea of where its files are
(the compiled-in DATADIR), the manifest install writes and uninstall follows (it removes exactly
what install wrote, and only the folders it made, and only when empty: with DATADIR=/usr/share,
a file already in /usr/share survives), the logrotate file through logrotate itself, and, as root,
the keyward user and folders `make install-user` makes. The installed examples at work behind real
web servers beside an existing site are test_beside_site.py's.
"""
import grp
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import ROOT, Document, apache_binary, free_port, nginx_binary, nginx_conf_folder, wait_for_port
import http.client
import urllib.parse

PREFIX = "/usr/local"  # the Makefile's default: what the release build was made for


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
        self.assertEqual(examples, ["apache-fcgid.conf", "apache-keyward.conf", "keyward.logrotate", "keyward.service",
                                    "lighttpd-gatekeeper.conf", "lighttpd-keyward-serve.conf",
                                    "lighttpd-keyward.conf", "nginx-keyward-guard.conf", "nginx-keyward.conf"])
        unit = read(os.path.join(self.share, "examples", "keyward.service"))
        self.assertIn(f"ExecStart={PREFIX}/sbin/keyward serve --listen 127.0.0.1:9000 --threads 8 \\\n"
                      "          --gatekeeper 127.0.0.1:9001 --gatekeeper-threads 8\n", unit)
        self.assertIn(f"KEYWARD_TEMPLATES={PREFIX}/share/keyward/templates", unit)
        self.assertNotIn("@", unit.replace("man:keyward(8)", ""))
        # One ownership model: a user of its own (not DynamicUser, whose state is root's only).
        for line in ("User=keyward", "Group=keyward", "UMask=0007", "StateDirectory=keyward", "StateDirectoryMode=2770",
                     "RuntimeDirectory=keyward", "Environment=KEYWARD_DB=/var/lib/keyward/keyward.db",
                     "Environment=KEYWARD_BASE_PATH=/keyward"):
            self.assertIn("\n" + line + "\n", unit)
        self.assertNotIn("DynamicUser=yes", unit)
        # The gatekeeper and keyward's JSON API go to the gatekeeper's listener, the pages to the console's,
        # all of it under the base path.
        apache = read(os.path.join(self.share, "examples", "apache-keyward.conf"))
        self.assertIn("AuthnzFcgiDefineProvider authnz keyward fcgi://127.0.0.1:9001/\n", apache)
        self.assertIn('ProxyPass "/keyward/api/" "fcgi://127.0.0.1:9001/keyward/api/"\n', apache)
        self.assertIn('ProxyPass "/keyward/" "fcgi://127.0.0.1:9000/keyward/"\n', apache)
        self.assertNotIn('ProxyPass "/" ', apache)
        self.assertNotIn("@KEYWARD", apache)
        lighttpd = read(os.path.join(self.share, "examples", "lighttpd-keyward.conf"))
        self.assertIn('server.breakagelog = "/var/log/keyward/keyward.log"\n', lighttpd)
        self.assertIn('$HTTP["url"] =^ "/keyward/" {', lighttpd)
        self.assertIn('"KEYWARD_BASE_PATH" => "/keyward",', lighttpd)
        self.assertIn('"KEYWARD_TRUST_REMOTE_USER" => "0",', lighttpd)
        for name in examples:
            text = read(os.path.join(self.share, "examples", name))
            left = set(re.findall(r"@[A-Z_]+@", text)) - {"@API_PREFIX@", "@RULES@"}
            self.assertEqual(left, set(), name)
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
        # Nothing left outside PREFIX: not run as root without DESTDIR, install made no user and no state folder.
        self.assertEqual(os.listdir(self.destdir), [PREFIX.strip("/").split("/")[0]])
        # Everything it wrote is in the manifest, and nothing else.
        listed = read(os.path.join(self.share, "keyward.manifest")).splitlines()
        written = set()
        for folder, folders, files in os.walk(self.destdir):
            for name in folders + files:
                path = os.path.join(folder, name)[len(self.destdir):]
                written.add(("d " if os.path.isdir(self.destdir + path) else "f ") + path)
        written.discard("f " + PREFIX + "/share/keyward/keyward.manifest")
        self.assertEqual(set(listed), written)

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


class SettingsDocumentedTest(unittest.TestCase):
    """Every KEYWARD_ setting the program reads (src/core/config.c) is described in `keyward
    --help`, in the manual page and in the README: a new setting is never known only to the code."""

    def test_each_setting_is_in_the_help_the_manual_and_the_readme(self):
        settings = sorted(set(re.findall(r'"(KEYWARD_[A-Z_]+)"', read(os.path.join(ROOT, "src", "core", "config.c")))))
        self.assertIn("KEYWARD_USAGE_BUFFER", settings)  # the pattern still finds them
        self.assertGreater(len(settings), 10)
        from harness import BIN
        shown = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30).stdout
        manual = read(os.path.join(ROOT, "src", "keyward.8"))
        readme = read(os.path.join(ROOT, "README.md"))
        missing = [(name, where) for name in settings
                   for where, text in (("--help", shown), ("keyward.8", manual), ("README.md", readme))
                   if name not in text]
        self.assertEqual(missing, [])


class UninstallTest(unittest.TestCase):
    """make uninstall takes back exactly what make install wrote."""

    def setUp(self):
        self.destdir = tempfile.mkdtemp(prefix="keyward-test-uninstall-")
        self.addCleanup(shutil.rmtree, self.destdir, True)

    def tree(self):
        found = set()
        for folder, folders, files in os.walk(self.destdir):
            for name in folders + files:
                found.add(os.path.join(folder, name)[len(self.destdir):])
        return found

    def test_with_datadir_usr_share_a_file_already_there_survives(self):
        # GNU habits: DATADIR=/usr/share. The old uninstall ran rm -rf $(DESTDIR)$(DATADIR): all of /usr/share.
        os.makedirs(os.path.join(self.destdir, "usr", "share", "doc"))
        sentinel = os.path.join(self.destdir, "usr", "share", "doc", "sentinel")
        with open(sentinel, "w") as f:
            f.write("another program's file\n")
        before = self.tree()
        done = make("install", f"DESTDIR={self.destdir}", "DATADIR=/usr/share")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.destdir, "usr", "share", "templates", "keys.mustache")))
        self.assertTrue(os.path.isfile(os.path.join(self.destdir, "usr", "local", "sbin", "keyward")))
        done = make("uninstall", f"DESTDIR={self.destdir}", "DATADIR=/usr/share")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        with open(sentinel) as f:
            self.assertEqual(f.read(), "another program's file\n")
        # Everything installed is gone, folders install made included; what was there before stays.
        self.assertEqual(self.tree(), before)

    def test_a_folder_install_made_that_now_holds_other_files_stays(self):
        self.assertEqual(make("install", f"DESTDIR={self.destdir}").returncode, 0)
        mine = os.path.join(self.destdir, "usr", "local", "sbin", "mine")
        with open(mine, "w") as f:
            f.write("mine\n")
        done = make("uninstall", f"DESTDIR={self.destdir}")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.tree(), {"/usr", "/usr/local", "/usr/local/sbin", "/usr/local/sbin/mine"})

    def test_reinstalling_then_uninstalling_leaves_nothing(self):
        for _ in range(2):
            self.assertEqual(make("install", f"DESTDIR={self.destdir}", "LOGROTATEDIR=/etc/logrotate.d").returncode, 0)
        self.assertTrue(os.path.isfile(os.path.join(self.destdir, "etc", "logrotate.d", "keyward")))
        self.assertEqual(make("uninstall", f"DESTDIR={self.destdir}").returncode, 0)
        self.assertEqual(self.tree(), set())

    def test_without_a_manifest_nothing_is_removed(self):
        folder = os.path.join(self.destdir, "usr", "local", "share", "keyward")
        os.makedirs(folder)
        with open(os.path.join(folder, "keep"), "w"):
            pass
        done = make("uninstall", f"DESTDIR={self.destdir}")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("no " + self.destdir + "/usr/local/share/keyward/keyward.manifest, so nothing is removed", done.stderr)
        self.assertTrue(os.path.exists(os.path.join(folder, "keep")))

    def test_a_manifest_with_strange_lines_removes_nothing(self):
        self.assertEqual(make("install", f"DESTDIR={self.destdir}").returncode, 0)
        manifest = os.path.join(self.destdir, "usr", "local", "share", "keyward", "keyward.manifest")
        for line in ("f /usr/local/../../etc/passwd", "x /usr", "f relative/path", "d /usr/local/sbin /etc"):
            with self.subTest(line=line):
                with open(manifest) as f:
                    original = f.read()
                with open(manifest, "a") as f:
                    f.write(line + "\n")
                done = make("uninstall", f"DESTDIR={self.destdir}")
                self.assertNotEqual(done.returncode, 0)
                self.assertIn("nothing is removed", done.stderr)
                self.assertTrue(os.path.isfile(os.path.join(self.destdir, "usr", "local", "sbin", "keyward")))
                with open(manifest, "w") as f:
                    f.write(original)


@unittest.skipUnless(shutil.which("logrotate"), "logrotate is not installed")
class LogrotateTest(unittest.TestCase):
    def test_logrotate_takes_the_installed_file_and_copies_and_truncates(self):
        destdir = tempfile.mkdtemp(prefix="keyward-test-logrotate-")
        self.addCleanup(shutil.rmtree, destdir, True)
        logs = os.path.join(destdir, "log")
        done = make("install", f"DESTDIR={destdir}/stage", f"LOGDIR={logs}")
        self.assertEqual(done.returncode, 0, done.stderr)
        os.mkdir(logs)
        os.chmod(logs, 0o2770)
        log = os.path.join(logs, "keyward.log")
        with open(log, "w") as f:
            f.write("keyward: a message\n")
        # A writer that keeps the file open, as lighttpd's spawned processes do with their stderr.
        writer = open(log, "a")
        self.addCleanup(writer.close)
        config = os.path.join(destdir, "stage", "usr", "local", "share", "keyward", "examples", "keyward.logrotate")
        state = os.path.join(destdir, "state")
        group = "root" if os.getuid() == 0 else None
        text = read(config)
        if group is None:  # su needs root; as another user, rotate as that user
            text = text.replace("\tsu root keyward\n", "")
        elif subprocess.run(["getent", "group", "keyward"], capture_output=True).returncode != 0:
            text = text.replace("su root keyward", "su root root")
        with open(config, "w") as f:
            f.write(text)
        done = subprocess.run(["logrotate", "--force", "--state", state, config], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(sorted(os.listdir(logs)), ["keyward.log", "keyward.log.1"])
        self.assertEqual(read(os.path.join(logs, "keyward.log.1")), "keyward: a message\n")
        self.assertEqual(os.path.getsize(log), 0)
        writer.write("keyward: after the rotation\n")
        writer.flush()
        self.assertEqual(read(log), "keyward: after the rotation\n")  # the open file is the one kept


@unittest.skipUnless(os.getuid() == 0 and shutil.which("useradd"), "makes a system user: root only")
class InstallUserTest(unittest.TestCase):
    """make install-user (what make install runs as root): the user, the group and 2770 folders."""

    def test_the_user_group_and_folders_are_made_when_missing_and_left_alone_after(self):
        name = f"kwtest{os.getpid() % 100000}"
        folder = tempfile.mkdtemp(prefix="keyward-test-user-")
        state, logs = os.path.join(folder, "state"), os.path.join(folder, "log")

        def remove_user():
            subprocess.run(["userdel", name], capture_output=True)
            subprocess.run(["groupdel", name], capture_output=True)
        self.addCleanup(shutil.rmtree, folder, True)
        self.addCleanup(remove_user)
        done = make("install-user", f"KEYWARD_USER={name}", f"STATEDIR={state}", f"LOGDIR={logs}")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        user = pwd.getpwnam(name)
        group = grp.getgrnam(name)
        self.assertEqual(user.pw_gid, group.gr_gid)
        self.assertLess(user.pw_uid, 1000)  # a system user
        self.assertEqual(user.pw_dir, state)
        for path in (state, logs):
            info = os.stat(path)
            self.assertEqual((info.st_mode & 0o7777, info.st_uid, info.st_gid), (0o2770, user.pw_uid, group.gr_gid))
        self.assertIn(f"adduser www-data {name}", done.stdout)
        # Again: nothing changes, an existing folder keeps what its owner made of it.
        os.chmod(state, 0o750)
        done = make("install-user", f"KEYWARD_USER={name}", f"STATEDIR={state}", f"LOGDIR={logs}")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn("adduser --system", done.stdout)
        self.assertEqual(os.stat(state).st_mode & 0o7777, 0o750)


if __name__ == "__main__":
    unittest.main()
