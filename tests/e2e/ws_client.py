"""Minimal RFC 6455 client and SSE reader over raw sockets, for the stream tests.

Written for the tests so they can also send what a well-behaved client library never
would (unmasked frames, bad UTF-8, oversized messages).
"""
import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def open_stream(port, request_lines, timeout):
    """Sends a GET head and reads the response head: (socket, status, headers, bytes after the head)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(("\r\n".join(request_lines) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return sock, int(lines[0].split()[1]), headers, rest


class WsClosed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason}")
        self.code = code
        self.reason = reason


class WebSocket:
    def __init__(self, port, path="/api/v1/stream", token=None, headers=None, timeout=10):
        key = base64.b64encode(os.urandom(16)).decode()
        fields = {"Host": f"127.0.0.1:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
                  "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
        if token:
            fields["Authorization"] = f"Bearer {token}"
        fields.update(headers or {})
        lines = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in fields.items()]
        self.sock, self.status, self.headers, self.buf = open_stream(port, lines, timeout)
        if self.status == 101:
            expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            if self.headers.get("sec-websocket-accept") != expected:
                raise AssertionError("wrong Sec-WebSocket-Accept")
        else:
            length = int(self.headers.get("content-length", "0"))
            while len(self.buf) < length:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                self.buf += chunk
            self.body = self.buf[:length]

    # --- sending ---
    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            header = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            header = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            header += key
        self.sock.sendall(header + payload)

    def send_json(self, obj):
        self.send_frame(1, json.dumps(obj).encode())

    # --- receiving ---
    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk

    def recv_frame(self):
        """(opcode, payload) of the next frame; the server never masks."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise AssertionError("server frame is masked")
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._need(4)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._need(10)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        self._need(off + n)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0F, payload

    def recv(self, timeout=10, answer_pings=True):
        """The next text message as JSON; raises WsClosed on a close frame."""
        self.sock.settimeout(timeout)
        while True:
            op, payload = self.recv_frame()
            if op == 1:
                return json.loads(payload)
            if op == 9 and answer_pings:
                self.send_frame(10, payload)
            elif op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise WsClosed(code, payload[2:].decode("utf-8", "replace"))

    def expect_close(self, timeout=10):
        try:
            while True:
                self.recv(timeout)
        except WsClosed as e:
            return e.code

    def recv_until(self, predicate, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self.recv(max(0.1, deadline - time.time()))
            if predicate(msg):
                return msg
        raise AssertionError("no matching message")

    def subscribe(self, **kwargs):
        self.send_json({"op": "subscribe", **kwargs})
        return self.recv_until(lambda m: m.get("op") in ("subscribed", "error"))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class EventStream:
    """A text/event-stream reader: yields (id, data) for each event, skipping comments."""

    def __init__(self, port, path, token=None, headers=None, timeout=10):
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.sock, self.status, self.headers, self.buf = open_stream(port, lines, timeout)
        self.comments = 0
        self.retry = None

    def next_event(self, timeout=10):
        """(id or None, parsed data) of the next event; None when the server closed."""
        self.sock.settimeout(timeout)
        while True:
            while b"\n\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                self.buf += chunk
            block, self.buf = self.buf.split(b"\n\n", 1)
            event_id, data = None, []
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    self.comments += 1
                elif line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line.startswith("retry: "):
                    self.retry = int(line[7:])
            if data:
                return event_id, json.loads("\n".join(data))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
