"""Notification channels and the dead-letter queue through the real binary: a webhook
receiver on loopback checks the HMAC signature over the exact body; a receiver that fails
makes deliveries reach the dead-letter queue, which is inspected, requeued (and delivered
once the receiver is fixed) and purged; an SMTP sink (aiosmtpd) receives the test mail; a
Mosquitto broker receives the MQTT test message. Secrets are never returned."""

import hashlib
import hmac
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest

from harness import Server, free_port, wait_for
from mqtt_broker import Broker

CONFIG = """
security:
  webhook_urls: private
notifications:
  max_attempts: 2
  backoff_initial: 50ms
  backoff_max: 100ms
  breaker_threshold: 100
"""


class Receiver:
    """An HTTP server on loopback recording each POST (headers and exact body bytes) and
    answering with `status`."""

    def __init__(self, tls_context=None):
        self.status = 200
        self.scheme = "https" if tls_context else "http"
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        if tls_context:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def count(self):
        with self.lock:
            return len(self.requests)

    def get(self, i):
        with self.lock:
            return self.requests[i]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def private_ca(directory):
    """A self-signed certificate for 127.0.0.1 (openssl CLI): (cert path, key path, PEM text)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    with open(cert) as f:
        return cert, key, f.read()


class NotificationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(config=CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def setUp(self):
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)

    def create(self, doc, expect=201):
        status, hdrs, body = self.server.json("POST", "/api/v1/notifications/channels", doc)
        self.assertEqual(status, expect, body)
        return body

    def webhook(self, cid, secret="e2e-secret"):
        return self.create({"id": cid, "name": cid, "type": "webhook",
                            "config": {"url": self.receiver.url(), "secret": secret, "timeout_seconds": 2,
                                       "headers": {"X-Team": "ops"}}})

    def dead_letters(self, **filters):
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        status, _, doc = self.server.json("GET", "/api/v1/dlq" + ("?" + query if query else ""))
        self.assertEqual(status, 200, doc)
        return doc["items"]

    def test_webhook_crud_and_signed_test_send(self):
        created = self.webhook("hook-a")
        self.assertEqual(created["type"], "webhook")
        self.assertTrue(created["config"]["secret_set"])
        self.assertNotIn("secret", created["config"])
        for path in ("/api/v1/notifications/channels", "/api/v1/notifications/channels/hook-a"):
            status, _, raw = self.server.request("GET", path)
            self.assertEqual(status, 200)
            self.assertNotIn(b"e2e-secret", raw)
        status, _, doc = self.server.json("GET", "/api/v1/notifications/channels")
        self.assertIn("hook-a", [c["id"] for c in doc["items"]])

        # A PATCH without the secret keeps it.
        status, _, doc = self.server.json("PATCH", "/api/v1/notifications/channels/hook-a", {"name": "Ops hook"})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["name"], "Ops hook")
        self.assertEqual(doc["version"], 2)
        self.assertTrue(doc["config"]["secret_set"])

        status, _, result = self.server.json("POST", "/api/v1/notifications/channels/hook-a/test")
        self.assertEqual(status, 200, result)
        self.assertEqual(result, {"delivered": True})
        self.assertEqual(self.receiver.count(), 1)
        path, headers, body = self.receiver.get(0)
        self.assertEqual(path, "/hook")
        expected = "sha256=" + hmac.new(b"e2e-secret", body, hashlib.sha256).hexdigest()
        self.assertEqual(headers["x-argus-signature"], expected)
        self.assertEqual(headers["x-team"], "ops")
        self.assertTrue(headers["x-argus-delivery"])
        doc = json.loads(body)
        self.assertEqual(doc["kind"], "test")
        self.assertEqual(doc["channel"], "hook-a")
        self.assertIn("time", doc)

        status, _, _ = self.server.request("DELETE", "/api/v1/notifications/channels/hook-a")
        self.assertEqual(status, 204)
        status, _, _ = self.server.json("GET", "/api/v1/notifications/channels/hook-a")
        self.assertEqual(status, 404)

    def test_bad_input(self):
        for doc, pointer in (
            ({"name": "x", "type": "pager", "config": {}}, "/type"),
            ({"name": "x", "type": "webhook", "config": {"url": "ftp://127.0.0.1/x"}}, "/config/url"),
            ({"name": "x", "type": "webhook", "config": {"url": "http://127.0.0.1/", "timeout_seconds": 600}},
             "/config/timeout_seconds"),
            ({"type": "webhook", "config": {"url": "http://127.0.0.1/"}}, "/name"),
            ({"name": "x", "type": "email", "config": {"smtp_url": "smtp://127.0.0.1", "from": "a@b.example",
                                                       "to": ["not-an-address"]}}, "/config/to/0"),
            ({"name": "x", "type": "mqtt", "config": {"url": "mqtt://127.0.0.1", "topic": "a/+"}}, "/config/topic"),
        ):
            body = self.create(doc, expect=422)
            self.assertIn(pointer, [e["pointer"] for e in body["errors"]], body)
        self.webhook("hook-bad")
        self.create({"id": "hook-bad", "name": "again", "type": "webhook", "config": {"url": self.receiver.url()}},
                    expect=409)
        status, _, body = self.server.json("PATCH", "/api/v1/notifications/channels/hook-bad", {"type": "email"})
        self.assertEqual(status, 422, body)
        for method, path in (("GET", "/api/v1/notifications/channels/none"),
                             ("PATCH", "/api/v1/notifications/channels/none"),
                             ("DELETE", "/api/v1/notifications/channels/none"),
                             ("POST", "/api/v1/notifications/channels/none/test"),
                             ("GET", "/api/v1/dlq/999999"),
                             ("GET", "/api/v1/dlq/abc"),
                             ("POST", "/api/v1/dlq/999999/requeue"),
                             ("DELETE", "/api/v1/dlq/999999")):
            status, _, body = self.server.json(method, path, {} if method == "PATCH" else None)
            self.assertEqual(status, 404, (method, path, body))

    def test_failures_reach_the_dead_letter_queue_and_are_requeued(self):
        self.receiver.status = 500
        self.webhook("hook-dlq", secret="k2")
        status, _, result = self.server.json("POST", "/api/v1/notifications/channels/hook-dlq/test")
        self.assertEqual(status, 200, result)
        self.assertFalse(result["delivered"])
        self.assertIn("500", result["error"])
        letters = wait_for(lambda: self.dead_letters(channel="hook-dlq"), timeout=20)
        self.assertEqual(len(letters), 1)
        self.assertEqual(self.receiver.count(), 2)  # notifications.max_attempts
        status, _, letter = self.server.json("GET", f"/api/v1/dlq/{letters[0]['id']}")
        self.assertEqual(status, 200)
        self.assertEqual(letter["kind"], "notification")
        self.assertEqual(letter["reason"], "exhausted")
        self.assertEqual(letter["attempts"], 2)
        self.assertEqual(letter["payload"]["kind"], "test")
        self.assertIn("HTTP 500", letter["error"])
        self.assertEqual(self.dead_letters(channel="other-channel"), [])
        self.assertEqual(len(self.dead_letters(kind="notification", channel="hook-dlq")), 1)

        # Fixed: a requeue is delivered, with the same delivery id, and leaves the queue.
        self.receiver.status = 200
        status, _, doc = self.server.json("POST", f"/api/v1/dlq/{letter['id']}/requeue")
        self.assertEqual(status, 202, doc)
        wait_for(lambda: self.receiver.count() >= 3, timeout=20)
        _, first, _ = self.receiver.get(0)
        _, again, body = self.receiver.get(2)
        self.assertEqual(again["x-argus-delivery"], first["x-argus-delivery"])
        self.assertEqual(again["x-argus-signature"], "sha256=" + hmac.new(b"k2", body, hashlib.sha256).hexdigest())
        self.assertEqual(self.dead_letters(channel="hook-dlq"), [])

        # Bulk: two more failures, requeued by filter.
        self.receiver.status = 503
        for _ in range(2):
            self.server.json("POST", "/api/v1/notifications/channels/hook-dlq/test")
        wait_for(lambda: len(self.dead_letters(channel="hook-dlq")) == 2, timeout=20)
        self.receiver.status = 204
        before = self.receiver.count()
        status, _, doc = self.server.json("POST", "/api/v1/dlq/requeue?channel=hook-dlq")
        self.assertEqual(status, 202, doc)
        self.assertEqual(doc, {"requeued": 2, "remaining": 0})
        wait_for(lambda: self.receiver.count() >= before + 2, timeout=20)

        # Purge: one by id, the rest by filter.
        self.receiver.status = 400  # permanent: straight to the queue
        for _ in range(3):
            status, _, result = self.server.json("POST", "/api/v1/notifications/channels/hook-dlq/test")
            self.assertFalse(result["delivered"])
        letters = wait_for(lambda: (lambda l: l if len(l) == 3 else None)(self.dead_letters(channel="hook-dlq")),
                           timeout=20)
        self.assertEqual({l["reason"] for l in letters}, {"permanent"})
        self.assertEqual({l["attempts"] for l in letters}, {1})
        status, _, _ = self.server.request("DELETE", f"/api/v1/dlq/{letters[0]['id']}")
        self.assertEqual(status, 204)
        status, _, doc = self.server.json("DELETE", "/api/v1/dlq?channel=hook-dlq")
        self.assertEqual(status, 200)
        self.assertEqual(doc, {"purged": 2})
        self.assertEqual(self.dead_letters(channel="hook-dlq"), [])

        status, _, metrics = self.server.request("GET", "/metrics")
        text = metrics.decode()
        self.assertIn('argus_notifications_total{channel="hook-dlq",outcome="dead_lettered"}', text)
        self.assertIn('argus_notifications_total{channel="hook-dlq",outcome="retried"}', text)
        self.assertIn('argus_notifications_total{channel="hook-dlq",outcome="delivered"}', text)
        self.assertIn("argus_notification_queue_depth", text)
        self.assertIn("argus_dead_letters", text)
        self.assertIn("argus_notification_delivery_seconds_bucket", text)

    def test_permissions(self):
        """Viewers read channels and dead letters; operators change channels and requeue; only
        administrators delete dead letters."""
        self.webhook("hook-perm")
        tokens = {}
        for role in ("viewer", "operator"):
            name = f"notify-{role}"
            status, _, doc = self.server.json("POST", "/api/v1/users",
                                              {"username": name, "password": "a-long-password-1", "role": role})
            self.assertEqual(status, 201, doc)
            status, _, doc = self.server.json("POST", "/api/v1/auth/login",
                                              {"username": name, "password": "a-long-password-1"}, auth=False)
            self.assertEqual(status, 200, doc)
            tokens[role] = doc["access_token"]
        viewer, operator = tokens["viewer"], tokens["operator"]
        self.assertEqual(self.server.json("GET", "/api/v1/notifications/channels", token=viewer)[0], 200)
        self.assertEqual(self.server.json("GET", "/api/v1/dlq", token=viewer)[0], 200)
        self.assertEqual(self.server.json("POST", "/api/v1/notifications/channels/hook-perm/test", token=viewer)[0],
                         403)
        self.assertEqual(self.server.json("POST", "/api/v1/dlq/requeue", token=viewer)[0], 403)
        self.assertEqual(self.server.json("POST", "/api/v1/notifications/channels/hook-perm/test",
                                          token=operator)[0], 200)
        self.assertEqual(self.server.json("POST", "/api/v1/dlq/requeue?channel=hook-perm", token=operator)[0], 202)
        self.assertEqual(self.server.json("DELETE", "/api/v1/dlq?channel=hook-perm", token=operator)[0], 403)
        self.assertEqual(self.server.json("DELETE", "/api/v1/dlq?channel=hook-perm")[0], 200)

    def test_mqtt_refused_credentials_are_permanent(self):
        broker = Broker(passwords={"argus": "right-password"}).start()
        self.addCleanup(broker.cleanup)
        port = broker.port
        self.create({"id": "mq-auth", "name": "MQ auth", "type": "mqtt",
                     "config": {"url": f"mqtt://127.0.0.1:{port}", "topic": "argus/e2e/auth",
                                "username": "argus", "password": "wrong-password", "timeout_seconds": 5}})
        status, _, result = self.server.json("POST", "/api/v1/notifications/channels/mq-auth/test")
        self.assertFalse(result["delivered"])
        letters = wait_for(lambda: self.dead_letters(channel="mq-auth"), timeout=20)
        self.assertEqual(letters[0]["reason"], "permanent", letters[0])
        self.assertEqual(letters[0]["attempts"], 1)
        status, _, doc = self.server.json("PATCH", "/api/v1/notifications/channels/mq-auth",
                                          {"config": {"password": "right-password"}})
        self.assertEqual(status, 200, doc)
        status, _, result = self.server.json("POST", "/api/v1/notifications/channels/mq-auth/test")
        self.assertEqual(result, {"delivered": True})

    def test_refused_destination(self):
        self.create({"id": "hook-meta", "name": "m", "type": "webhook",
                     "config": {"url": "http://169.254.169.254/latest/meta-data"}})
        status, _, result = self.server.json("POST", "/api/v1/notifications/channels/hook-meta/test")
        self.assertEqual(status, 200)
        self.assertFalse(result["delivered"])
        self.assertIn("169.254.169.254", result["error"])

    def test_email_reaches_an_smtp_sink(self):
        from aiosmtpd.controller import Controller

        received = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                received.append(envelope)
                return "250 OK"

        port = free_port()
        controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        controller.start()
        self.addCleanup(controller.stop)
        created = self.create({"id": "mail", "name": "Mail", "type": "email",
                               "config": {"smtp_url": f"smtp://127.0.0.1:{port}", "from": "argus@example.com",
                                          "to": ["ops@example.com", "oncall@example.com"], "starttls": False,
                                          "username": "argus", "password": "mail-secret", "timeout_seconds": 5}})
        self.assertTrue(created["config"]["password_set"])
        self.assertNotIn("password", created["config"])
        status, _, doc = self.server.json("PATCH", "/api/v1/notifications/channels/mail",
                                          {"config": {"username": None, "password": None}})
        self.assertEqual(status, 200, doc)
        self.assertFalse(doc["config"]["password_set"])
        status, _, result = self.server.json("POST", "/api/v1/notifications/channels/mail/test")
        self.assertEqual(result, {"delivered": True})
        self.assertEqual(len(received), 1)
        env = received[0]
        self.assertEqual(env.mail_from, "argus@example.com")
        self.assertEqual(sorted(env.rcpt_tos), ["oncall@example.com", "ops@example.com"])
        text = env.content.decode()
        self.assertIn("Subject: [Argus] test notification from channel Mail", text)
        self.assertIn('"kind": "test"', text)

    def test_email_over_starttls_with_auth_and_webhook_over_https_trusting_a_private_ca(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        d = tempfile.mkdtemp(prefix="argus-ca-")
        self.addCleanup(shutil.rmtree, d, True)
        cert, key, pem = private_ca(d)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)

        received, logins = [], []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                received.append((envelope, session.authenticated))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            logins.append((mechanism, auth_data.login, auth_data.password))
            # handled=False: aiosmtpd itself answers a failure with 535.
            return AuthResult(success=(auth_data.login, auth_data.password) == (b"argus", b"mail-secret"),
                              handled=False)

        # The sink refuses mail before STARTTLS and before AUTH, and AUTH before TLS.
        port = free_port()
        controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                                authenticator=authenticator, auth_required=True, auth_require_tls=True)
        controller.start()
        self.addCleanup(controller.stop)
        self.create({"id": "mail-tls", "name": "Mail TLS", "type": "email",
                     "config": {"smtp_url": f"smtp://127.0.0.1:{port}", "from": "argus@example.com",
                                "to": ["ops@example.com"], "username": "argus", "password": "mail-secret",
                                "timeout_seconds": 5}})
        # The system's CAs do not know this server: refused, with the way out in the error.
        _, _, result = self.server.json("POST", "/api/v1/notifications/channels/mail-tls/test")
        self.assertFalse(result["delivered"], result)
        self.assertIn("config.ca_pem", result["error"])
        self.assertEqual(received, [])
        status, _, doc = self.server.json("PATCH", "/api/v1/notifications/channels/mail-tls", {"config": {"ca_pem": pem}})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["config"]["ca_pem"], pem)
        self.assertTrue(doc["config"]["password_set"])
        _, _, result = self.server.json("POST", "/api/v1/notifications/channels/mail-tls/test")
        self.assertEqual(result, {"delivered": True})
        self.assertEqual(len(received), 1)
        self.assertTrue(received[0][1], "delivered without AUTH")
        self.assertEqual(logins[-1][1:], (b"argus", b"mail-secret"))
        # A wrong password is refused by the server: a clear, permanent failure.
        self.assertEqual(self.server.json("PATCH", "/api/v1/notifications/channels/mail-tls",
                                          {"config": {"password": "wrong"}})[0], 200)
        _, _, result = self.server.json("POST", "/api/v1/notifications/channels/mail-tls/test")
        self.assertFalse(result["delivered"], result)
        self.assertIn("535", result["error"])
        self.assertEqual(len(received), 1)

        # The same for a webhook on an HTTPS receiver with that certificate.
        https = Receiver(tls_context=tls)
        self.addCleanup(https.close)
        self.create({"id": "hook-tls", "name": "hook-tls", "type": "webhook",
                     "config": {"url": https.url(), "secret": "k", "timeout_seconds": 3}})
        _, _, result = self.server.json("POST", "/api/v1/notifications/channels/hook-tls/test")
        self.assertFalse(result["delivered"], result)
        self.assertIn("config.ca_pem", result["error"])
        self.server.json("PATCH", "/api/v1/notifications/channels/hook-tls", {"config": {"ca_pem": pem}})
        _, _, result = self.server.json("POST", "/api/v1/notifications/channels/hook-tls/test")
        self.assertEqual(result, {"delivered": True})
        self.assertEqual(https.count(), 1)
        # Not PEM: a field error.
        status, _, doc = self.server.json("PATCH", "/api/v1/notifications/channels/hook-tls",
                                          {"config": {"ca_pem": "not a certificate"}})
        self.assertEqual(status, 422, doc)
        self.assertEqual([e["pointer"] for e in doc["errors"]], ["/config/ca_pem"])

    def test_mqtt_reaches_a_broker(self):
        broker = Broker().start()
        self.addCleanup(broker.cleanup)
        port = broker.port
        self.create({"id": "mq", "name": "MQ", "type": "mqtt",
                     "config": {"url": f"mqtt://127.0.0.1:{port}", "topic": "argus/e2e/alerts", "qos": 1,
                                "retain": True, "timeout_seconds": 5}})
        status, _, result = self.server.json("POST", "/api/v1/notifications/channels/mq/test")
        self.assertEqual(result, {"delivered": True})
        # Retained: a subscriber arriving afterwards receives exactly what was published.
        out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "argus/e2e/alerts",
                              "-C", "1", "-W", "10"], capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        self.assertEqual(doc["kind"], "test")
        self.assertEqual(doc["channel"], "mq")

        # A broker that is gone: the test-send says so.
        broker.stop()
        status, _, result = self.server.json("POST", "/api/v1/notifications/channels/mq/test")
        self.assertFalse(result["delivered"])


class RestartTest(unittest.TestCase):
    """Notifications still queued when the server stops are kept and delivered after the
    next start."""

    def test_queued_notifications_survive_a_restart(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        receiver.status = 503
        # One failure opens the circuit for an hour: the retry stays queued.
        config = CONFIG.replace("breaker_threshold: 100", "breaker_threshold: 1\n  breaker_cooldown: 1h")
        config = config.replace("max_attempts: 2", "max_attempts: 10")
        server = Server(config=config).start()
        self.addCleanup(server.cleanup)
        status, _, doc = server.json("POST", "/api/v1/notifications/channels",
                                     {"id": "later", "name": "later", "type": "webhook",
                                      "config": {"url": receiver.url(), "secret": "k3"}})
        self.assertEqual(status, 201, doc)
        status, _, result = server.json("POST", "/api/v1/notifications/channels/later/test")
        self.assertFalse(result["delivered"])
        self.assertEqual(receiver.count(), 1)
        _, _, metrics = server.request("GET", "/metrics")
        self.assertIn('argus_notification_circuit_open{channel="later"} 1', metrics.decode())
        self.assertEqual(server.stop(), 0)

        receiver.status = 200
        server.start()
        wait_for(lambda: receiver.count() >= 2, timeout=20)
        _, first, _ = receiver.get(0)
        _, again, body = receiver.get(1)
        self.assertEqual(again["x-argus-delivery"], first["x-argus-delivery"])
        self.assertEqual(json.loads(body)["kind"], "test")
        status, _, doc = server.json("GET", "/api/v1/dlq?channel=later")
        self.assertEqual(doc["items"], [])
        server.stop()


if __name__ == "__main__":
    unittest.main()
