#!/usr/bin/python3
"""A fake DeepStack / CodeProject.AI detection server for remote_detector_test.cpp.

Usage: fake_deepstack.py  (binds 127.0.0.1 on a free port and prints "PORT <n>" on stdout)

The mode is the URL path; every POST is counted per full path (with query), and
GET /_stats returns the counts as a JSON object. The server exits when its stdin closes
(the test process went away) or after 120 s, so it never outlives a crashed test.

Every detection mode first checks the multipart request: a form field `image` whose bytes
are a JPEG (FF D8 ... FF D9, with a SOF marker giving the size) and a numeric
`min_confidence`; otherwise it answers 400 {"success": false, "error": ...}.

  /ok              predictions in pixels of the posted image: "person" at 10%..50% of the
                   image, "car" at 50%..100%, and "frame" covering the whole image as read
                   from the JPEG's SOF marker (so the client's image size must match)
  /messy           a valid answer mixing good, clampable and unusable predictions
  /empty           success with no predictions
  /garbage         200 with an HTML body
  /missing-field   a prediction without x_min
  /success-false   200 {"success": false, "error": "..."}
  /500             500 {"success": false, "error": "model crashed"}
  /fail-then-ok?fails=N   500 for the first N requests to this path, then as /ok
  /hang            sleeps 30 s before answering
  /redirect        302 to /ok
  /big             2 MiB of JSON whitespace before the answer
  anything else    404
"""

import email.parser
import email.policy
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
counts_lock = threading.Lock()


def jpeg_size(data):
    """(width, height) from the first SOF marker, or None if not a JPEG."""
    if len(data) < 4 or data[:2] != b"\xff\xd8" or data[-2:] != b"\xff\xd9":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2) and i + 9 <= len(data):
            h = int.from_bytes(data[i + 5:i + 7], "big")
            w = int.from_bytes(data[i + 7:i + 9], "big")
            return w, h
        i += 2 + length
    return None


def parse_form(content_type, body):
    """Form fields of a multipart/form-data body: name -> bytes."""
    if not content_type.startswith("multipart/form-data"):
        return None
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        return None
    fields = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = part.get_payload(decode=True)
    return fields


def prediction(label, confidence, x1, y1, x2, y2):
    return {"label": label, "confidence": confidence,
            "x_min": x1, "y_min": y1, "x_max": x2, "y_max": y2}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_stats":
            with counts_lock:
                self.send(200, dict(counts))
        else:
            self.send(404, {"success": False, "error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with counts_lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            count = counts[self.path]
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        mode = url.path

        if mode == "/hang":
            time.sleep(30)
            self.send(200, {"success": True, "predictions": []})
            return
        if mode == "/500":
            self.send(500, {"success": False, "error": "model crashed"})
            return
        if mode == "/fail-then-ok" and count <= int(query.get("fails", ["1"])[0]):
            self.send(500, {"success": False, "error": "warming up"})
            return
        if mode == "/redirect":
            self.send(302, b"", "text/plain", {"Location": "/ok"})
            return

        fields = parse_form(self.headers.get("Content-Type", ""), body)
        if fields is None or "image" not in fields:
            self.send(400, {"success": False, "error": "No valid image file was found"})
            return
        size = jpeg_size(fields["image"])
        if size is None:
            self.send(400, {"success": False, "error": "image is not a JPEG"})
            return
        try:
            min_confidence = float(fields.get("min_confidence", b"").decode())
        except ValueError:
            self.send(400, {"success": False, "error": "min_confidence missing or not a number"})
            return
        w, h = size

        if mode in ("/ok", "/fail-then-ok"):
            preds = [prediction("person", 0.9, w * 0.1, h * 0.1, w * 0.5, h * 0.5),
                     prediction("car", 0.75, w * 0.5, h * 0.5, w, h),
                     prediction("frame", 0.6, 0, 0, w, h)]
            preds = [p for p in preds if p["confidence"] >= min_confidence]
            self.send(200, {"success": True, "predictions": preds, "count": len(preds)})
        elif mode == "/messy":
            preds = [prediction("person", 0.9, 0, 0, w // 2, h // 2),          # kept
                     prediction("person", 0.8, -1, -1, w + 1, h + 1),         # clamped
                     prediction("person", 0.8, -w // 2, 0, w // 4, h // 4),   # far left: dropped
                     prediction("person", 0.8, 0, 0, w * 2, h),               # far right: dropped
                     prediction("person", 0.8, w // 2, 0, w // 4, h // 4),    # inverted: dropped
                     prediction("person", 0.8, 10, 10, 10, 20),               # empty: dropped
                     prediction("person", 1.5, 0, 0, w // 2, h // 2),         # confidence > 1
                     prediction("person", 0.01, 0, 0, w // 2, h // 2),        # below min_score
                     prediction("", 0.8, 0, 0, w // 2, h // 2)]               # no label
            self.send(200, {"success": True, "predictions": preds})
        elif mode == "/empty":
            self.send(200, {"success": True, "predictions": []})
        elif mode == "/garbage":
            self.send(200, b"<html><body>Bad gateway?</body></html>", "text/html")
        elif mode == "/missing-field":
            self.send(200, {"success": True, "predictions": [
                {"label": "person", "confidence": 0.9, "y_min": 1, "x_max": 2, "y_max": 3}]})
        elif mode == "/success-false":
            self.send(200, {"success": False, "error": "Unable to load the model"})
        elif mode == "/big":
            self.send(200, b" " * (2 << 20) + b'{"success": true, "predictions": []}')
        else:
            self.send(404, {"success": False, "error": "no such endpoint"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that give up (timeouts, oversized answers) reset the connection; that is
        # the behaviour under test, not a server problem.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print("PORT", server.server_address[1], flush=True)

    def watchdog():
        sys.stdin.buffer.read()  # returns when the test process closes the pipe or exits
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    threading.Timer(120, lambda: os._exit(0)).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
