"""test_gatekeeper_workspaces.py: the rules file's "workspace ID" lines, through real lighttpd and Apache.

The gatekeeper accepts the keys of the workspaces its rules file names (workspace 1 when it names
none: see test_gatekeeper.py); a key of any other workspace gets, byte for byte, the answer a key
nobody knows gets. Each class runs a server of its own with its rules file:

  * "workspace 2" alone: workspace 2's keys pass (the API sees KEYWARD_WORKSPACE_ID=2), workspace
    1's do not;
  * "workspace 2" and "workspace 1": both pass, each with its own KEYWARD_WORKSPACE_ID; a third
    workspace's keys do not.

Workspaces are made through the console as the owner, keys with `keyward key create --workspace`.

StandaloneScopeTest talks FastCGI straight to `keyward serve`: the default scope is said once per
process and only by the gatekeeper (not by the command line, not by a CGI request), and a bad
"workspace" line stops keyward at start with the file and line.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import (database_env, BIN, FCGI_AUTHORIZER, GATEKEEPER_RULES, TEMPLATES, ApacheGatekeeper, LighttpdGatekeeper,
                     ServerTestCase, StandaloneKeyward, fcgi_request, free_port, parse_cgi_output, sanitizer_report)
from test_gatekeeper import foreign_token, key_id_of

DEFAULT_NOTE = "keyward: the gatekeeper serves workspace 1"


class ScopeChecks:
    """Checks for a ServerTestCase whose GatekeeperServer names `served` in its rules file."""

    served = ()  # the workspace ids the rules file names, in its order

    def workspace(self, number):
        """Make workspaces through the console until `number` exists; returns it."""
        while not self.server.query("SELECT count(*) FROM workspace WHERE id = ?", (number,))[0][0]:
            self.server.create_workspace(f"Workspace made by the test, number {number}")
        return number

    def key(self, workspace, name):
        token = self.server.create_key_cli(name, "--role", "admin", "--workspace", str(self.workspace(workspace)))
        return token, key_id_of(token)

    def answer(self, token, path="/protected/scope/x", via="bearer"):
        """(status, headers but Date, body) of a call; the API must not have seen it unless it passed."""
        line = ("Authorization", "Bearer " + token) if via == "bearer" else ("X-API-Key", token)
        response = self.server.raw_request("GET", path, [line])
        return response.status, [(n.lower(), v) for n, v in response.headers if n.lower() != "date"], response.body

    def assertPasses(self, workspace):
        token, key_id = self.key(workspace, f"Key of workspace {workspace}")
        before = len(self.server.backend_requests())
        status, _, body = self.answer(token, f"/protected/scope/{workspace}")
        self.assertEqual(status, 200, body[:300])
        seen = self.server.backend_requests()
        self.assertEqual(len(seen), before + 1)
        self.assertEqual((seen[-1]["KEYWARD_KEY_ID"], seen[-1]["KEYWARD_WORKSPACE_ID"]), (key_id, str(workspace)))

    def assertRefusedAsUnknown(self, workspace):
        token, _ = self.key(workspace, f"Key of unserved workspace {workspace}")
        unknown = foreign_token()
        before = len(self.server.backend_requests())
        for via in ("bearer", "x-api-key"):
            with self.subTest(workspace=workspace, via=via):
                expected = self.answer(unknown, via=via)
                self.assertEqual(expected[0], 401)
                self.assertEqual(json.loads(expected[2])["code"], "invalid_key")
                self.assertEqual(self.answer(token, via=via), expected)
        self.assertEqual(len(self.server.backend_requests()), before, "the API saw a refused request")

    def test_the_named_workspaces_pass(self):
        for workspace in self.served:
            self.assertPasses(workspace)

    def test_others_are_refused_as_unknown_keys(self):
        for workspace in range(1, max(self.served) + 2):
            if workspace not in self.served:
                self.assertRefusedAsUnknown(workspace)

    def test_no_default_is_said(self):
        token, _ = self.key(self.served[0], "Said nothing")
        self.assertEqual(self.answer(token)[0], 200)
        self.assertNotIn(DEFAULT_NOTE, self.server.error_log())


class OnlyTwo:
    served = (2,)
    rules = GATEKEEPER_RULES + "workspace 2\n"


class TwoAndOne:
    served = (2, 1)
    rules = GATEKEEPER_RULES + "workspace 2   # the customers' workspace\nworkspace 1\n"


class LighttpdOnlyTwo(OnlyTwo, LighttpdGatekeeper):
    pass


class ApacheOnlyTwo(OnlyTwo, ApacheGatekeeper):
    pass


class LighttpdTwoAndOne(TwoAndOne, LighttpdGatekeeper):
    pass


class ApacheTwoAndOne(TwoAndOne, ApacheGatekeeper):
    pass


class LighttpdWorkspace2Test(ScopeChecks, ServerTestCase):
    server_class = LighttpdOnlyTwo
    served = OnlyTwo.served


class ApacheWorkspace2Test(ScopeChecks, ServerTestCase):
    server_class = ApacheOnlyTwo
    served = OnlyTwo.served


class LighttpdWorkspaces2And1Test(ScopeChecks, ServerTestCase):
    server_class = LighttpdTwoAndOne
    served = TwoAndOne.served


class ApacheWorkspaces2And1Test(ScopeChecks, ServerTestCase):
    server_class = ApacheTwoAndOne
    served = TwoAndOne.served


class StandaloneScopeTest(unittest.TestCase):
    """`keyward serve` on its own database, asked in the authorizer role."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="keyward-scope-")
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            log = server.stop()
            server.cleanup()
            self.assertIsNone(sanitizer_report(log), log[-4000:])
        shutil.rmtree(self.folder, ignore_errors=True)

    def rules(self, text):
        path = os.path.join(self.folder, "rules")
        with open(path, "w") as f:
            f.write(text)
        return path

    def serve(self, rules_text=None):
        env = {"KEYWARD_CONFIG": self.rules(rules_text)} if rules_text is not None else {"KEYWARD_CONFIG": ""}
        server = StandaloneKeyward(threads=2, env=env)
        self.servers.append(server)
        return server

    def ask(self, server, token=None):
        params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/protected/x", "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1"}
        if token:
            params["HTTP_AUTHORIZATION"] = "Bearer " + token
        stdout, _, _ = fcgi_request(server.port, params, role=FCGI_AUTHORIZER)
        return parse_cgi_output(stdout)

    def test_the_default_is_said_once_by_the_gatekeeper_only(self):
        server = self.serve()
        made = server.cli("key", "create", "--name", "Scoped")
        self.assertEqual(made.returncode, 0, made.stderr)
        self.assertNotIn(DEFAULT_NOTE, made.stderr)  # the command line says nothing of it
        self.assertNotIn(DEFAULT_NOTE, server.log())  # nor a server that has not been a gatekeeper yet
        for _ in range(6):
            status, headers, _ = self.ask(server, made.stdout.strip())
            self.assertEqual(status, 200)
            self.assertEqual(dict(headers)["Variable-KEYWARD_WORKSPACE_ID"], "1")
            self.assertEqual(self.ask(server)[0], 401)
        self.assertEqual(server.log().count(DEFAULT_NOTE + " (no rules file: KEYWARD_CONFIG is not set)\n"), 1,
                         server.log())
        # A plain CGI request (one process each) never says it.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GATEWAY_INTERFACE": "CGI/1.1",
               "REQUEST_METHOD": "GET", "REQUEST_URI": "/signin", "QUERY_STRING": "", "SCRIPT_NAME": "",
               "REMOTE_ADDR": "127.0.0.1", "KEYWARD_DB": server.database, "KEYWARD_TEMPLATES": TEMPLATES,
               **database_env(server.database)}
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if name in os.environ:
                env[name] = os.environ[name]
        with open(os.devnull, "rb") as devnull:
            done = subprocess.run([BIN], env=env, stdin=devnull, capture_output=True, timeout=60)
        self.assertIn(b"Status: 200", done.stdout[:200])
        self.assertNotIn(DEFAULT_NOTE.encode(), done.stderr)

    def test_a_rules_file_without_workspace_lines_is_the_default(self):
        server = self.serve("require /protected/admin/ api.key.create\n")
        self.assertEqual(self.ask(server)[0], 401)
        self.assertEqual(server.log().count(DEFAULT_NOTE + " (the rules file names none)\n"), 1, server.log())

    def test_named_workspaces_are_not_said(self):
        server = self.serve("workspace 1\n")
        self.assertEqual(self.ask(server)[0], 401)
        self.assertNotIn("gatekeeper serves", server.log())

    def test_bad_workspace_lines_stop_keyward_at_start(self):
        cases = {
            "workspace 0\n": "line 1: expected \"workspace ID\" with ID a positive whole number",
            "# ours\nworkspace 2\nrequire /x y\nworkspace 2\n": "line 4: workspace 2 is named twice",
            "workspace one\n": "line 1: expected \"workspace ID\"",
            "workspace 1 2\n": "line 1: expected \"workspace ID\" (one workspace a line)",
        }
        for text, words in cases.items():
            with self.subTest(text=text):
                path = self.rules(text)
                done = subprocess.run([BIN, "--db", os.path.join(self.folder, "k.db"), "serve", "--listen",
                                       f"127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=60,
                                      env=dict(os.environ, KEYWARD_TEMPLATES=TEMPLATES, KEYWARD_CONFIG=path),
                                      stdin=subprocess.DEVNULL)
                self.assertNotEqual(done.returncode, 0)
                self.assertIn(f"{path}, {words}", done.stderr)
                self.assertIsNone(sanitizer_report(done.stderr), done.stderr)
