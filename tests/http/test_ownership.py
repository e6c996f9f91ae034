"""test_ownership.py: one ownership model (README: Installing), as keyward itself carries it out.

keyward's files belong to the keyward user and group, and the web server's user is a member of the
group: `keyward init` makes the database 0660, its server key 0640 and a folder it makes 02770
(set-group-ID), whatever the umask; SQLite gives the -wal and -shm files the database's mode.
`keyward serve --listen /path.sock` makes its socket with --socket-mode (default 0660) and
--socket-group, and removes it when it stops. SIGHUP is said in the log and ignored: it never ends
keyward quietly with status 0 (which kept systemd's Restart=on-failure from restarting it).
"""
import grp
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from harness import BIN, TEMPLATES, fcgi_connect, fcgi_request_unix, init_database, parse_cgi_output


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def other_group():
    """A group this process may give a file to that is not its own primary group, or None."""
    if os.getuid() == 0:
        for name in ("www-data", "nogroup", "daemon"):
            try:
                return grp.getgrnam(name)
            except KeyError:
                pass
        return None
    for gid in os.getgroups():
        if gid != os.getgid():
            return grp.getgrgid(gid)
    return None


class InitModesTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="keyward-modes-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def init(self, database, umask):
        return subprocess.run([BIN, "--db", database, "init"], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES), preexec_fn=lambda: os.umask(umask))

    def test_init_gives_the_folder_database_and_key_their_modes_whatever_the_umask(self):
        for umask in (0o022, 0o000, 0o077):
            with self.subTest(umask=oct(umask)):
                folder = os.path.join(self.folder, f"state-{umask:o}")
                database = os.path.join(folder, "keyward.db")
                done = self.init(database, umask)
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertEqual(mode_of(folder), 0o2770)
                self.assertEqual(mode_of(database), 0o660)
                self.assertEqual(mode_of(database + ".key"), 0o640)
                self.assertNotIn("warning", done.stderr)

    def test_the_wal_and_shm_files_take_the_database_mode(self):
        database = os.path.join(self.folder, "state", "keyward.db")
        self.assertEqual(self.init(database, 0o022).returncode, 0)
        # A server holds the database open (WAL mode): its -wal and -shm files exist while it runs.
        port_folder = tempfile.mkdtemp(prefix="keyward-sock-", dir=self.folder)
        socket_path = os.path.join(port_folder, "k.sock")
        process = subprocess.Popen([BIN, "--db", database, "serve", "--listen", socket_path, "--threads", "1"],
                                   env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   preexec_fn=lambda: os.umask(0o022))
        try:
            wait_for_listening(socket_path)
            stdout, _, _ = fcgi_request_unix(socket_path, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/signin",
                                                           "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1"})
            self.assertEqual(parse_cgi_output(stdout)[0], 200)
            for suffix in ("-wal", "-shm"):
                self.assertTrue(os.path.exists(database + suffix), suffix)
                self.assertEqual(mode_of(database + suffix), 0o660, suffix)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=10)

    def test_an_existing_folder_is_left_as_its_owner_made_it(self):
        folder = os.path.join(self.folder, "mine")
        os.mkdir(folder)
        os.chmod(folder, 0o750)
        self.assertEqual(self.init(os.path.join(folder, "keyward.db"), 0o022).returncode, 0)
        self.assertEqual(mode_of(folder), 0o750)
        self.assertEqual(mode_of(os.path.join(folder, "keyward.db")), 0o660)

    def test_a_key_readable_by_others_is_warned_about(self):
        database = os.path.join(self.folder, "state", "keyward.db")
        self.assertEqual(self.init(database, 0o022).returncode, 0)
        os.chmod(database + ".key", 0o644)
        done = self.init(database, 0o022)
        self.assertEqual(done.returncode, 0)
        self.assertIn("is readable by others; chmod 640 it", done.stderr)


