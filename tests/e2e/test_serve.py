"""`argus serve` as a process: configuration sources and errors, lifecycle, persistence."""

import json
import os
import signal
import socket
import sqlite3
import tempfile
import threading
import time
import unittest

import subprocess

from harness import ARGUS_BIN, Server, camera, free_port, run_argus


class ConfigValidation(unittest.TestCase):
    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.remove, path)
        return path

    def test_check_config_ok(self):
        path = self.write("server:\n  listen: 127.0.0.1:9999\n  io_threads: 2\nlog:\n  level: debug\n")
        r = run_argus(["serve", "--config", path, "--check-config"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("valid", r.stdout)

    def test_unknown_key_named_with_path(self):
        path = self.write("server:\n  lisen: 127.0.0.1:9999\n")
        r = run_argus(["serve", "--config", path, "--check-config"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("server.lisen", r.stderr)
        self.assertIn("listen", r.stderr)  # what is allowed

    def test_bad_value_names_key_value_and_allowed(self):
        path = self.write("server:\n  io_threads: lots\n")
        r = run_argus(["serve", "--config", path, "--check-config"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("server.io_threads", r.stderr)
        self.assertIn('"lots"', r.stderr)
        self.assertIn("between 1 and 64", r.stderr)

    def test_bad_env_and_flag(self):
        r = run_argus(["serve", "--check-config"], env={"ARGUS_LISTEN": "nowhere"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("ARGUS_LISTEN", r.stderr)
        r = run_argus(["serve", "--check-config", "--set", "log.level=loud"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("log.level", r.stderr)
        r = run_argus(["serve", "--check-config", "--set", "no.such=1"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no.such", r.stderr)

    def test_bad_yaml_and_missing_file(self):
        path = self.write("server: [unclosed\n")
        r = run_argus(["serve", "--config", path, "--check-config"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("line", r.stderr)
        r = run_argus(["serve", "--config", "/nonexistent/argus.yaml", "--check-config"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/argus.yaml", r.stderr)

    def test_bad_camera_in_yaml(self):
        path = self.write("cameras:\n  - id: ok\n    source: rtsp://127.0.0.1:9/a\n"
                          "  - id: bad\n    source: rtsp://127.0.0.1:9/b\n    zones:\n      - name: z\n        polygon: [[0, 0], [2, 0], [0, 1]]\n")
        r = run_argus(["serve", "--config", path, "--check-config"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("cameras[1].zones[0].polygon[1][0]", r.stderr)

    def test_precedence_flags_over_env_over_file(self):
        path = self.write("log:\n  level: error\nserver:\n  io_threads: 3\n")
        r = run_argus(["serve", "--config", path, "--print-config"], env={"ARGUS_LOG_LEVEL": "warn", "ARGUS_IO_THREADS": "5"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("level: warn", r.stdout)
        self.assertIn("io_threads: 5", r.stdout)
        r = run_argus(["serve", "--config", path, "--print-config", "--log-level", "debug"],
                      env={"ARGUS_LOG_LEVEL": "warn"})
        self.assertIn("level: debug", r.stdout)
        r = run_argus(["serve", "--config", path, "--print-config"])
        self.assertIn("level: error", r.stdout)
        self.assertIn("io_threads: 3", r.stdout)

    def test_example_config_is_valid(self):
        example = os.path.join(os.path.dirname(__file__), "../../config/argus.example.yaml")
        r = run_argus(["serve", "--config", example, "--check-config"])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_help_and_reference(self):
        r = run_argus(["serve", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("--listen", r.stdout)
        r = run_argus(["serve", "--config-reference"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("ARGUS_DATA_DIR", r.stdout)
        r = run_argus([])
        self.assertEqual(r.returncode, 2)


class Lifecycle(unittest.TestCase):
    def test_env_listen_and_data_dir(self):
        port = free_port()
        data = tempfile.mkdtemp(prefix="argus-env-")
        s = Server(data_dir=data, env={"ARGUS_LISTEN": f"127.0.0.1:{port}"})
        # Start without --listen/--data-dir flags: environment only.
        s.env["ARGUS_DATA_DIR"] = data
        s.proc = subprocess.Popen([ARGUS_BIN, "serve"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  env=s.env, text=True)
        s.port = port
        s._reader = threading.Thread(target=s._read, daemon=True)
        s._reader.start()
        try:
            s.wait_ready()
            self.assertTrue(os.path.exists(os.path.join(data, "argus.db")))
        finally:
            self.assertEqual(s.stop(), 0)
            s.own_dir = True
            s.cleanup()

    def test_restart_keeps_data_and_yaml_cameras_upserted(self):
        config = "cameras:\n  - id: from-yaml\n    name: Yard\n    source:\n      url: rtsp://127.0.0.1:9/stream\n"
        s = Server(config=config).start()
        try:
            self.assertEqual(s.json("GET", "/api/v1/cameras/from-yaml")[2]["name"], "Yard")
            self.assertEqual(s.json("POST", "/api/v1/cameras", camera("kept"))[0], 201)
            self.assertEqual(s.stop(), 0)
            s2 = Server(data_dir=s.data_dir, config=config).start()
            try:
                _, _, doc = s2.json("GET", "/api/v1/cameras")
                ids = [c["id"] for c in doc["items"]]
                self.assertEqual(ids, ["from-yaml", "kept"])
                # Unchanged YAML camera is not rewritten on restart.
                _, _, cam = s2.json("GET", "/api/v1/cameras/from-yaml")
                self.assertEqual(s2.stop(), 0)
            finally:
                s2.stop()
        finally:
            s.cleanup()

    def test_graceful_shutdown_finishes_request_in_flight(self):
        s = Server().start()
        try:
            body = json.dumps(camera("inflight")).encode()
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(b"POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Authorization: Bearer " + s.token.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
            time.sleep(0.3)
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            # New connections are refused while the request in flight completes.
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", s.port), timeout=1).sendall(b"GET /health HTTP/1.1\r\n\r\n")
                raise OSError("connected")  # pragma: no cover - reached only if accept still works
            c.sendall(body[10:])
            c.settimeout(10)
            raw = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                raw += chunk
            c.close()
            self.assertTrue(raw.startswith(b"HTTP/1.1 201"), raw[:200])
            self.assertIn(b"connection: close", raw.lower())
            self.assertEqual(s.proc.wait(timeout=15), 0)
            # The write was flushed: it is there after a restart.
            s2 = Server(data_dir=s.data_dir).start()
            try:
                self.assertEqual(s2.json("GET", "/api/v1/cameras/inflight")[0], 200)
            finally:
                s2.stop()
        finally:
            s.cleanup()

    def test_sigint_exits_zero_and_idle_connections_closed(self):
        s = Server().start()
        try:
            idle = socket.create_connection(("127.0.0.1", s.port))
            idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            idle.recv(4096)
            started = time.time()
            self.assertEqual(s.stop(signal.SIGINT), 0)
            self.assertLess(time.time() - started, 5)
            idle.settimeout(2)
            self.assertEqual(idle.recv(10), b"")
            idle.close()
            messages = [l.get("message") for l in s.json_lines()]
            self.assertIn("stopped", messages)
        finally:
            s.cleanup()

    def test_second_server_on_same_data_dir_refused(self):
        s = Server().start()
        try:
            s2 = Server(data_dir=s.data_dir)
            s2.start(wait=False)
            rc = s2.proc.wait(timeout=15)
            self.assertEqual(rc, 1)
            time.sleep(0.1)
            self.assertTrue(any("in use by another argus" in l for l in s2.lines), s2.lines)
        finally:
            s.cleanup()

    def test_newer_database_refused(self):
        data = tempfile.mkdtemp(prefix="argus-newer-")
        s = Server(data_dir=data).start()
        s.stop()
        db = sqlite3.connect(os.path.join(data, "argus.db"))
        db.execute("PRAGMA user_version = 999")
        db.commit()
        db.close()
        s2 = Server(data_dir=data)
        s2.own_dir = True
        s2.start(wait=False)
        try:
            self.assertEqual(s2.proc.wait(timeout=15), 1)
            time.sleep(0.1)
            text = "\n".join(s2.lines)
            self.assertIn("999", text)
            self.assertIn("newer", text)
        finally:
            s2.cleanup()

    def test_text_log_format(self):
        s = Server(args=("--log-format", "text")).start()
        try:
            s.stop()
            self.assertTrue(any(" INFO " in l and "argus is serving" in l for l in s.lines), s.lines)
        finally:
            s.cleanup()

    def test_port_in_use_is_a_clear_error(self):
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen()
            port = blocker.getsockname()[1]
            s = Server(port=port)
            s.start(wait=False)
            try:
                self.assertEqual(s.proc.wait(timeout=15), 1)
                time.sleep(0.1)
                self.assertTrue(any("cannot listen" in l for l in s.lines), s.lines)
            finally:
                s.cleanup()


class ClientCommands(unittest.TestCase):
    def test_status_and_version(self):
        s = Server().start()
        try:
            # Without credentials: a clear "not authorised" and its own exit code.
            r = run_argus(["status", "--server", f"http://127.0.0.1:{s.port}"])
            self.assertEqual(r.returncode, 4, r.stderr)
            self.assertIn("not authorised", r.stderr)
            r = run_argus(["status", "--server", f"http://127.0.0.1:{s.port}", "--json", "--token", s.token])
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)  # GET /api/v1/system/stats
            self.assertEqual(doc["store"]["kind"], "sqlite")
            self.assertIn("uptime_seconds", doc)
            r = run_argus(["status"], env={"ARGUS_SERVER": f"http://127.0.0.1:{s.port}", "ARGUS_TOKEN": s.token})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("sqlite", r.stdout)
        finally:
            s.cleanup()
        r = run_argus(["status", "--server", f"http://127.0.0.1:{free_port()}"])
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot reach", r.stderr)
        r = run_argus(["version"])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("argus "))


if __name__ == "__main__":
    unittest.main()
