"""HTTP server behaviour over raw sockets: routing errors, limits, timeouts, keep-alive,
request ids, health endpoints."""

import json
import socket
import threading
import time
import unittest

from harness import Server, ServerTest


def parse_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class Routing(ServerTest):
    def test_unknown_path_404_problem(self):
        status, hdrs, doc = self.server.json("GET", "/api/v1/nothing-here")
        self.assertEqual(status, 404)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        self.assertEqual(doc["instance"], "/api/v1/nothing-here")

    def test_wrong_method_405_with_allow(self):
        status, hdrs, doc = self.server.json("PUT", "/api/v1/cameras", {})
        self.assertEqual(status, 405)
        self.assertEqual(set(hdrs["allow"].split(", ")), {"GET", "HEAD", "POST"})
        self.assertEqual(doc["status"], 405)
        status, hdrs, _ = self.server.json("POST", "/api/v1/cameras/x")
        self.assertEqual(status, 405)
        self.assertEqual(set(hdrs["allow"].split(", ")), {"GET", "HEAD", "PATCH", "DELETE"})

    def test_head_has_no_body(self):
        raw = self.server.raw(b"HEAD /api/v1/cameras HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                              self.server.token.encode() + b"\r\nConnection: close\r\n\r\n")
        status, hdrs, body = parse_response(raw)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(hdrs["content-length"]), 0)

    def test_unknown_method_501(self):
        raw = self.server.raw(b"BREW /api/v1/cameras HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, hdrs, _ = parse_response(raw)
        self.assertIn(status, (400, 501))

    def test_percent_encoded_id(self):
        status, _, doc = self.server.json("GET", "/api/v1/cameras/a%2Fb")
        self.assertEqual(status, 404)
        status, _, doc = self.server.json("GET", "/api/v1/cameras/%zz")
        self.assertEqual(status, 404)


class Limits(ServerTest):
    server_args = ("--set", "server.max_body_bytes=4k", "--set", "server.header_timeout=1s",
                   "--set", "server.body_timeout=1s", "--set", "server.max_connections=20")

    def test_body_too_large_413(self):
        body = b'{"id":"big","name":"' + b"x" * 5000 + b'"}'
        req = (b"POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        status, hdrs, payload = parse_response(self.server.raw(req))
        self.assertEqual(status, 413)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        self.assertEqual(json.loads(payload)["status"], 413)

    def test_chunked_body_too_large_413(self):
        chunk = b"x" * 3000
        req = (b"POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            req += hex(len(chunk))[2:].encode() + b"\r\n" + chunk + b"\r\n"
        req += b"0\r\n\r\n"
        status, _, _ = parse_response(self.server.raw(req))
        self.assertEqual(status, 413)

    def test_header_block_too_large_431(self):
        req = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
        status, hdrs, _ = parse_response(self.server.raw(req))
        self.assertEqual(status, 431)
        self.assertEqual(hdrs["content-type"], "application/problem+json")

    def test_malformed_request_400(self):
        for junk in [b"this is not http\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n"]:
            raw = self.server.raw(junk)
            status, hdrs, _ = parse_response(raw)
            self.assertEqual(status, 400, junk)

    def test_slow_client_dropped_others_served(self):
        s = self.server
        slow = socket.create_connection(("127.0.0.1", s.port))
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes its header
        started = time.time()
        # Meanwhile others are served promptly.
        for _ in range(5):
            self.assertEqual(s.request("GET", "/health")[0], 200)
        self.assertLess(time.time() - started, 1.0)
        slow.settimeout(5)
        data = slow.recv(1024)  # the server closes it after the header timeout (1s)
        self.assertEqual(data, b"")
        self.assertLess(time.time() - started, 4.0)
        slow.close()

    def test_slow_body_dropped(self):
        s = self.server
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(b"POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        c.settimeout(5)
        started = time.time()
        self.assertEqual(c.recv(1024), b"")
        self.assertLess(time.time() - started, 4.0)
        c.close()

    def test_max_connections_503(self):
        s = self.server
        held = []
        for _ in range(20):
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            c.recv(4096)
            held.append(c)
        try:
            raw = s.raw(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            status, hdrs, _ = parse_response(raw)
            self.assertEqual(status, 503)
            self.assertIn("retry-after", hdrs)
        finally:
            for c in held:
                c.close()
        deadline = time.time() + 5
        while time.time() < deadline:
            if s.request("GET", "/health")[0] == 200:
                break
            time.sleep(0.05)
        self.assertEqual(s.request("GET", "/health")[0], 200)


class KeepAliveAndIds(ServerTest):
    def test_keep_alive_and_pipelining(self):
        reqs = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 3
        reqs += (b"GET /api/v1/cameras HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.server.token.encode() +
                 b"\r\nConnection: close\r\n\r\n")
        raw = self.server.raw(reqs)
        self.assertEqual(raw.count(b"HTTP/1.1 200 OK"), 4)

    def test_request_id_echoed_and_logged(self):
        s = self.server
        status, hdrs, _ = s.request("GET", "/api/v1/cameras/none", headers={"X-Request-Id": "trace-abc-123"})
        self.assertEqual(status, 404)
        self.assertEqual(hdrs["x-request-id"], "trace-abc-123")
        status, hdrs, _ = s.request("GET", "/health")
        self.assertRegex(hdrs["x-request-id"], r"^[0-9a-f]{16}$")
        # A hostile id is replaced, not echoed.
        status, hdrs, _ = s.request("GET", "/health", headers={"X-Request-Id": "bad id <script>"})
        self.assertNotIn("script", hdrs["x-request-id"])


class AccessLog(ServerTest):
    server_args = ("--set", "server.access_log=true")

    def test_log_lines_are_json_with_request_id(self):
        s = self.server
        s.request("GET", "/api/v1/cameras", headers={"X-Request-Id": "log-check-1"})
        deadline = time.time() + 5
        while time.time() < deadline and not any("log-check-1" in l for l in s.lines):
            time.sleep(0.05)
        lines = [json.loads(l) for l in s.lines if "log-check-1" in l]
        self.assertTrue(lines, s.lines)
        line = lines[0]
        for key in ("time", "level", "message", "request_id"):
            self.assertIn(key, line)
        self.assertEqual(line["request_id"], "log-check-1")
        self.assertEqual(line["route"], "/api/v1/cameras")
        # Every line the server wrote is one JSON object.
        for l in s.lines:
            json.loads(l)


class Health(ServerTest):
    def test_health_ready_info_metrics(self):
        s = self.server
        status, hdrs, doc = s.json("GET", "/health")
        self.assertEqual(status, 200)
        self.assertEqual(doc["status"], "pass")
        status, hdrs, doc = s.json("GET", "/ready")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "application/health+json")
        self.assertEqual(doc["status"], "pass")
        self.assertEqual(doc["checks"]["store"][0]["status"], "pass")
        status, _, doc = s.json("GET", "/api/v1/system/info")
        self.assertEqual(status, 200)
        self.assertEqual(doc["storage"]["kind"], "sqlite")
        self.assertGreaterEqual(doc["uptime_seconds"], 0)
        self.assertIn("version", doc)
        self.assertIn("git_revision", doc)
        status, hdrs, body = s.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"argus_http_requests_total", body)


if __name__ == "__main__":
    unittest.main()
