"""HTTPS: `argus serve` with tls.mode self_signed and provided, checked with Python's ssl
module verifying the server's certificate."""

import http.client
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import time
import unittest

from harness import Server


def client_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def https_get(port, cafile, path="/health", host="localhost", timeout=10):
    conn = http.client.HTTPSConnection(host, port, context=client_context(cafile), timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def wait_https(server, cafile, timeout=30):
    """Waits until the server answers GET /health over verified HTTPS."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"argus exited with {server.proc.returncode}: " + "\n".join(server.lines[-20:]))
        if os.path.exists(cafile):
            try:
                return https_get(server.port, cafile)
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                last = e
        time.sleep(0.05)
    raise AssertionError(f"no HTTPS answer ({last}): " + "\n".join(server.lines[-20:]))


def wait_log(server, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(text in line for line in server.lines):
            return True
        time.sleep(0.05)
    return False


class SelfSigned(unittest.TestCase):
    def setUp(self):
        self.server = Server(args=("--set", "tls.mode=self_signed", "--set", "tls.hostnames=localhost,argus.test"))
        self.server.start(wait=False)
        self.addCleanup(self.server.cleanup)
        self.cert = os.path.join(self.server.data_dir, "tls", "cert.pem")
        self.key = os.path.join(self.server.data_dir, "tls", "key.pem")

    def test_https_health_with_a_verified_certificate(self):
        status, headers, body = wait_https(self.server, self.cert)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("strict-transport-security"), "max-age=31536000")
        self.assertEqual(stat.S_IMODE(os.stat(self.key).st_mode), 0o600)
        # The IP address SAN verifies too.
        status, _, _ = https_get(self.server.port, self.cert, host="127.0.0.1")
        self.assertEqual(status, 200)
        # A name the certificate does not carry fails verification.
        ctx = client_context(self.cert)
        with self.assertRaises(ssl.SSLCertVerificationError):
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.server.port)),
                                 server_hostname="not-argus.example"):
                pass

    def test_plain_http_to_the_tls_port_is_dropped(self):
        wait_https(self.server, self.cert)
        reply = self.server.raw(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertNotIn(b"HTTP/1.1", reply)
        status, _, _ = https_get(self.server.port, self.cert)
        self.assertEqual(status, 200)
        self.assertIsNone(self.server.proc.poll())

    def test_certificate_is_reused_after_a_restart(self):
        wait_https(self.server, self.cert)
        with open(self.cert, "rb") as f:
            first = f.read()
        self.assertEqual(self.server.stop(), 0, "graceful stop under TLS")
        again = Server(data_dir=self.server.data_dir, port=self.server.port,
                       args=("--set", "tls.mode=self_signed", "--set", "tls.hostnames=localhost,argus.test"))
        again.start(wait=False)
        self.addCleanup(again.cleanup)
        status, _, _ = wait_https(again, self.cert)
        self.assertEqual(status, 200)
        with open(self.cert, "rb") as f:
            self.assertEqual(f.read(), first)
        self.assertFalse(any("generated a self-signed TLS certificate" in line for line in again.lines))


def make_cert(directory, name):
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
class Provided(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="argus-tls-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.cert_a, self.key_a = make_cert(self.dir, "a")
        self.cert_b, self.key_b = make_cert(self.dir, "b")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        shutil.copy(self.cert_a, self.cert)
        shutil.copy(self.key_a, self.key)

    def test_sighup_reloads_the_certificate(self):
        server = Server(env={"ARGUS_TLS_MODE": "provided", "ARGUS_TLS_CERT_FILE": self.cert,
                             "ARGUS_TLS_KEY_FILE": self.key})
        server.start(wait=False)
        self.addCleanup(server.cleanup)
        wait_https(server, self.cert_a)

        shutil.copy(self.cert_b, self.cert)
        shutil.copy(self.key_b, self.key)
        server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_log(server, "TLS certificate reloaded"), "\n".join(server.lines[-10:]))
        self.assertEqual(https_get(server.port, self.cert_b)[0], 200)
        with self.assertRaises(ssl.SSLCertVerificationError):
            https_get(server.port, self.cert_a)

        with open(self.cert, "w") as f:
            f.write("broken\n")
        server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_log(server, "TLS certificate reload failed"), "\n".join(server.lines[-10:]))
        self.assertEqual(https_get(server.port, self.cert_b)[0], 200, "the previous certificate stays")
        self.assertEqual(server.stop(), 0)

    def test_missing_or_mismatched_files_stop_the_start(self):
        missing = os.path.join(self.dir, "missing.pem")
        server = Server(env={"ARGUS_TLS_MODE": "provided", "ARGUS_TLS_CERT_FILE": missing,
                             "ARGUS_TLS_KEY_FILE": self.key})
        server.start(wait=False)
        self.addCleanup(server.cleanup)
        self.assertEqual(server.proc.wait(timeout=30), 1)
        server.stop()
        self.assertTrue(any(missing in line for line in server.lines), "\n".join(server.lines))

        server = Server(env={"ARGUS_TLS_MODE": "provided", "ARGUS_TLS_CERT_FILE": self.cert_a,
                             "ARGUS_TLS_KEY_FILE": self.key_b})
        server.start(wait=False)
        self.addCleanup(server.cleanup)
        self.assertEqual(server.proc.wait(timeout=30), 1)
        server.stop()
        self.assertTrue(any("does not match the certificate" in line for line in server.lines), "\n".join(server.lines))


if __name__ == "__main__":
    unittest.main()