def wait_for_listening(path, seconds=20):
    """Wait until the unix socket at `path` takes connections. Its file appears at bind(), a moment
    before listen(): a connection in between is refused."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            fcgi_connect(path).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{path} took no connection in {seconds} s")


class ServeSocketTest(unittest.TestCase):
    """keyward serve on a unix socket: its mode and group, its removal, SIGHUP."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="keyward-socket-")
        cls.database = os.path.join(cls.folder, "keyward.db")
        init_database(cls.database)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def serve(self, *options, name="k.sock"):
        path = os.path.join(self.folder, name)
        self.log_path = os.path.join(self.folder, name + ".log")
        log = open(self.log_path, "wb")
        process = subprocess.Popen([BIN, "--db", self.database, "serve", "--listen", path, "--threads", "2", *options],
                                   env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: os.umask(0o022))
        log.close()
        self.addCleanup(self.stop, process)
        return process, path

    def stop(self, process):
        if process.poll() is None:
            process.kill()
            process.wait()

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def answer(self, path):
        stdout, _, _ = fcgi_request_unix(path, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/signin", "QUERY_STRING": "",
                                                "REMOTE_ADDR": "127.0.0.1"})
        return parse_cgi_output(stdout)[0]

    def wait_for_mode(self, path, mode):
        """The socket is made 0600 and widened before the workers start: wait for the final mode."""
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(path) and mode_of(path) == mode:
                return
            time.sleep(0.05)
        self.fail(f"{path}: mode {oct(mode_of(path)) if os.path.exists(path) else 'missing'}, not {oct(mode)}\n"
                  + self.log())

    def test_the_socket_is_0660_by_default_and_removed_on_sigterm(self):
        process, path = self.serve()
        self.wait_for_mode(path, 0o660)
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        self.assertEqual(os.lstat(path).st_gid, os.getgid())
        self.assertEqual(self.answer(path), 200)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=10), 0, self.log())
        self.assertFalse(os.path.exists(path), "the socket file was left behind")

    def test_socket_mode_and_group(self):
        group = other_group()
        if group is None:
            self.skipTest("this user belongs to no second group to give the socket to")
        process, path = self.serve("--socket-mode", "0600", "--socket-group", group.gr_name, name="g.sock")
        self.wait_for_mode(path, 0o600)
        # The socket may be born 0600 (a strict umask) a moment before keyward gives it its group.
        deadline = time.time() + 10
        while os.lstat(path).st_gid != group.gr_gid and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(os.lstat(path).st_gid, group.gr_gid)
        self.assertEqual(self.answer(path), 200)
        process.send_signal(signal.SIGINT)
        self.assertEqual(process.wait(timeout=10), 0, self.log())
        self.assertFalse(os.path.exists(path))

    def test_a_group_number_works_too(self):
        process, path = self.serve("--socket-mode", "660", "--socket-group", str(os.getgid()), name="n.sock")
        self.wait_for_mode(path, 0o660)
        self.assertEqual(os.lstat(path).st_gid, os.getgid())
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=10), 0)

    def test_sighup_is_logged_and_keyward_keeps_serving(self):
        process, path = self.serve(name="h.sock")
        self.wait_for_mode(path, 0o660)
        process.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "SIGHUP" not in self.log() and time.time() < deadline and process.poll() is None:
            time.sleep(0.05)
        self.assertIsNone(process.poll(), "keyward ended on SIGHUP:\n" + self.log())
        self.assertIn("keyward: SIGHUP ignored", self.log())
        self.assertEqual(self.answer(path), 200)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=10), 0)
        self.assertFalse(os.path.exists(path))

    def test_bad_socket_options_are_refused_with_a_sentence_and_leave_nothing(self):
        cases = [
            (["--socket-mode", "0999"], "--socket-mode takes an octal mode"),
            (["--socket-mode", "0"], "--socket-mode takes an octal mode"),
            (["--socket-mode", "0460"], "--socket-mode takes an octal mode"),
            (["--socket-mode", "66600"], "--socket-mode takes an octal mode"),
            (["--socket-mode", "rw-rw----"], "--socket-mode takes an octal mode"),
            (["--socket-mode", ""], "--socket-mode takes an octal mode"),
            (["--socket-group", ""], "--socket-group needs a group"),
            (["--socket-group", "no-such-group-here"], 'there is no group "no-such-group-here"'),
            (["--socket-mode"], "--socket-mode needs a value"),
        ]
        for options, message in cases:
            with self.subTest(options=options):
                path = os.path.join(self.folder, "bad.sock")
                done = subprocess.run([BIN, "--db", self.database, "serve", "--listen", path, *options],
                                      capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                                      env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES))
                # 2: the command line was wrong; 1: it was right, but the group does not exist here
                self.assertEqual(done.returncode, 1 if "there is no group" in message else 2, done.stderr)
                self.assertIn(message, done.stderr)
                self.assertFalse(os.path.exists(path), "a refused serve left its socket behind")
        done = subprocess.run([BIN, "--db", self.database, "serve", "--listen", "127.0.0.1:1", "--socket-mode", "0660"],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--socket-mode and --socket-group are for a unix socket", done.stderr)
        long_path = os.path.join(self.folder, "x" * 200 + ".sock")
        done = subprocess.run([BIN, "--db", self.database, "serve", "--listen", long_path],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES))
        self.assertEqual(done.returncode, 1)
        self.assertIn("is too long for a unix socket path (at most 107 bytes)", done.stderr)

    @unittest.skipUnless(os.getuid() != 0, "root may give a file to any group")
    def test_a_group_this_user_is_not_in_is_refused(self):
        outsider = next((g for g in grp.getgrall() if g.gr_gid not in os.getgroups()), None)
        if outsider is None:
            self.skipTest("no group outside this user's")
        path = os.path.join(self.folder, "o.sock")
        done = subprocess.run([BIN, "--db", self.database, "serve", "--listen", path, "--socket-group", outsider.gr_name],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES))
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"cannot give socket {path} to group {outsider.gr_name}", done.stderr)
        self.assertFalse(os.path.exists(path))


class SpawnedSighupTest(unittest.TestCase):
    """A process the web server spawned (fd 0 a listening socket) ignores SIGHUP too."""

    def test_a_spawned_process_survives_sighup(self):
        import socket
        folder = tempfile.mkdtemp(prefix="keyward-spawned-")
        try:
            database = os.path.join(folder, "keyward.db")
            init_database(database)
            path = os.path.join(folder, "spawned.sock")
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(8)
            process = subprocess.Popen([BIN, "--db", database], stdin=listener.fileno(), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES))
            listener.close()
            try:
                stdout, _, _ = fcgi_request_unix(path, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/signin",
                                                        "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1"})
                self.assertEqual(parse_cgi_output(stdout)[0], 200)
                process.send_signal(signal.SIGHUP)
                time.sleep(0.5)
                self.assertIsNone(process.poll(), "the spawned process ended on SIGHUP")
                stdout, _, _ = fcgi_request_unix(path, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/signin",
                                                        "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1"})
                self.assertEqual(parse_cgi_output(stdout)[0], 200)
                # The socket is the web server's: keyward leaves it where it is.
                process.send_signal(signal.SIGTERM)
                _, stderr = process.communicate(timeout=10)
                self.assertEqual(process.returncode, 0, stderr)
                self.assertTrue(os.path.exists(path))
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
