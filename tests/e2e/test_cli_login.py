"""`argus login`, `logout`, `whoami` and stored sessions against the real server: the
credentials file, refresh before expiry and after a 401, and that no secret is printed."""

import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import ADMIN_PASSWORD, ARGUS_BIN, Server, free_port, run_argus


def run_with_stdin(args, stdin, env):
    """Like harness.run_argus, with `stdin` fed to the process (for --password-stdin)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_") or k == "ARGUS_BIN"}
    e.update(env)
    return subprocess.run([ARGUS_BIN] + list(args), input=stdin, capture_output=True, text=True, env=e,
                          timeout=30)


class CliLogin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Sign-in limits raised: these tests sign in and refresh more than the default burst.
        cls.server = Server(args=("--set", "auth.login_rate=1000/s", "--set", "auth.login_burst=1000")).start()
        cls.url = f"http://127.0.0.1:{cls.server.port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="argus-cli-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.creds = os.path.join(self.dir, "argus", "credentials.json")
        self.env = {"ARGUS_CREDENTIALS": self.creds}
        self.outputs = []

    def tearDown(self):
        # Whatever ran, no token or password was ever printed.
        secrets = [ADMIN_PASSWORD] + self.seen_tokens()
        for out in self.outputs:
            for secret in secrets:
                self.assertNotIn(secret, out)

    def seen_tokens(self):
        tokens = getattr(self, "_tokens", set())
        if os.path.exists(self.creds):
            for entry in self.entries().values():
                tokens.update({entry["access_token"], entry["refresh_token"]})
        self._tokens = tokens
        return sorted(tokens)

    def argus(self, *args, server=True):
        cmd = list(args) + (["--server", self.url] if server else [])
        r = run_argus(cmd, env=self.env)
        self.outputs += [r.stdout, r.stderr]
        self.seen_tokens()
        return r

    def login(self, password=ADMIN_PASSWORD, *extra):
        r = run_with_stdin(["login", "--server", self.url, "--password-stdin"] + list(extra), password + "\n",
                           self.env)
        self.outputs += [r.stdout, r.stderr]
        self.seen_tokens()
        return r

    def entries(self):
        with open(self.creds) as f:
            return json.load(f)["servers"]

    def entry(self):
        return self.entries()[self.url]

    def write_entry(self, **changes):
        with open(self.creds) as f:
            doc = json.load(f)
        doc["servers"][self.url].update(changes)
        with open(self.creds, "w") as f:
            json.dump(doc, f)

    def refresh_status(self, refresh_token):
        status, _, _ = self.server.json("POST", "/api/v1/auth/refresh", {"refresh_token": refresh_token}, auth=False)
        return status

    def test_login_then_commands_without_token_then_logout(self):
        r = self.login()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), f"signed in to {self.url} as admin")
        self.assertEqual(stat.S_IMODE(os.stat(self.creds).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(self.creds)).st_mode), 0o700)
        entry = self.entry()
        self.assertEqual(entry["username"], "admin")
        with open(self.creds) as f:
            self.assertNotIn(ADMIN_PASSWORD, f.read())

        r = self.argus("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("sqlite", r.stdout)
        r = self.argus("whoami")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("user     admin", r.stdout)
        self.assertIn("role     admin", r.stdout)
        r = self.argus("whoami", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["user"]["username"], "admin")
        # ARGUS_SERVER picks the same stored session.
        r = run_argus(["whoami"], env=dict(self.env, ARGUS_SERVER=self.url + "/"))
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stderr)

        refresh = self.entry()["refresh_token"]
        r = self.argus("logout")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("signed out", r.stdout)
        self.assertNotIn(self.url, self.entries())
        self.assertEqual(self.refresh_status(refresh), 401)  # revoked on the server
        r = self.argus("whoami")
        self.assertEqual(r.returncode, 4)
        self.assertIn("not signed in", r.stderr)

    def test_wrong_password_exits_4(self):
        r = self.login("not-the-password")
        self.assertEqual(r.returncode, 4)
        self.assertIn("invalid username or password", r.stderr)
        self.assertNotIn("not-the-password", r.stdout + r.stderr)
        self.assertFalse(os.path.exists(self.creds) and self.url in self.entries())

    def test_unreachable_server_exits_3(self):
        r = run_with_stdin(["login", "--server", f"http://127.0.0.1:{free_port()}", "--password-stdin"],
                           ADMIN_PASSWORD + "\n", self.env)
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot reach", r.stderr)

    def test_expired_access_token_is_refreshed_first(self):
        self.assertEqual(self.login().returncode, 0)
        old = self.entry()
        self.write_entry(access_expires_at="2000-01-01T00:00:00.000Z")
        r = self.argus("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        new = self.entry()
        self.assertNotEqual(new["refresh_token"], old["refresh_token"])
        self.assertNotEqual(new["access_token"], old["access_token"])
        self.assertGreater(new["access_expires_at"], "2001")
        self.assertEqual(stat.S_IMODE(os.stat(self.creds).st_mode), 0o600)
        r = self.argus("whoami")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.entry()["refresh_token"], new["refresh_token"])  # no refresh needed now

    def test_rejected_access_token_is_refreshed_and_retried(self):
        self.assertEqual(self.login().returncode, 0)
        old = self.entry()
        self.write_entry(access_token="not-a-valid-token")  # the server answers 401
        r = self.argus("whoami")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("admin", r.stdout)
        self.assertNotEqual(self.entry()["refresh_token"], old["refresh_token"])

    def test_revoked_session_says_session_expired(self):
        self.assertEqual(self.login().returncode, 0)
        status, _, _ = self.server.json("POST", "/api/v1/auth/logout",
                                        {"refresh_token": self.entry()["refresh_token"]}, auth=False)
        self.assertEqual(status, 204)
        self.write_entry(access_expires_at="2000-01-01T00:00:00.000Z")
        for cmd in ("status", "whoami"):
            r = self.argus(cmd)
            self.assertEqual(r.returncode, 4, r.stderr)
            self.assertIn("session expired: run argus login", r.stderr)

    def test_several_servers_in_one_file(self):
        other = Server().start()
        try:
            self.assertEqual(self.login().returncode, 0)
            other_url = f"http://127.0.0.1:{other.port}"
            r = run_with_stdin(["login", "--server", other_url, "--password-stdin"], ADMIN_PASSWORD + "\n", self.env)
            self.outputs += [r.stdout, r.stderr]
            self.assertEqual(r.returncode, 0, r.stderr)
            self.seen_tokens()
            self.assertEqual(set(self.entries()), {self.url, other_url})
            r = run_argus(["status", "--server", other_url], env=self.env)
            self.outputs += [r.stdout, r.stderr]
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.argus("logout").returncode, 0)
            self.assertEqual(set(self.entries()), {other_url})
        finally:
            other.cleanup()


class CliLoginLimits(unittest.TestCase):
    def test_too_many_attempts_says_how_long_to_wait(self):
        s = Server().start()  # the default per-address sign-in limit
        tmp = tempfile.mkdtemp(prefix="argus-cli-")
        try:
            env = {"ARGUS_CREDENTIALS": os.path.join(tmp, "credentials.json")}
            for _ in range(12):
                r = run_with_stdin(["login", "--server", f"http://127.0.0.1:{s.port}", "--password-stdin"],
                                   "wrong-password\n", env)
                self.assertEqual(r.returncode, 4, r.stderr)
                if "too many" in r.stderr:
                    break
            self.assertRegex(r.stderr, r"wait \d+ s")
        finally:
            s.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
