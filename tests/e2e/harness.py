"""Test harness for whole-binary tests: starts the real argus on a free loopback port
with a temporary data directory, and talks to it over real sockets.

The binary is taken from $ARGUS_BIN (set by CTest)."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

ARGUS_BIN = os.environ.get("ARGUS_BIN", os.path.join(os.path.dirname(__file__), "../../build/argus"))

# The admin password every test server starts with (through ARGUS_ADMIN_PASSWORD).
ADMIN_PASSWORD = "e2e-admin-password-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One argus process. Log lines (stderr) are collected for assertions."""

    def __init__(self, data_dir=None, args=(), env=None, config=None, port=None):
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="argus-e2e-")
        self.port = port or free_port()
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.pop("ARGUS_SERVER", None)
        for k in list(self.env):
            if k.startswith("ARGUS_") and k != "ARGUS_BIN":
                del self.env[k]
        self.env["ARGUS_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        if env:
            self.env.update(env)
        self.config = config
        self.token = None  # the admin's access token, after start()
        self.proc = None
        self.lines = []
        self._reader = None

    def start(self, wait=True):
        cmd = [ARGUS_BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir]
        if self.config is not None:
            path = os.path.join(self.data_dir, "argus.yaml")
            with open(path, "w") as f:
                f.write(self.config)
            cmd += ["--config", path]
        cmd += self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=self.env, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if wait:
            self.wait_ready()
            self.login()
        return self

    def login(self, username="admin", password=None):
        """Signs in (as the admin by default); requests then carry the access token."""
        status, _, doc = self.json("POST", "/api/v1/auth/login",
                                   {"username": username, "password": password or ADMIN_PASSWORD}, auth=False)
        if status != 200:
            raise AssertionError(f"login as {username} failed: {status} {doc}")
        self.token = doc["access_token"]
        return doc

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"argus exited with {self.proc.returncode}: " + "\n".join(self.lines[-20:]))
            try:
                status, _, _ = self.request("GET", "/health")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("argus did not become healthy: " + "\n".join(self.lines[-20:]))

    def request(self, method, path, body=None, headers=None, timeout=10, auth=True, token=None):
        """One request on a fresh connection: (status, headers dict lower-cased, body bytes).
        Sends the admin's token (or `token`) unless auth=False or an Authorization header is given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            bearer = token or self.token
            if auth and bearer and not any(k.lower() in ("authorization", "x-api-key") for k in hdrs):
                hdrs["Authorization"] = "Bearer " + bearer
            data = body
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                data = body.encode()
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None, auth=True, token=None):
        status, hdrs, payload = self.request(method, path, body, headers, auth=auth, token=token)
        doc = json.loads(payload) if payload else None
        return status, hdrs, doc

    def raw(self, data, timeout=5, read=True):
        """Sends raw bytes and returns everything read until the server closes or times out."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            if not read:
                return b""
            out = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except socket.timeout:
                pass
            return out

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            if self._reader:
                self._reader.join(timeout=5)
            if not self.proc.stderr.closed:
                self.proc.stderr.close()
            return self.proc.returncode
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        if self._reader:
            self._reader.join(timeout=5)
        self.proc.stderr.close()
        return rc

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def json_lines(self):
        out = []
        for line in self.lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


def run_argus(args, env=None, timeout=30):
    """Runs argus to completion (for --check-config and client commands)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("ARGUS_") or k == "ARGUS_BIN"}
    if env:
        e.update(env)
    return subprocess.run([ARGUS_BIN] + list(args), capture_output=True, text=True, env=e, timeout=timeout)


def wait_for(predicate, timeout=30, interval=0.1):
    """Polls `predicate` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def camera(cid, **extra):
    doc = {"id": cid, "name": f"Camera {cid}", "source": {"url": f"rtsp://127.0.0.1:9/{cid}"}}
    doc.update(extra)
    return doc


class ServerTest(unittest.TestCase):
    """Starts one server per test class."""

    server_args = ()
    server_env = None
    server_config = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=cls.server_args, env=cls.server_env, config=cls.server_config).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
