"""Every `argus` client command against the real server: --json output parsed and checked
against the API, plain output when piped (tab-separated, no colour), exit codes 0 (ok),
1 (failed: 404, refused, a failed job), 2 (usage), 3 (server unreachable) and
4 (not authorised), `status --watch` ending cleanly on Ctrl-C, `events tail` printing real
stream messages (test messages and an event made by the pipeline from pushed frames)."""

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import test_pipeline
from harness import ADMIN_PASSWORD, ARGUS_BIN, Server, camera, free_port, wait_for

ANSI = "\x1b["


class CliBase(unittest.TestCase):
    server_args = ()

    @classmethod
    def setUpClass(cls):
        # Reads limited per caller by default (100/s); the benchmark goes faster than that.
        cls.server = Server(args=("--set", "auth.read_rate=100000/s", "--set", "auth.read_burst=100000")
                            + tuple(cls.server_args)).start()
        cls.url = f"http://127.0.0.1:{cls.server.port}"
        cls.dir = tempfile.mkdtemp(prefix="argus-cli-")
        cls.env = {"ARGUS_SERVER": cls.url, "ARGUS_CREDENTIALS": os.path.join(cls.dir, "credentials.json"),
                   "NO_COLOR": "1"}
        pw = os.path.join(cls.dir, "pw")
        with open(pw, "w") as f:
            f.write(ADMIN_PASSWORD + "\n")
        r = cls.run_cli(["login", "--password-file", pw])
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def run_cli(cls, args, env=None, stdin=None, timeout=60):
        e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_") and k != "NO_COLOR"}
        e.update(cls.env)
        e.update(env or {})
        return subprocess.run([ARGUS_BIN] + list(args), input=stdin, capture_output=True, text=True, env=e,
                              timeout=timeout)

    def cli(self, *args, code=0, env=None, stdin=None):
        """Runs argus; asserts the exit code; checks piped output is plain."""
        r = self.run_cli(args, env=env, stdin=stdin)
        self.assertEqual(r.returncode, code, f"argus {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        self.assertNotIn(ANSI, r.stdout)
        self.assertNotIn(ANSI, r.stderr)
        return r

    def cli_json(self, *args, code=0, env=None, stdin=None):
        r = self.cli(*args, "--json", code=code, env=env, stdin=stdin)
        return json.loads(r.stdout)

    def api(self, method, path, body=None):
        status, _, doc = self.server.json(method, path, body)
        return status, doc


class CliCommands(CliBase):
    def test_version_whoami_and_help(self):
        self.assertIn("version", self.cli_json("version"))
        self.assertEqual(self.cli_json("whoami")["user"]["username"], "admin")
        for group in ("cameras", "events", "jobs", "dlq", "users", "keys", "alerts"):
            r = self.cli(group, "--help")
            self.assertIn("Examples:", r.stdout)
        for cmd in (["status"], ["health"], ["counts"], ["maintenance"], ["cameras", "add"], ["events", "tail"],
                    ["jobs", "wait"], ["dlq", "purge"], ["users", "passwd"], ["keys", "create"], ["login"]):
            r = self.cli(*cmd, "--help")
            self.assertIn("Examples:", r.stdout, cmd)

    def test_login_and_logout_with_json(self):
        creds = {"ARGUS_CREDENTIALS": os.path.join(self.dir, "other-credentials.json")}
        doc = self.cli_json("login", "--password-stdin", env=creds, stdin=ADMIN_PASSWORD + "\n")
        self.assertEqual(doc, {"server": self.url, "username": "admin"})
        self.cli("login", "--password", ADMIN_PASSWORD, env=creds, code=2)  # never a flag
        self.cli("login", env=creds, code=2)  # no terminal to ask
        self.assertEqual(self.cli_json("whoami", env=creds)["user"]["username"], "admin")
        self.assertEqual(self.cli_json("logout", env=creds), {"server": self.url, "signed_out": True})
        self.assertEqual(self.cli_json("logout", env=creds), {"server": self.url, "signed_out": False})
        self.cli("whoami", env=creds, code=4)

    def test_exit_codes(self):
        # 2: usage (unknown flag, missing argument, missing subcommand).
        r = self.cli("cameras", "list", "--bogus", code=2)
        self.assertIn("--bogus", r.stderr)
        self.cli("cameras", "show", code=2)
        self.cli("cameras", code=2)
        self.cli("counts", code=2)
        # 3: nothing listens there.
        r = self.cli("cameras", "list", "--server", f"http://127.0.0.1:{free_port()}", code=3)
        self.assertIn("cannot reach", r.stderr)
        self.cli("health", "--server", f"127.0.0.1:{free_port()}", code=3)
        # 4: a token the server does not accept; no credential at all.
        r = self.cli("cameras", "list", "--token", "not-a-token", code=4)
        self.assertIn("not authorised", r.stderr)
        r = self.cli("status", env={"ARGUS_CREDENTIALS": os.path.join(self.dir, "none.json")}, code=4)
        self.assertIn("argus login", r.stderr)
        # 1: the resource does not exist; the server's problem detail is shown.
        r = self.cli("cameras", "show", "no-such-camera", code=1)
        self.assertIn("does not exist", r.stderr)
        self.assertIn("HTTP 404", r.stderr)
        self.cli("events", "show", "no-such-event", code=1)
        self.cli("jobs", "show", "no-such-job", code=1)

    def test_validation_errors_show_the_field(self):
        r = self.cli("cameras", "add", "bad-fps", "--url", "rtsp://127.0.0.1:9/x", "--fps", "100", code=1)
        self.assertIn("HTTP 422", r.stderr)
        self.assertIn("/detection/fps", r.stderr)

    def test_cameras_lifecycle(self):
        created = self.cli_json("cameras", "add", "cli-cam", "--url", "rtsp://127.0.0.1:9/cli", "--fps", "2",
                                "--label", "person", "--label", "car", "--min-score", "0.6", "--disable",
                                "--name", "CLI camera")
        self.assertEqual(created["id"], "cli-cam")
        self.assertEqual(created["name"], "CLI camera")
        self.assertFalse(created["enabled"])
        self.assertEqual(created["detection"], {"fps": 2.0, "labels": ["person", "car"], "min_score": 0.6})
        self.assertEqual(self.api("GET", "/api/v1/cameras/cli-cam")[1]["name"], "CLI camera")

        listed = self.cli_json("cameras", "list")
        self.assertIsInstance(listed, list)
        self.assertIn("cli-cam", [c["id"] for c in listed])
        shown = self.cli_json("cameras", "show", "cli-cam")
        self.assertEqual(shown["source"]["url"], "rtsp://127.0.0.1:9/cli")

        # Piped: one tab-separated line per camera, no header.
        plain = self.cli("cameras", "list").stdout.splitlines()
        row = next(line.split("\t") for line in plain if line.startswith("cli-cam\t"))
        self.assertEqual(row[:3], ["cli-cam", "CLI camera", "false"])
        self.assertFalse(any(line.startswith("ID") for line in plain))

        self.assertTrue(self.cli_json("cameras", "enable", "cli-cam")["enabled"])
        self.assertFalse(self.cli_json("cameras", "disable", "cli-cam")["enabled"])
        updated = self.cli_json("cameras", "update", "cli-cam", "--fps", "1", "--name", "Renamed")
        self.assertEqual(updated["detection"]["fps"], 1.0)
        self.assertEqual(updated["detection"]["labels"], ["person", "car"])  # a merge patch keeps the rest
        self.assertEqual(updated["name"], "Renamed")
        self.cli("cameras", "update", "cli-cam", code=2)  # nothing to change

        # --file and '-' (standard input), flags override the file.
        path = os.path.join(self.dir, "cam.json")
        with open(path, "w") as f:
            json.dump(camera("cli-file", enabled=False, zones=[{"name": "porch",
                                                                 "polygon": [[0, 0], [1, 0], [1, 1]]}]), f)
        from_file = self.cli_json("cameras", "add", "--file", path, "--name", "From file")
        self.assertEqual(from_file["zones"][0]["name"], "porch")
        self.assertEqual(from_file["name"], "From file")
        patch = self.cli_json("cameras", "update", "cli-file", "--file", "-", stdin='{"zones": []}')
        self.assertEqual(patch["zones"], [])

        self.assertEqual(self.cli_json("cameras", "rm", "cli-file"), {"deleted": "cli-file"})
        self.assertEqual(self.cli_json("cameras", "rm", "cli-cam"), {"deleted": "cli-cam"})
        self.assertEqual(self.api("GET", "/api/v1/cameras/cli-cam")[0], 404)
        self.cli("cameras", "rm", "cli-cam", code=1)

    def test_cameras_paging_follows_cursors_with_all(self):
        for i in range(3):
            self.assertEqual(self.api("POST", "/api/v1/cameras", camera(f"page-{i}", enabled=False))[0], 201)
        try:
            r = self.cli("cameras", "list", "--limit", "1", "--json")
            self.assertEqual(len(json.loads(r.stdout)), 1)
            self.assertIn("--cursor", r.stderr)
            cursor = r.stderr.split("--cursor ")[1].split()[0]
            second = self.cli_json("cameras", "list", "--limit", "1", "--cursor", cursor)
            self.assertNotEqual(second[0]["id"], json.loads(r.stdout)[0]["id"])
            every = self.cli_json("cameras", "list", "--limit", "1", "--all")
            ids = [c["id"] for c in every]
            self.assertEqual(len(ids), len(set(ids)))
            self.assertTrue({"page-0", "page-1", "page-2"} <= set(ids))
        finally:
            for i in range(3):
                self.server.request("DELETE", f"/api/v1/cameras/page-{i}")

    def test_status_shows_stats_or_the_fallback(self):
        self.api("POST", "/api/v1/cameras", camera("status-cam", enabled=False))
        try:
            doc = self.cli_json("status")
            self.assertIn("uptime_seconds", doc)
            self.assertEqual(doc["version"], self.api("GET", "/api/v1/system/info")[1]["version"])
            cams = {c["id"]: c for c in doc["cameras"]}
            self.assertEqual(cams["status-cam"]["state"], "disabled")
            status, stats = self.api("GET", "/api/v1/system/stats")
            if status == 200:
                self.assertEqual(set(doc), set(stats))
            plain = self.cli("status").stdout
            self.assertIn("server\t" + self.url, plain)
            self.assertIn("\tstatus-cam\t", plain)
        finally:
            self.server.request("DELETE", "/api/v1/cameras/status-cam")

    def test_status_watch_redraws_until_ctrl_c(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_")}
        e.update(self.env)
        p = subprocess.Popen([ARGUS_BIN, "status", "--watch", "0.2", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=e)
        try:
            snapshots = [json.loads(p.stdout.readline()) for _ in range(3)]
            self.assertTrue(all("uptime_seconds" in s for s in snapshots))
            self.assertLessEqual(snapshots[0]["uptime_seconds"], snapshots[2]["uptime_seconds"])
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(timeout=10), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()

    def test_health(self):
        doc = self.cli_json("health")
        self.assertEqual(doc["health"]["status"], "pass")
        self.assertEqual(doc["ready"]["status"], "pass")
        plain = self.cli("health", "--verbose").stdout
        self.assertIn("health\tpass", plain)
        self.assertIn("check\tstore\tdatastore\tpass", plain)

    def test_terminal_gets_tables_and_colour_unless_no_color(self):
        def on_tty(extra):
            master, slave = pty.openpty()
            e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_") and k != "NO_COLOR"}
            e.update(self.env)
            e.pop("NO_COLOR")
            e.update(extra)
            p = subprocess.Popen([ARGUS_BIN, "health", "--verbose"], stdout=slave, stderr=subprocess.PIPE, env=e)
            os.close(slave)
            out = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO once the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            os.close(master)
            p.communicate(timeout=30)
            return p.returncode, out.decode()

        rc, out = on_tty({"TERM": "xterm"})
        self.assertEqual(rc, 0, out)
        self.assertIn("\x1b[32mpass\x1b[0m", out)
        self.assertIn("CHECK", out)  # a header on a terminal
        rc, out = on_tty({"TERM": "xterm", "NO_COLOR": "1"})
        self.assertEqual(rc, 0, out)
        self.assertNotIn(ANSI, out)
        self.assertIn("CHECK", out)
        self.assertNotIn("\t", out)  # aligned with spaces, not tabs

    def test_health_benchmark(self):
        self.api("POST", "/api/v1/cameras", camera("bench-cam", enabled=False))
        try:
            doc = self.cli_json("health", "--benchmark", "20")
            routes = {r["route"]: r for r in doc["routes"]}
            for route in ("/health", "/ready", "/api/v1/cameras", "/api/v1/events?limit=1", "/api/v1/jobs?limit=1"):
                self.assertIn(route, routes)
            self.assertTrue(any(r.startswith("/api/v1/counts?camera=") for r in routes))
            for r in doc["routes"]:
                self.assertEqual(r["requests"], 20)
                self.assertEqual(r["errors"], 0, r)
                self.assertLessEqual(r["p50_ms"], r["p99_ms"])
                self.assertLessEqual(r["p99_ms"], r["max_ms"])
                self.assertGreater(r["requests_per_second"], 0)
            lines = self.cli("health", "--benchmark", "5").stdout.splitlines()
            self.assertEqual(lines[0].split("\t")[:3], ["/health", "5", "0"])
        finally:
            self.server.request("DELETE", "/api/v1/cameras/bench-cam")

    def test_jobs(self):
        submitted = self.cli_json("jobs", "submit", "vacuum")
        self.assertEqual(submitted["kind"], "vacuum")
        done = self.cli_json("jobs", "wait", submitted["id"], "--timeout", "120")
        self.assertEqual(done["state"], "succeeded")
        r = self.cli("jobs", "wait", submitted["id"])
        self.assertIn("succeeded", r.stderr)  # plain progress lines on stderr when it is not a terminal
        self.assertEqual(self.cli_json("jobs", "show", submitted["id"])["result"], done["result"])
        listed = self.cli_json("jobs", "list", "--kind", "vacuum")
        self.assertIn(submitted["id"], [j["id"] for j in listed])
        # Plain submit prints only the id; --wait with params.
        job_id = self.cli("jobs", "submit", "retention").stdout.strip()
        self.assertEqual(self.api("GET", f"/api/v1/jobs/{job_id}")[1]["kind"], "retention")
        # A job that fails: exit 1, the final job on stdout.
        videos = os.path.join(self.server.data_dir, "videos")
        os.makedirs(videos, exist_ok=True)
        with open(os.path.join(videos, "broken.mp4"), "w") as f:
            f.write("not a video")
        failed = self.cli_json("jobs", "submit", "analyze", "--param", "file=broken.mp4", "--param", "fps=2",
                               "--wait", code=1)
        self.assertEqual(failed["state"], "failed")
        self.assertEqual(failed["params"]["fps"], 2)
        failed2 = self.cli_json("jobs", "submit", "analyze", "--body", '{"file": "broken.mp4"}', "--wait", code=1)
        self.assertEqual(failed2["params"], {"file": "broken.mp4"})
        r = self.cli("jobs", "wait", failed["id"], code=1)
        self.assertIn("failed", r.stderr)
        r = self.cli("jobs", "cancel", failed["id"], code=1)  # a finished job cannot be cancelled
        self.assertIn("HTTP 409", r.stderr)
        # The server refuses an unknown kind: its detail names the known ones.
        r = self.cli("jobs", "submit", "no-such-kind", code=1)
        self.assertIn("known kinds", r.stderr)
        self.cli("jobs", "submit", "vacuum", "--param", "novalue", code=2)
        self.cli("jobs", "submit", "vacuum", "--body", "[1]", code=2)

    def test_jobs_wait_draws_a_progress_bar_on_a_terminal(self):
        master, slave = pty.openpty()
        e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_")}
        e.update(self.env)
        p = subprocess.Popen([ARGUS_BIN, "jobs", "submit", "vacuum", "--wait", "--json"], stdout=subprocess.PIPE,
                             stderr=slave, env=e, text=True)
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        out, _ = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(json.loads(out)["state"], "succeeded")  # stdout stays data only
        text = err.decode()
        self.assertIn("\r", text)
        self.assertRegex(text, r"\[#{30}\] 100% succeeded")

    def test_maintenance(self):
        jobs = self.cli_json("maintenance", "--wait")
        self.assertEqual([j["kind"] for j in jobs], ["retention", "vacuum"])
        self.assertTrue(all(j["state"] == "succeeded" for j in jobs))
        only = self.cli_json("maintenance", "--vacuum")
        self.assertEqual([j["kind"] for j in only], ["vacuum"])
        lines = self.cli("maintenance", "--retention", "--wait").stdout.splitlines()
        self.assertEqual(lines[0].split("\t")[1:3], ["retention", "succeeded"])

    def test_users(self):
        pw = os.path.join(self.dir, "user-pw")
        with open(pw, "w") as f:
            f.write("cli-user-password-1\n")
        created = self.cli_json("users", "add", "cli-user", "--role", "viewer", "--camera", "front",
                                "--password-file", pw)
        self.assertEqual(created["username"], "cli-user")
        self.assertEqual(created["cameras"], ["front"])
        self.assertIn("cli-user", [u["username"] for u in self.cli_json("users", "list")])
        self.assertEqual(self.cli_json("users", "show", "cli-user")["id"], created["id"])  # by username
        self.assertEqual(self.cli_json("users", "show", created["id"])["username"], "cli-user")  # by id
        updated = self.cli_json("users", "update", "cli-user", "--role", "operator", "--all-cameras", "--disable")
        self.assertEqual((updated["role"], updated["cameras"], updated["disabled"]), ("operator", None, True))
        self.assertFalse(self.cli_json("users", "update", "cli-user", "--enable")["disabled"])
        # Passwords never from a flag: standard input, a file, or the terminal.
        self.cli("users", "passwd", "cli-user", "--password-stdin", stdin="cli-user-password-2\n")
        status, _, _ = self.server.json("POST", "/api/v1/auth/login",
                                        {"username": "cli-user", "password": "cli-user-password-2"}, auth=False)
        self.assertEqual(status, 200)
        self.cli("users", "passwd", "cli-user", code=2)  # no terminal to ask
        self.cli("users", "passwd", "cli-user", "--password", "x", code=2)
        self.assertEqual(self.cli_json("users", "rm", "cli-user"), {"deleted": created["id"]})
        self.cli("users", "show", "cli-user", code=1)

    def test_keys(self):
        created = self.cli_json("keys", "create", "cli-key", "--permission", "cameras:read", "-p", "events:read")
        self.assertTrue(created["key"].startswith("argus_"))
        # The key works, with its permissions only.
        self.assertEqual(self.cli_json("cameras", "list", "--token", created["key"]), self.cli_json("cameras", "list"))
        self.cli("jobs", "list", "--token", created["key"], code=4)
        listed = self.cli_json("keys", "list")
        self.assertIn(created["id"], [k["id"] for k in listed])
        self.assertNotIn("key", listed[0])
        plain_key = self.cli("keys", "create", "cli-key-2", "-p", "events:read").stdout.strip()
        self.assertTrue(plain_key.startswith("argus_"))
        self.assertEqual(self.cli_json("keys", "revoke", created["id"]), {"revoked": created["id"]})
        self.cli("cameras", "list", "--token", created["key"], code=4)
        self.cli("keys", "revoke", "no-such-key", code=1)

    def test_events_list_show_and_counts_on_an_empty_server(self):
        self.assertEqual(self.cli_json("events", "list", "--camera", "nothing-here"), [])
        self.assertEqual(self.cli("events", "list", "--camera", "nothing-here").stdout, "")
        self.api("POST", "/api/v1/cameras", camera("count-cam", enabled=False))
        try:
            self.assertEqual(self.cli_json("counts", "--camera", "count-cam", "--bucket", "hour"), [])
        finally:
            self.server.request("DELETE", "/api/v1/cameras/count-cam")
        r = self.cli("events", "list", "--from", "not-a-time", code=1)
        self.assertIn("HTTP 400", r.stderr)
        self.cli("events", "list", "--reviewed", "maybe", code=2)
        self.cli("counts", "--camera", "x", "--bucket", "week", code=2)

    def test_tail_prints_stream_messages_and_exits_on_count(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_")}
        e.update(self.env)
        p = subprocess.Popen([ARGUS_BIN, "events", "tail", "--topics", "system", "--count", "2", "--timeout", "60",
                              "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        try:
            # Publish until the tail (connecting meanwhile) has seen two.
            sent = []
            deadline = time.time() + 30
            while p.poll() is None and time.time() < deadline:
                status, doc = self.api("POST", "/api/v1/stream/test", {"data": {"n": len(sent)}})
                self.assertEqual(status, 202)
                sent.append(doc["id"])
                time.sleep(0.2)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, err)
        messages = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(messages), 2)
        self.assertTrue(all(m["topic"] == "system" and "test" in m["data"] for m in messages))
        self.assertTrue(all(m["id"] in sent for m in messages))
        self.assertLess(int(messages[0]["id"]), int(messages[1]["id"]))

    def test_tail_timeout_and_bad_topic(self):
        r = self.cli("events", "tail", "--topics", "system", "--timeout", "0.5")
        self.assertEqual(r.stdout, "")
        self.cli("events", "tail", "--topics", "system", "--count", "1", "--timeout", "0.5", code=1)
        r = self.cli("events", "tail", "--topics", "no-such-topic", "--timeout", "5", code=1)
        self.assertIn("HTTP 400", r.stderr)

    def test_alerts(self):
        self.assertIsInstance(self.cli_json("alerts", "list", "--state", "firing"), list)
        self.cli("alerts", "list", "--state", "bogus", code=2)
        self.cli("alerts", "ack", "no-such-alert", code=1)

    def test_dlq(self):
        self.assertEqual(self.cli_json("dlq", "list"), [])
        self.cli("dlq", "show", "999999", code=1)
        self.cli("dlq", "requeue", "999999", code=1)
        self.assertEqual(self.cli_json("dlq", "requeue", "--all")["requeued"], 0)
        self.cli("dlq", "requeue", code=2)
        self.cli("dlq", "purge", code=2)  # all needs --yes without a terminal
        self.assertEqual(self.cli_json("dlq", "purge", "--yes")["purged"], 0)


class CliTailReconnects(CliBase):
    def test_tail_resumes_after_the_server_restarts(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_")}
        e.update(self.env)
        tail = subprocess.Popen([ARGUS_BIN, "events", "tail", "--topics", "system", "--count", "2", "--timeout", "90",
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        try:
            first = None
            deadline = time.time() + 30
            # Publish until the tail has printed the first message (it connects meanwhile).
            while first is None and time.time() < deadline:
                self.assertEqual(self.api("POST", "/api/v1/stream/test", {"data": {"n": 1}})[0], 202)
                ready, _, _ = select.select([tail.stdout], [], [], 0.2)
                if ready:
                    first = json.loads(tail.stdout.readline())
            self.assertIsNotNone(first)
            # The server goes away and comes back on the same address and data.
            data_dir, port = self.server.data_dir, self.server.port
            self.assertEqual(self.server.stop(), 0)
            self.server = type(self).server = Server(data_dir=data_dir, port=port, args=self.server.args).start()
            self.server.own_dir = True  # cleaned up by tearDownClass
            while tail.poll() is None and time.time() < deadline + 30:
                self.assertEqual(self.api("POST", "/api/v1/stream/test", {"data": {"n": 2}})[0], 202)
                time.sleep(0.3)
            out, err = tail.communicate(timeout=30)
        finally:
            if tail.poll() is None:
                tail.kill()
                tail.communicate()
        self.assertEqual(tail.returncode, 0, err)
        self.assertIn("reconnecting after message " + first["id"], err)
        # Notices (no id) may come between, such as the server telling of its shutdown.
        counted = [m for m in map(json.loads, out.splitlines()) if "id" in m]
        self.assertEqual(len(counted), 1, out)
        self.assertEqual(counted[0]["data"]["test"], {"n": 2})
        self.assertGreater(int(counted[0]["id"]), int(first["id"]))


class CliVideos(CliBase):
    """argus videos upload sends a clip in chunks (a 64 KiB body limit makes many) and can
    queue and wait for its analysis; argus videos list shows it."""

    server_args = ("--set", "server.max_body_bytes=64k")

    def test_upload_list_and_analyze(self):
        from test_jobs import make_clip
        clip = os.path.join(self.dir, "front door.avi")
        make_clip(clip, seconds=2)
        size = os.path.getsize(clip)
        self.assertGreater(size, 3 * 64 * 1024)
        # A name with a space is not a plain file name: the server's detail says why.
        r = self.cli("videos", "upload", clip, code=1)
        self.assertIn("plain video file name", r.stderr)
        r = self.cli("videos", "upload", clip, "--name", "front-door.avi")
        self.assertEqual(r.stdout.strip(), "uploads/front-door.avi")
        self.assertIn(f"uploaded {size} bytes", r.stderr)
        job = self.cli_json("videos", "upload", clip, "--name", "front-door.avi", "--analyze", "--fps", "5", "--wait")
        self.assertEqual(job["state"], "succeeded", job)
        self.assertEqual(job["params"], {"file": "uploads/front-door-2.avi", "fps": 5})
        self.assertEqual(job["result"]["frames"], 20)  # the clip's frames (10 fps, 2 s)
        listed = {v["file"]: v["size"] for v in self.cli_json("videos", "list")}
        self.assertEqual(listed, {"uploads/front-door.avi": size, "uploads/front-door-2.avi": size})
        rows = self.cli("videos", "list").stdout.splitlines()
        self.assertEqual([row.split("\t")[0] for row in rows], ["uploads/front-door-2.avi", "uploads/front-door.avi"])
        r = self.cli("videos", "upload", os.path.join(self.dir, "missing.mp4"), code=1)
        self.assertIn("missing.mp4", r.stderr)


class CliWithPipeline(CliBase):
    """Real events: frames pushed to a camera run through the ONNX test model."""

    @classmethod
    def setUpClass(cls):
        cls.models = tempfile.mkdtemp(prefix="argus-models-")
        model, labels = test_pipeline.make_models(cls.models)
        cls.server_args = ("--set", "detector.kind=onnx", "--set", f"detector.model={model}",
                           "--set", f"detector.labels={labels}", "--set", "detector.input_width=64",
                           "--set", "detector.input_height=64", "--set", "pipeline.track_timeout=600ms",
                           "--set", "pipeline.count_flush=1s", "--set", "pipeline.motion_gate=false")
        super().setUpClass()
        cls.jpeg = test_pipeline.jpeg_bytes(None)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.models, ignore_errors=True)

    def push(self):
        return self.server.request("POST", "/api/v1/cameras/pusher/frames", body=self.jpeg,
                                   headers={"Content-Type": "image/jpeg"})[0]

    def test_tail_list_show_and_counts_of_a_real_event(self):
        self.cli_json("cameras", "add", "pusher", "--kind", "push", "--fps", "20", "--label", "person")
        wait_for(lambda: self.push() == 202)
        e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_")}
        e.update(self.env)
        tail = subprocess.Popen([ARGUS_BIN, "events", "tail", "--camera", "pusher", "--count", "1", "--timeout", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        try:
            deadline = time.time() + 30
            while tail.poll() is None and time.time() < deadline:
                self.assertEqual(self.push(), 202)
                time.sleep(0.1)
            out, err = tail.communicate(timeout=30)
        finally:
            if tail.poll() is None:
                tail.kill()
                tail.communicate()
        self.assertEqual(tail.returncode, 0, err)
        # time, topic, then "new <id> <camera> <label> <score>", tab-separated when piped.
        when, topic, what = out.strip().split("\t")
        self.assertEqual(topic, "events")
        kind, event_id, cam, label, _ = what.split(" ")
        self.assertIn(kind, ("new", "update"))  # the first frame may have started it before the tail connected
        self.assertEqual((cam, label), ("pusher", "person"))

        events = wait_for(lambda: self.cli_json("events", "list", "--camera", "pusher", "--label", "person") or None)
        self.assertIn(event_id, [ev["id"] for ev in events])
        shown = self.cli_json("events", "show", event_id)
        self.assertEqual((shown["camera"], shown["label"]), ("pusher", "person"))
        self.assertEqual(self.cli_json("events", "list", "--camera", "pusher", "--min-score", "0.99"), [])
        plain = self.cli("events", "list", "--camera", "pusher").stdout.splitlines()
        self.assertEqual(plain[0].split("\t")[1:3], ["pusher", "person"])

        rows = wait_for(lambda: self.cli_json("counts", "--camera", "pusher", "--bucket", "minute") or None)
        self.assertTrue(all(row["camera"] == "pusher" for row in rows))
        self.assertGreaterEqual(sum(row["seen"] for row in rows if row["scope"] == "camera"), 1)


if __name__ == "__main__":
    unittest.main()
